"""A real ``rapport serve`` process on its own database, for tests that must go through the
whole stack (commit order, locking and idempotency defects hide behind the shared test connection).

``start_server`` runs ``rapport init`` on a fresh database (SQLite in a folder, or a new PostgreSQL
database when RAPPORT_TEST_DATABASE_URL points at a server), then serves it on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

OWNER_EMAIL = "olivia@example.com"
OWNER_PASSWORD = "a long and secret passphrase"
WORKSPACE = "Northwind"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rapport(*args: str, env: dict[str, str]) -> str:
    cli = Path(sys.executable).parent / "rapport"
    done = subprocess.run(
        [str(cli), *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"rapport {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _database_url(directory: Path) -> tuple[str, Callable[[], None]]:
    """SQLite in ``directory``; or, when the suite runs on PostgreSQL, a fresh database there
    (and the function that drops it)."""
    base = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return f"sqlite:///{directory / 'e2e.db'}", lambda: None
    name = f"rapport_e2e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.rsplit("/", 1)[0] + "/" + name, drop


@dataclass
class Server:
    """A running ``rapport serve`` and what it was set up with."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path
    drop_database: Callable[[], None] = lambda: None
    tokens: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str) -> str:
        return _rapport(*args, env=self.env)

    def token(self, email: str = OWNER_EMAIL, workspace: str = "northwind") -> str:
        """An API token with every scope for a member (made once, with the CLI)."""
        if email not in self.tokens:
            out = self.cli("token", "create", email, "-w", workspace, "--scopes", "*")
            self.tokens[email] = out.strip().splitlines()[-1]
        return self.tokens[email]

    def kill(self) -> None:
        """SIGKILL: the process dies mid-request, as in a crash; nothing is cleaned up."""
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        """Serve the same database again (after :meth:`kill` or :meth:`stop`)."""
        again = serve(self.env, self.log, self.drop_database)
        self.url, self.process = again.url, again.process

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    directory: Path,
    *,
    with_owner: bool,
    database_url: str | None = None,
    settings: dict[str, str] | None = None,
    generated_key: bool = False,
) -> Server:
    """``rapport init`` a fresh database (SQLite in ``directory``, or PostgreSQL when the
    suite runs there; or ``database_url``), then serve it; ``settings`` add to its env.
    ``generated_key``: no RAPPORT_SECRET_KEY, so sessions are signed with the key init
    generated for the database."""
    drop_database: Callable[[], None] = lambda: None  # noqa: E731
    if database_url is None:
        database_url, drop_database = _database_url(directory)
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": database_url,
        "RAPPORT_SECRET_KEY": "e2e-secret-" + directory.name.ljust(32, "x"),
        "RAPPORT_LOG_LEVEL": "WARNING",
        **(settings or {}),
    }
    if generated_key:
        del env["RAPPORT_SECRET_KEY"]
    init = ["init", "--workspace", WORKSPACE]
    if with_owner:
        init += ["--email", OWNER_EMAIL, "--password", OWNER_PASSWORD]
    _rapport(*init, env=env)
    try:
        return serve(env, directory / "server.log", drop_database)
    except RuntimeError:
        drop_database()
        raise


def serve(env: dict[str, str], log: Path, drop_database: Callable[[], None]) -> Server:
    """``rapport serve`` an initialised database on a free port, once it answers /readyz."""
    for _attempt in range(3):  # another process may grab the free port before we bind it
        port = _free_port()
        cli = Path(sys.executable).parent / "rapport"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(f"http://127.0.0.1:{port}", env, process, log, drop_database)
        if _wait_ready(server):
            return server
        server.stop()
    raise RuntimeError(f"rapport serve did not become ready:\n{log.read_text()[-3000:]}")


def _wait_ready(server: Server, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


def new_workspace(server: Server, prefix: str) -> tuple[str, dict[str, str]]:
    """A workspace of its own on a shared server (tests stay apart): its owner's email and
    the API headers of a token of theirs."""
    tag = uuid.uuid4().hex[:8]
    slug, email = f"{prefix}-{tag}", f"owner-{tag}@example.com"
    server.cli("init", "--workspace", slug, "--email", email, "--password", OWNER_PASSWORD)
    return email, {"Authorization": f"Bearer {server.token(email, slug)}"}


@contextmanager
def signed_in_browser(
    server: Server, email: str, csrf_from: Callable[[str], str]
) -> Iterator[httpx.Client]:
    """A client with cookies, signed in through the login form."""
    with httpx.Client(base_url=server.url, timeout=60) as browser:
        login = browser.get("/login")
        signed = browser.post("/login", data={
            "email": email, "password": OWNER_PASSWORD, "csrf_token": csrf_from(login.text),
        })  # fmt: skip
        assert signed.status_code == 303, signed.text
        yield browser


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This worker's live server, with workspace Northwind owned by Olivia."""
    running = start_server(tmp_path_factory.mktemp("live"), with_owner=True)
    yield running
    running.stop()
    running.drop_database()
