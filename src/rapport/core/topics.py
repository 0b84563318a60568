"""The event catalogue: every outbox topic, its record type and the shape of its payload.

A domain declares its topics in ``<domain>/events.py``::

    class PersonMerged(TypedDict):
        merged_id: uuid.UUID
        merge_id: uuid.UUID

    PERSON_MERGED = Topic("person.merged", PersonMerged, "Two people became one.")
    EVENTS = collect(globals())          # and ``events=EVENTS`` in its ``domain.py``

and publishes with ``record(ctx, PERSON_MERGED, ...)`` (:mod:`rapport.core.events`), so mypy
checks the payload and a grep for the constant finds every publisher and every consumer
(``@jobs.on_event(PERSON_MERGED)``). Declaring a topic puts it in the catalogue; a consumer
of a name the catalogue does not hold fails when its module is imported, not silently never
runs. Every event also carries ``changes`` (``{field: {"old", "new"}}``) besides its payload.
``rapport events`` prints the catalogue as Markdown (``docs/events.md``, kept current by a test).

Payloads are checked against their declaration (unknown or missing keys) when
``RAPPORT_CHECK_EVENTS=1`` (the test suite sets it); production pays nothing for it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
import threading
import typing
from collections.abc import Mapping
from typing import Any, Generic, TypedDict, TypeVar, cast

P = TypeVar("P", bound=Mapping[str, Any])


class UnknownTopic(LookupError):
    """A topic name that no ``events.py`` declares: a typo, or a topic nobody publishes."""


class NoPayload(TypedDict):
    """An event whose only content is its record id and its ``changes``."""


class Topic(Generic[P]):
    """One kind of outbox event; constructing it adds it to the catalogue."""

    __slots__ = ("_key_sets", "description", "module", "name", "payload", "record_type")

    def __init__(
        self, name: str, payload: type[P], description: str, *, record_type: str | None = None
    ) -> None:
        self.name = name
        self.payload = payload
        self.description = description
        # What the audit trail files it under: the name's first part unless said otherwise.
        self.record_type = record_type or name.split(".", 1)[0]
        self.module = str(sys._getframe(1).f_globals.get("__name__", ""))  # who declares it
        self._key_sets: tuple[frozenset[str], frozenset[str]] | None = None
        _declare(self)

    def __repr__(self) -> str:
        return f"Topic({self.name!r})"

    @property
    def required_keys(self) -> frozenset[str]:
        return self._keys()[0]

    @property
    def optional_keys(self) -> frozenset[str]:
        return self._keys()[1]

    def _keys(self) -> tuple[frozenset[str], frozenset[str]]:
        """The payload's (required, optional) keys. Read from the annotations, not from
        ``__required_keys__``: under ``from __future__ import annotations`` Python 3.11 does
        not see ``NotRequired`` there."""
        if self._key_sets is None:
            hints = typing.get_type_hints(self.payload, include_extras=True)
            total = getattr(self.payload, "__total__", True)
            optional = {
                key
                for key, hint in hints.items()
                if typing.get_origin(hint) is typing.NotRequired
                or (not total and typing.get_origin(hint) is not typing.Required)
            }
            self._key_sets = (frozenset(hints) - optional, frozenset(optional))
        return self._key_sets

    def check(self, payload: Mapping[str, Any] | None) -> None:
        """Refuse a payload whose keys do not match the declaration (see ``checking()``)."""
        keys = set(payload or ())
        missing = self.required_keys - keys
        unknown = keys - self.required_keys - self.optional_keys
        if missing or unknown:
            raise TypeError(
                f"payload of {self.name!r} does not match its declaration "
                f"{self.payload.__name__}: missing {sorted(missing)}, unknown {sorted(unknown)}"
            )

    def read(self, payload: Mapping[str, Any]) -> P:
        """A consumer's typed view of an event's payload (as stored: ids are strings)."""
        return cast(P, payload)


CATALOGUE: dict[str, Topic[Any]] = {}
_lock = threading.RLock()


def _declare(topic: Topic[Any]) -> None:
    with _lock:
        known = CATALOGUE.get(topic.name)
        if known is not None and known.payload is not topic.payload:
            raise ValueError(f"topic {topic.name!r} is declared twice")
        CATALOGUE[topic.name] = topic


def collect(namespace: Mapping[str, Any]) -> tuple[Topic[Any], ...]:
    """The topics a module declares, in declaration order (``EVENTS = collect(globals())``);
    topics it imports from other modules are theirs, not its."""
    module = namespace.get("__name__")
    return tuple(v for v in namespace.values() if isinstance(v, Topic) and v.module == module)


_loaded_packages: set[str] = set()


def _import_each(package: str, leaf: str) -> list[str]:
    """Import ``<package>.<sub>.<leaf>`` for every subpackage that has one."""
    root = importlib.import_module(package)
    found = []
    for info in pkgutil.iter_modules(root.__path__):
        name = f"{package}.{info.name}.{leaf}"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            found.append(name)
    return found


def load_event_modules(package: str = "rapport") -> list[str]:
    """Import every ``<package>.<domain>.events`` module, so the catalogue is complete before a
    consumer is checked against it (idempotent; :func:`rapport.core.jobs.load_job_modules`
    calls it first)."""
    with _lock:
        found = _import_each(package, "events")
        _loaded_packages.add(package)
        return found


def topic_named(name: str) -> Topic[Any]:
    """The declared topic called ``name``; :class:`UnknownTopic` if no domain declares it."""
    topic = CATALOGUE.get(name)
    if topic is None and "rapport" not in _loaded_packages:
        load_event_modules()
        topic = CATALOGUE.get(name)
    if topic is None:
        raise UnknownTopic(
            f"no domain declares the event topic {name!r}: declare it in <domain>/events.py "
            f"(known: {', '.join(sorted(CATALOGUE)) or 'none'})"
        )
    return topic


def resolve(topic: Topic[Any] | str) -> Topic[Any]:
    """A ``Topic`` as is; a name looked up in the catalogue."""
    return topic if isinstance(topic, Topic) else topic_named(topic)


_checking: bool | None = None


def checking() -> bool:
    """Whether payloads are checked against their declaration (``RAPPORT_CHECK_EVENTS=1``)."""
    global _checking
    if _checking is None:
        _checking = os.environ.get("RAPPORT_CHECK_EVENTS", "") in ("1", "true", "yes")
    return _checking


def set_checking(on: bool | None) -> None:
    """Turn payload checks on or off (``None``: read the environment again)."""
    global _checking
    _checking = on


# --- the generated list ---------------------------------------------------------------------


def _payload_text(topic: Topic[Any]) -> str:
    hints = typing.get_type_hints(topic.payload)
    if not hints:
        return "—"
    parts = []
    for key, hint in hints.items():
        optional = "" if key in topic.required_keys else "?"
        parts.append(f"`{key}{optional}`: {_describe(hint)}")
    return ", ".join(parts)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return " \\| ".join(_describe(a) for a in args)
    if origin in (typing.NotRequired, typing.Required):
        return _describe(args[0])
    if origin is not None:
        inner = ", ".join(_describe(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if hint is type(None):
        return "None"
    return str(getattr(hint, "__name__", hint))


# Who consumes each topic: filled by ``@jobs.on_event`` (consumer name, its module).
SUBSCRIBERS: dict[str, list[tuple[str, str]]] = {}


def subscribe(topic_name: str, consumer: str, module: str) -> None:
    """Note that ``consumer`` (defined in ``module``) handles ``topic_name``; for the list."""
    with _lock:
        known = SUBSCRIBERS.setdefault(topic_name, [])
        if (consumer, module) not in known:
            known.append((consumer, module))


def _owner(topic: Topic[Any]) -> str:
    """``core`` or the domain whose ``events.py`` declares the topic."""
    parts = topic.module.split(".")
    return "core" if parts[1] == "core" else parts[1]


def catalogue_markdown(package: str = "rapport") -> str:
    """The catalogue as Markdown: one table per domain (core first), with the consumers of
    each topic. Only what ``package`` declares and consumes is listed (not the tests')."""
    with _lock:
        load_event_modules(package)
        _import_each(package, "jobs")  # their consumers subscribe as they are imported
        ours = [t for t in CATALOGUE.values() if t.module.startswith(f"{package}.")]
        owners = sorted({_owner(t) for t in ours}, key=lambda o: (o != "core", o))
        lines = [
            "# Event topics",
            "",
            "Generated by `rapport events` from `core/topics.py` and each domain's `events.py`;",
            "a test keeps this file current. An event is one outbox row (and one audit entry)",
            "written in the transaction of the change: its payload holds `changes`",
            "(`{field: {old, new}}`) and the keys listed here (`?`: may be absent; ids and",
            "instants arrive as strings). Consumers subscribe with `@jobs.on_event(TOPIC)` in",
            "`<domain>/jobs.py`; subscribing to a topic no domain declares fails at import.",
            "",
        ]
        for owner in owners:
            lines += [
                f"## {owner}",
                "",
                "| Topic | Record | Payload | Consumers | What happened |",
                "|---|---|---|---|---|",
            ]
            for topic in sorted((t for t in ours if _owner(t) == owner), key=lambda t: t.name):
                used_by = [
                    f"`{name}`"
                    for name, module in SUBSCRIBERS.get(topic.name, ())
                    if module.startswith(f"{package}.")
                ]
                lines.append(
                    f"| `{topic.name}` | {topic.record_type} | {_payload_text(topic)} "
                    f"| {', '.join(used_by) or '—'} | {topic.description} |"
                )
            lines.append("")
        return "\n".join(lines)


def print_catalogue() -> None:
    """Print the event catalogue as Markdown (what docs/events.md holds)."""
    sys.stdout.write(catalogue_markdown())


# --- core's own topics ----------------------------------------------------------------------

SAVED_VIEW_CREATED = Topic(
    "saved_view.created", NoPayload, "A member saved a list's filters and sort under a name."
)
SAVED_VIEW_UPDATED = Topic(
    "saved_view.updated", NoPayload, "A saved view's query or sharing changed."
)
SAVED_VIEW_DELETED = Topic("saved_view.deleted", NoPayload, "A saved view was deleted.")
CORE_EVENTS = (SAVED_VIEW_CREATED, SAVED_VIEW_UPDATED, SAVED_VIEW_DELETED)
