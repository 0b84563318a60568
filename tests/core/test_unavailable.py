"""A busy or unreachable database is a 503 with Retry-After, never a 500; an unexpected error
does not cost the client its keep-alive connection; readiness says "database unavailable"
without the driver's words; and the service recovers by itself when the database is back.

SQLite: another process holds the write lock past the busy timeout. PostgreSQL: the test's own
server (``initdb`` in a temporary folder, never the shared one) is stopped and started again.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from rapport.app import create_app
from rapport.core.db import Database
from tests.live import Server, start_server

PROBLEM = "application/problem+json"
ON_POSTGRES = os.environ.get("RAPPORT_TEST_DATABASE_URL", "").startswith("postgresql")


def _bearer(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token()}"}


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM
    assert int(response.headers["retry-after"]) >= 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnPostgres:
    """A PostgreSQL server of this test's own, run as the postgres user in a temporary folder
    (outside pytest's, which only root may enter)."""

    def __init__(self) -> None:
        self.folder, self.port = Path(tempfile.mkdtemp(prefix="rapport-pg-")), _free_port()
        shutil.chown(self.folder, "postgres")
        data = str(self.folder / "data")
        self._as_postgres("initdb", "-D", data, "-A", "trust", "-U", "postgres")
        self.start()

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       capture_output=True, timeout=120)  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres("pg_ctl", "-D", str(self.folder / "data"), "-o", options,
                          "-l", str(self.folder / "pg.log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")

    def remove(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", "pg_ctl", "-D",
                        str(self.folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite half; the PostgreSQL run does the other")
def test_sqlite_write_lock_held_elsewhere_is_503_then_recovers(tmp_path: Path) -> None:
    server = start_server(tmp_path, with_owner=True,
                          settings={"RAPPORT_SQLITE_BUSY_TIMEOUT_MS": "300"})  # fmt: skip
    try:
        headers, url = _bearer(server), server.url + "/api/v1/people"
        path = server.env["RAPPORT_DATABASE_URL"].removeprefix("sqlite:///")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # a long writer elsewhere: a job, the CLI, an import
        try:
            _assert_unavailable(httpx.post(url, json={"first_name": "Wait"}, headers=headers))
            assert httpx.get(url, headers=headers).status_code == 200  # readers go on (WAL)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert httpx.post(url, json={"first_name": "Done"}, headers=headers).status_code == 201
    finally:
        server.stop()


@pytest.mark.skipif(not ON_POSTGRES, reason="the PostgreSQL half; the SQLite run does the other")
def test_postgres_outage_is_503_with_a_discreet_readyz_then_recovers(tmp_path: Path) -> None:
    postgres = OwnPostgres()
    server = start_server(tmp_path, with_owner=True, database_url=postgres.url)
    try:
        headers, url = _bearer(server), server.url + "/api/v1/people"
        assert httpx.post(url, json={"first_name": "Before"}, headers=headers).status_code == 201
        postgres.stop()
        for _ in range(2):  # the pool's connections are dead: each request must still say 503
            _assert_unavailable(httpx.post(url, json={"first_name": "During"}, headers=headers))
            _assert_unavailable(httpx.get(url, headers=headers))
        ready = httpx.get(server.url + "/readyz")
        assert ready.status_code == 503
        assert ready.json()["detail"] == "database unavailable"
        assert str(postgres.port) not in ready.text and "127.0.0.1" not in ready.text
        postgres.start()
        after = httpx.post(url, json={"first_name": "After"}, headers=headers)
        assert after.status_code == 201, after.text
        assert httpx.get(server.url + "/readyz").status_code == 200
    finally:
        server.stop()
        postgres.remove()


@pytest.fixture
def failing_server(database: Database) -> Iterator[str]:
    """The real app with one route that fails, served by uvicorn in a thread."""
    app: FastAPI = create_app(check_schema=False)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/test-boom", boom)
    app.router.routes.insert(0, app.router.routes.pop())  # before the web app's catch-alls
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_500_keeps_the_connection_for_the_next_request(failing_server: str) -> None:
    with httpx.Client(base_url=failing_server) as client:
        failed = client.get("/api/v1/test-boom")
        assert failed.status_code == 500
        assert failed.headers["content-type"] == PROBLEM
        assert failed.headers.get("connection", "").lower() != "close"
        pool = client._transport._pool  # one connection, reused: the server did not drop it
        assert len(pool.connections) == 1 and pool.connections[0].is_idle()
        assert client.get("/healthz").status_code == 200
        assert len(pool.connections) == 1
