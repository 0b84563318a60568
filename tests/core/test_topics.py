"""The event catalogue: every topic the code records or consumes is declared in an
``events.py``, a consumer of an unknown topic fails at import, payloads match their
declaration, and docs/events.md is the catalogue as generated now."""

from __future__ import annotations

import ast
import importlib
import sys
import uuid
from pathlib import Path
from typing import TypedDict

import pytest

from rapport import domains
from rapport.core import jobs, topics
from rapport.core.context import Context
from rapport.core.events import record
from rapport.core.topics import CATALOGUE, Topic, UnknownTopic

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "rapport"
PUBLISHERS = {"record", "record_many"}


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if called == name:
                    found.append((path, node))
    return found


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def test_every_publisher_names_a_declared_topic_object_not_a_string() -> None:
    """``record(ctx, "x.y", ...)`` would escape the catalogue (and grep for the constant)."""
    strings = [
        _where(path, call)
        for name in PUBLISHERS
        for path, call in _calls(name)
        if len(call.args) > 1 and isinstance(call.args[1], ast.Constant | ast.JoinedStr)
    ]
    assert strings == []
    assert len(_calls("record")) > 50  # the scan does see the publishers


def test_every_consumer_names_a_declared_topic() -> None:
    jobs.load_job_modules()
    literal = [
        _where(path, arg)
        for path, call in _calls("on_event")
        for arg in call.args
        if isinstance(arg, ast.Constant | ast.JoinedStr)
    ]
    assert literal == []
    for consumer in jobs.CONSUMERS.values():
        assert set(consumer.topics) <= set(CATALOGUE), consumer.name


def test_a_consumer_of_an_unknown_topic_fails_when_its_module_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "typo_jobs.py"
    module.write_text(
        "from rapport.core import jobs\n\n"
        '@jobs.on_event("person.craeted", name="typo.consumer")\n'
        "def consumer(ctx, event):\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UnknownTopic, match=r"person\.craeted"):
        importlib.import_module("typo_jobs")
    sys.modules.pop("typo_jobs", None)
    assert "typo.consumer" not in jobs.CONSUMERS


def test_a_declared_name_resolves_to_its_topic() -> None:
    @jobs.on_event("person.created", name="topics_test.by_name")
    def by_name(ctx: Context, event: jobs.Event) -> None:
        pass

    try:
        assert jobs.CONSUMERS["topics_test.by_name"].topics == ("person.created",)
    finally:
        del jobs.CONSUMERS["topics_test.by_name"]


def test_recording_an_unknown_name_fails(ada_ctx: Context) -> None:
    with pytest.raises(UnknownTopic):
        record(ada_ctx, "person.craeted", uuid.uuid4())  # type: ignore[arg-type]


class _Probe(TypedDict):
    size: int


PROBE = Topic("topics_test.probe", _Probe, "A test's topic, to check payload checks.")


def test_a_payload_that_does_not_match_its_declaration_is_refused(ada_ctx: Context) -> None:
    topics.set_checking(True)
    try:
        record(ada_ctx, PROBE, None, payload={"size": 3})
        with pytest.raises(TypeError, match="missing \\['size'\\]"):
            record(ada_ctx, PROBE, None, payload={})
        with pytest.raises(TypeError, match="unknown \\['colour'\\]"):
            record(ada_ctx, PROBE, None, payload={"size": 3, "colour": "red"})
        topics.set_checking(False)
        record(ada_ctx, PROBE, None, payload={})  # production pays nothing for checks
    finally:
        topics.set_checking(None)


def test_a_topic_is_declared_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        Topic("person.created", _Probe, "Again.")


def test_each_domain_registers_the_topics_its_events_module_declares() -> None:
    topics.load_event_modules()
    registered = {t.name for d in domains.install() for t in d.events}
    registered |= {t.name for t in topics.CORE_EVENTS}
    declared = {name for name, t in CATALOGUE.items() if t.module.startswith("rapport.")}
    assert registered == declared
    for domain in domains.install():
        assert {t.module for t in domain.events} <= {f"rapport.{domain.name}.events"}


def test_the_audit_trail_files_an_event_under_the_first_part_of_its_name() -> None:
    topics.load_event_modules()
    for name, topic in CATALOGUE.items():
        assert topic.record_type == name.split(".", 1)[0]


def test_docs_events_md_is_the_generated_catalogue() -> None:
    """Regenerate with ``rapport events > docs/events.md``."""
    committed = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == topics.catalogue_markdown()


def test_every_events_module_is_imported_before_any_jobs_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A consumer in ``aaa/jobs.py`` of a topic ``zzz/events.py`` declares registers, though
    ``aaa`` comes first: the catalogue is complete before any handler is checked."""
    app = tmp_path / "orderapp"
    for domain in ("aaa", "zzz"):
        (app / domain).mkdir(parents=True)
        (app / domain / "__init__.py").write_text("")
    (app / "__init__.py").write_text("")
    (app / "zzz" / "events.py").write_text(
        "from rapport.core.topics import NoPayload, Topic\n"
        "THING_HAPPENED = Topic('orderapp_thing.happened', NoPayload, 'A thing happened.')\n"
    )
    (app / "aaa" / "jobs.py").write_text(
        "from rapport.core import jobs\n"
        "@jobs.on_event('orderapp_thing.happened', name='orderapp.aaa.on_thing')\n"
        "def on_thing(ctx, event) -> None: ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert jobs.load_job_modules("orderapp") == ["orderapp.aaa.jobs"]
        assert jobs.CONSUMERS["orderapp.aaa.on_thing"].topics == ("orderapp_thing.happened",)
    finally:
        jobs.CONSUMERS.pop("orderapp.aaa.on_thing", None)
        CATALOGUE.pop("orderapp_thing.happened", None)
