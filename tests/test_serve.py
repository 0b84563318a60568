"""``rapport serve`` never shows the database password (it said the whole URL on start)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from rapport.core.db import display_url

PASSWORD = "hunter2-Very-Secret"


def test_display_url_masks_the_password() -> None:
    shown = display_url(f"postgresql+psycopg://rapport:{PASSWORD}@db.internal:5432/crm")

    assert PASSWORD not in shown
    assert shown == "postgresql+psycopg://rapport:***@db.internal:5432/crm"


def test_display_url_leaves_a_url_without_password_as_it_is() -> None:
    assert display_url("sqlite:///./rapport.db") == "sqlite:///./rapport.db"
    assert display_url("postgresql://rapport@db/crm") == "postgresql://rapport@db/crm"


def test_display_url_shows_nothing_of_a_url_it_cannot_read() -> None:
    assert PASSWORD not in display_url(f"not a url {PASSWORD}")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when we return: nobody listens


def test_serve_logs_the_masked_url_and_fails_in_one_line_when_the_database_is_down(
    tmp_path: Path,
) -> None:
    url = f"postgresql+psycopg://rapport:{PASSWORD}@127.0.0.1:{_closed_port()}/rapport"
    env = {**os.environ, "RAPPORT_DATABASE_URL": url, "RAPPORT_LOG_LEVEL": "INFO"}
    cli = Path(sys.executable).parent / "rapport"

    done = subprocess.run(
        [str(cli), "serve", "--port", str(_closed_port())],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert PASSWORD not in done.stdout + done.stderr
    serving = [json.loads(line) for line in done.stderr.splitlines() if '"serving"' in line]
    assert len(serving) == 1
    assert serving[0]["database"].startswith("postgresql+psycopg://rapport:***@127.0.0.1:")
    failure = [line for line in done.stderr.splitlines() if "does not answer" in line]
    assert len(failure) == 1 and failure[0].startswith("error: the database does not answer")
    assert done.stdout == ""  # errors go to stderr (CLI conventions)
    assert "Traceback" not in done.stdout + done.stderr
