"""One log stream: a real ``rapport serve`` writes only JSON lines, a 500's traceback appears
once (in the ``exception`` field of its request line), and Alembic keeps quiet."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from rapport.core.config import Settings, get_settings
from rapport.core.logging import logs_as_json
from tests.live import Server, start_server


@pytest.fixture(scope="module")
def crashed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server at INFO whose ``tags`` table went missing under it (a real defect: every tag
    query fails), after one request that hit it; yields the server and that request's id."""
    server = start_server(
        tmp_path_factory.mktemp("logs"), with_owner=True, settings={"RAPPORT_LOG_LEVEL": "INFO"}
    )
    try:
        request_id = "crash-" + uuid.uuid4().hex  # the middleware takes the caller's id
        headers = {"Authorization": f"Bearer {server.token()}", "X-Request-ID": request_id}
        for _ in range(3):  # each /readyz checks the schema, which Alembic used to narrate
            assert httpx.get(server.url + "/readyz").status_code == 200
        engine = create_engine(server.env["RAPPORT_DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE tags RENAME TO tags_gone"))
        engine.dispose()
        crashed = httpx.get(server.url + "/api/v1/tags", headers=headers)
        assert crashed.status_code == 500
        assert crashed.headers["content-type"] == "application/problem+json"
        assert crashed.json()["detail"] == "An unexpected error occurred; it has been logged."
    finally:
        server.stop()  # the log is complete once the process is gone
    yield server, request_id
    server.drop_database()


def log_lines(server: Server) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if line.strip()]


def records(server: Server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_lines(server)]


def test_every_line_is_one_json_object(crashed_server: tuple[Server, str]) -> None:
    server, _ = crashed_server
    lines = log_lines(server)

    assert len(lines) > 5
    for line in lines:
        parsed = json.loads(line)  # raises on a plain-text line
        assert isinstance(parsed, dict)
        assert {"event", "level", "timestamp"} <= parsed.keys(), line


def test_uvicorn_and_our_own_lines_share_the_stream(crashed_server: tuple[Server, str]) -> None:
    server, _ = crashed_server
    loggers = {record.get("logger") for record in records(server)}

    assert {"uvicorn.error", "rapport.http", "rapport.serve"} <= loggers
    assert "uvicorn.access" not in loggers  # our request line says it already


def test_the_traceback_appears_once_in_the_error_line(crashed_server: tuple[Server, str]) -> None:
    server, request_id = crashed_server
    with_traceback = [r for r in records(server) if "exception" in r]

    # (one exception field may hold a chain: SQLAlchemy's error and the driver's under it)
    assert [line for line in log_lines(server) if "Traceback (most recent" in line] == [
        line for line in log_lines(server) if '"exception"' in line
    ]
    assert len(with_traceback) == 1
    error = with_traceback[0]
    assert error["level"] == "error"
    assert error["request_id"] == request_id
    assert "tags" in error["exception"]  # the driver's "no such table" / "does not exist"
    answered = [r for r in records(server) if r.get("request_id") == request_id
                and r.get("event") == "request"]  # fmt: skip
    assert [(r["path"], r["status"]) for r in answered] == [("/api/v1/tags", 500)]


def test_alembic_says_nothing_at_info(crashed_server: tuple[Server, str]) -> None:
    server, _ = crashed_server
    text_ = server.log.read_text()

    assert not [r for r in records(server) if str(r.get("logger", "")).startswith("alembic")]
    assert "Context impl" not in text_
    assert "Will assume" not in text_


class TestFormatChoice:
    """RAPPORT_LOG_JSON: auto follows whether stderr is a terminal; true and false force it."""

    @pytest.mark.parametrize(
        ("setting", "terminal", "as_json"),
        [("auto", False, True), ("auto", True, False), (True, True, True), (False, False, False)],
    )
    def test_json_or_console(
        self, monkeypatch: pytest.MonkeyPatch, setting: object, terminal: bool, as_json: bool
    ) -> None:
        monkeypatch.setattr(get_settings(), "log_json", setting)
        monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)

        assert logs_as_json() is as_json

    def test_the_setting_reads_auto_true_and_false(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for raw, parsed in (("auto", "auto"), ("true", True), ("false", False), ("1", True)):
            monkeypatch.setenv("RAPPORT_LOG_JSON", raw)
            assert Settings().log_json == parsed
