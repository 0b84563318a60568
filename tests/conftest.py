"""A real database per test run (SQLite by default, PostgreSQL with RAPPORT_TEST_DATABASE_URL),
built by the real migrations; every test runs inside a transaction that is rolled back.

The cast (created once, committed): Ada owns Acme, Max manages it, Ben is a sales member,
Cleo is read-only, Ann is Acme's admin; Dev is the admin of another workspace, Globex.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from rapport import domains
from rapport.accounts import service as accounts
from rapport.accounts.models import Workspace
from rapport.app import create_app
from rapport.core import migrations
from rapport.core.context import Context
from rapport.core.db import Database, set_database
from rapport.core.permissions import Role
from tests.live import live_server

domains.install()  # as every entry point does: services read the domains' links from it
PASSWORD = "correct horse battery staple"
__all__ = ["live_server"]  # a real server process, for tests through the whole stack

# Property tests assert behaviour, not speed: a busy machine must not fail them on time.
settings.register_profile("rapport", deadline=None)
settings.load_profile("rapport")


def _postgres_database(base_url: str) -> tuple[str, str]:
    name = f"rapport_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base_url.rsplit("/", 1)[0] + "/" + name, name


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for this run."""
    base = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
    if base.startswith("postgresql"):
        url, name = _postgres_database(base)
        yield url
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path: Path = tmp_path_factory.mktemp("db") / "rapport-test.db"
        yield f"sqlite:///{path}"


@dataclass
class Member:
    user_id: uuid.UUID
    email: str
    role: Role
    workspace_id: uuid.UUID
    token: str


@dataclass
class Cast:
    acme: uuid.UUID
    globex: uuid.UUID
    ada: Member
    ann: Member
    max: Member
    ben: Member
    cleo: Member
    dev: Member


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    migrations.upgrade(db.engine)
    set_database(db)
    yield db
    set_database(None)
    db.engine.dispose()


@pytest.fixture(scope="session")
def cast(database: Database) -> Cast:
    """The named cast, committed once for the whole run."""
    members: dict[str, Member] = {}
    with database.session(unscoped=True) as session:
        acme = accounts.create_workspace(session, "Acme")
        globex = accounts.create_workspace(session, "Globex")
        people = {
            "ada": (acme, Role.OWNER, PASSWORD),
            "ann": (acme, Role.ADMIN, None),
            "max": (acme, Role.MANAGER, None),
            "ben": (acme, Role.MEMBER, None),
            "cleo": (acme, Role.READ_ONLY, None),
            "dev": (globex, Role.ADMIN, PASSWORD),
        }
        for name, (ws, role, password) in people.items():
            email = f"{name}@{ws.slug}.test"
            user = accounts.create_user(
                session, ws, email=email, password=password, name=name.title(), role=role
            )
            session.info["workspace_id"] = ws.id
            ctx = Context(session=session, workspace_id=ws.id, user_id=user.id, role=role)
            _row, secret = accounts.create_token(ctx, name="tests", scopes=["*"])
            session.info["workspace_id"] = None
            members[name] = Member(user.id, email, role, ws.id, secret)
        session.commit()
        return Cast(acme=acme.id, globex=globex.id, **members)


@pytest.fixture
def connection(database: Database, cast: Cast) -> Iterator[Connection]:
    """Bind every session of the test to one connection whose transaction is rolled back."""
    conn = database.engine.connect()
    outer = conn.begin()
    original = database.session_factory
    database.session_factory = sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield conn
    finally:
        database.session_factory = original
        outer.rollback()
        conn.close()


def _ctx(database: Database, member: Member) -> Iterator[Context]:
    session: Session = database.session(member.workspace_id)
    try:
        yield Context(
            session=session,
            workspace_id=member.workspace_id,
            user_id=member.user_id,
            role=member.role,
        )
        session.flush()
    finally:
        session.close()


@pytest.fixture
def ada_ctx(database: Database, connection: Connection, cast: Cast) -> Iterator[Context]:
    yield from _ctx(database, cast.ada)


@pytest.fixture
def ben_ctx(database: Database, connection: Connection, cast: Cast) -> Iterator[Context]:
    yield from _ctx(database, cast.ben)


@pytest.fixture
def cleo_ctx(database: Database, connection: Connection, cast: Cast) -> Iterator[Context]:
    yield from _ctx(database, cast.cleo)


@pytest.fixture
def dev_ctx(database: Database, connection: Connection, cast: Cast) -> Iterator[Context]:
    yield from _ctx(database, cast.dev)


@pytest.fixture(scope="session")
def app(database: Database):  # type: ignore[no-untyped-def]
    return create_app(check_schema=False)


def _client(app, member: Member | None) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app, raise_server_exceptions=False)
    if member is not None:
        client.headers["Authorization"] = f"Bearer {member.token}"
    return client


@pytest.fixture
def anon(app, connection: Connection) -> TestClient:  # type: ignore[no-untyped-def]
    return _client(app, None)


@pytest.fixture
def api_as(app, connection: Connection, cast: Cast):  # type: ignore[no-untyped-def]
    """``api_as("ben")``: a client signed in with that cast member's token."""
    return lambda name: _client(app, getattr(cast, name))


@pytest.fixture
def api(api_as):  # type: ignore[no-untyped-def]
    """Ada, the owner of Acme."""
    return api_as("ada")


@pytest.fixture
def acme(cast: Cast) -> uuid.UUID:
    return cast.acme


@pytest.fixture
def workspace_row(database: Database, cast: Cast) -> Workspace:
    with database.session(unscoped=True) as session:
        ws = session.get(Workspace, cast.acme)
        assert ws is not None
        return ws
