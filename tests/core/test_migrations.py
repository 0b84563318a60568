"""Migrations: the schema is only ever made by them, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from rapport.core import migrations
from rapport.core.migrations import include_name
from rapport.models import Base


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """A brand-new empty database of the kind the suite runs on."""
    base = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
    if base.startswith("postgresql"):
        name = f"rapport_migrations_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = create_engine(base.rsplit("/", 1)[0] + "/" + name)
        yield engine
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        from rapport.core.db import make_engine

        engine = make_engine(f"sqlite:///{tmp_path / 'migrations.db'}")
        yield engine
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine)
    assert migrations.current_revision(empty_engine) == migrations.head_revision()
    assert "people" in inspect(empty_engine).get_table_names()
    migrations.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(empty_engine)
    assert migrations.schema_problem(empty_engine) is None


def test_models_and_migrations_agree(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_a_stale_schema_is_reported_with_what_to_do(empty_engine: Engine) -> None:
    problem = migrations.schema_problem(empty_engine)
    assert problem is not None and "rapport migrate" in problem


def test_the_search_index_is_rebuilt_with_its_documents_both_ways(empty_engine: Engine) -> None:
    """0017 files SQLite's trigram index under a short workspace bucket; up or down, the
    documents already indexed are indexed again and still found (PostgreSQL: unchanged)."""
    from sqlalchemy.orm import Session

    from rapport.accounts import service as accounts
    from rapport.core.search import Document, index_documents, search

    migrations.upgrade(empty_engine)
    address = "migrated.person@example.org"
    with Session(empty_engine) as session:
        workspace = accounts.create_workspace(session, "Migrated")
        doc = Document("person", uuid.uuid4(), "Migrated Person", address, [address])
        index_documents(session, workspace.id, [doc], fresh=True)
        session.commit()
        ws = workspace.id
    sqlite = empty_engine.dialect.name == "sqlite"

    def indexed_under(token: str) -> int:
        with empty_engine.connect() as conn:
            query = "SELECT count(*) FROM search_fts WHERE search_fts MATCH :m"
            return int(conn.execute(text(query), {"m": f'ws:"{token}"'}).scalar() or 0)

    migrations.downgrade(empty_engine, "0016")
    if sqlite:
        assert indexed_under(ws.hex) == 1
    migrations.upgrade(empty_engine)
    if sqlite:
        assert indexed_under(ws.hex[:3]) == 1 and indexed_under(ws.hex) == 0
    with Session(empty_engine) as session:
        assert [h.record_id for h in search(session, ws, address)] == [doc.record_id]
