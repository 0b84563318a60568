"""A pooled PostgreSQL connection is checked with an empty query only after it sat idle: one
that died while in use recently fails its first statement as a disconnect (which the error
handlers answer 503), the pool is dropped, and the next checkout connects afresh."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from rapport.core import db

PG_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="the libpq ping is PostgreSQL's"
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = db.make_engine(PG_URL, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _kill_pooled_connection(engine: Engine) -> None:
    """Terminate the backend of the pool's one connection (ours: never the shared server)."""
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    killer = create_engine(PG_URL, poolclass=NullPool)
    with killer.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def test_a_connection_returned_a_moment_ago_is_not_pinged_and_a_dead_one_is_a_disconnect(
    engine: Engine,
) -> None:
    _kill_pooled_connection(engine)
    with Session(engine) as session:  # as a request's unit of work uses it
        with pytest.raises(OperationalError) as failed:
            session.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
        session.rollback()
    with engine.connect() as conn:  # the pool connected again
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_an_idle_connection_is_pinged_and_replaced_before_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _kill_pooled_connection(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
