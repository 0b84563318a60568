"""Engine, sessions, the declarative base and the mixins every table is built from.

Workspace isolation lives here and only here: every ORM statement run through a session is
given a ``workspace_id = :ws`` criterion for all ``WorkspaceScoped`` entities (and a
``deleted_at IS NULL`` criterion for ``SoftDeletable`` ones), and a flush refuses to write a
row into another workspace. A session without a workspace refuses scoped queries outright,
unless it was explicitly opened as ``unscoped`` (migrations, operator CLI, cross-workspace jobs).
A prebuilt Core read of a hot path (:class:`ScopedSelect`) is refused unless it carries the
same criteria, and is given the session's workspace.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import orjson
import psycopg
from psycopg import pq
from sqlalchemy import (
    JSON,
    BinaryExpression,
    BindParameter,
    Column,
    CursorResult,
    DateTime,
    Dialect,
    Engine,
    ForeignKey,
    MetaData,
    Select,
    Table,
    Uuid,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import ArgumentError, IntegrityError, InvalidatePoolError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import operators, visitors
from sqlalchemy.types import TypeDecorator

from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.ids import new_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps go in as aware UTC and come out aware UTC, even on SQLite (which drops tz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names, so migrations match on both DBs."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        uuid.UUID: Uuid(),
    }


class HasId:
    """A UUIDv7 primary key."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class WorkspaceScoped(HasId):
    """A row that belongs to exactly one workspace; the session filter reads this column."""

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


class Timestamped:
    """Creation and last-change instants, UTC."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Versioned:
    """Optimistic concurrency: the UPDATE carries ``WHERE version = :seen``, so a racing
    writer's change can never be silently overwritten (SQLAlchemy raises StaleDataError)."""

    version: Mapped[int] = mapped_column(default=1, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - SQLAlchemy passes the class
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class SoftDeletable:
    """Deleted rows stay for restore; the session hides them unless asked."""

    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


ScopedT = TypeVar("ScopedT", bound=WorkspaceScoped)


def flush_unique(session: Session, conflict: Callable[[], Exception]) -> None:
    """Flush inside a savepoint; a unique-constraint violation (two writers racing past the
    service's own duplicate check) raises ``conflict()`` instead of a 500, and the session
    stays usable."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise conflict() from exc


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, for multi-row INSERTs that skip per-object ORM work."""
    return cast(Table, model.__table__)


class WorkspaceViolation(RuntimeError):
    """A bug: code tried to read or write without (or across) a workspace."""


@event.listens_for(Session, "do_orm_execute")
def _add_scoping_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the parent statement already carried the criteria
    info = state.session.info
    workspace_id = info.get("workspace_id")
    options = []
    if state.execution_options.get("all_workspaces", False):
        # The one deliberate escape hatch: resolving a credential before a workspace is known.
        pass
    elif workspace_id is not None:
        options.append(
            with_loader_criteria(
                WorkspaceScoped,
                lambda cls: cls.workspace_id == workspace_id,
                include_aliases=True,
            )
        )
    elif not info.get("unscoped") and any(
        isinstance(m.entity, type) and issubclass(m.entity, WorkspaceScoped)
        for m in state.all_mappers
    ):
        raise WorkspaceViolation("query on a workspace table from a session with no workspace")
    if not state.execution_options.get("include_deleted", False):
        options.append(
            with_loader_criteria(
                SoftDeletable, lambda cls: cls.deleted_at.is_(None), include_aliases=True
            )
        )
    if options:
        state.statement = state.statement.options(*options)


@event.listens_for(Session, "before_flush")
def _guard_workspace_on_write(session: Session, _ctx: Any, _instances: Any) -> None:
    workspace_id = session.info.get("workspace_id")
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, WorkspaceScoped):
            continue
        if obj.workspace_id is None and workspace_id is not None:
            obj.workspace_id = workspace_id
        if workspace_id is not None and obj.workspace_id != workspace_id:
            raise WorkspaceViolation("write into another workspace")
        if workspace_id is None and not session.info.get("unscoped"):
            raise WorkspaceViolation("write to a workspace table from a session with no workspace")


def get_scoped(
    session: Session,
    model: type[ScopedT],
    record_id: uuid.UUID,
    *,
    include_deleted: bool = False,
    options: Sequence[Any] = (),
) -> ScopedT | None:
    """The row with this id in the session's workspace, or None — never another workspace's."""
    row = session.get(
        model, record_id, options=options, execution_options={"include_deleted": include_deleted}
    )
    if row is None or row.workspace_id != session.info.get("workspace_id"):
        return None
    if not include_deleted and isinstance(row, SoftDeletable) and row.deleted_at is not None:
        return None
    return row


WORKSPACE_PARAM = "workspace_id"


class ScopedSelect:
    """A SELECT built once for a hot read path (a one-row GET) and run as Core on the
    session's connection: no ORM compilation, no criteria added and no cache key computed per
    execution, no identity map. The ORM criteria above never reach it, so it carries its own,
    and is refused when it is built unless it does: every workspace table it reads compares its
    ``workspace_id`` with the bind parameter ``:workspace_id``, and every soft-deletable one
    has ``deleted_at IS NULL`` (unless ``include_deleted``). :meth:`execute` binds that
    parameter to the session's workspace, as the criteria do."""

    def __init__(self, statement: Select[Any], *, include_deleted: bool = False) -> None:
        unscoped, deleted = _unguarded_tables(statement)
        if unscoped:
            raise WorkspaceViolation(
                f"{', '.join(sorted(unscoped))}: read without workspace_id = :{WORKSPACE_PARAM}"
            )
        if deleted and not include_deleted:
            raise WorkspaceViolation(
                f"{', '.join(sorted(deleted))}: read without deleted_at IS NULL"
            )
        self.statement = statement

    def execute(self, session: Session, **params: Any) -> CursorResult[Any]:
        """Run it in the session's transaction, in the session's workspace."""
        workspace_id = session.info.get("workspace_id")
        if workspace_id is None:
            raise WorkspaceViolation("scoped read from a session with no workspace")
        return session.connection().execute(
            self.statement, {**params, WORKSPACE_PARAM: workspace_id}
        )


def _unguarded_tables(statement: Select[Any]) -> tuple[set[str], set[str]]:
    """The tables ``statement`` reads without the workspace criterion, and the soft-deletable
    ones it reads without ``deleted_at IS NULL``."""
    tables: set[Table] = set()
    scoped: set[Any] = set()
    live: set[Any] = set()
    for element in visitors.iterate(statement):
        if isinstance(element, Table):
            tables.add(element)
        elif isinstance(element, BinaryExpression) and isinstance(element.left, Column):
            column, other = element.left, element.right
            if (
                column.name == WORKSPACE_PARAM
                and element.operator is operators.eq
                and isinstance(other, BindParameter)
                and other.key == WORKSPACE_PARAM
            ):
                scoped.add(column.table)
            elif column.name == "deleted_at" and element.operator is operators.is_:
                live.add(column.table)
    unscoped = {t.name for t in tables if WORKSPACE_PARAM in t.c and t not in scoped}
    deleted = {t.name for t in tables if "deleted_at" in t.c and t not in live}
    return unscoped, deleted


WAL_LIMIT_BYTES = 64 << 20


def _unicode_lower(value: Any) -> str | None:
    return None if value is None else str(value).lower()


def _configure_sqlite(engine: Engine) -> None:
    """WAL + foreign keys, and the pysqlite fix so SAVEPOINT and BEGIN behave (see SQLAlchemy's
    SQLite dialect docs, "Serializable isolation / Savepoints / Transactional DDL")."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A write that meets the lock waits this long (SQLite retries inside), then the request
        # answers 503 with Retry-After (core.errors.as_unavailable), never a 500.
        cursor.execute(f"PRAGMA busy_timeout={int(get_settings().sqlite_busy_timeout_ms)}")
        # A big import (or its duplicate scan, whose reads hold checkpoints back) can grow
        # the WAL file to gigabytes; once checkpointed it is cut back to this, rather than
        # kept at its largest for as long as the server holds a connection.
        cursor.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
        cursor.close()
        # SQLite's own lower() folds ASCII only, so "Étienne" never matched "étienne" and
        # case-insensitive lookups (tags, companies by name) made twins; PostgreSQL's lower()
        # folds every letter. No index is built on lower(), so replacing it is safe.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A unit of work that will write takes the write lock up front (BEGIN IMMEDIATE):
        # SQLite cannot upgrade a read snapshot once another writer has committed, so a
        # deferred BEGIN would fail such requests half-way instead of making them wait.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        _start_clock(conn)  # the lock is ours from here: waiting for it is not holding it


def display_url(url: str) -> str:
    """The database URL fit to print or log: its password masked (``***``)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL SQLAlchemy can read: show nothing of it rather than all
        return "<unparseable database URL>"


def dump_json(value: Any) -> str:
    """JSON columns through orjson (several times faster than ``json``: every write stores an
    audit and an outbox row); what orjson refuses (an integer beyond 64 bits) goes through
    ``json`` as before."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


# orjson reads an integer beyond 64 bits as a float, silently: such long numbers go to ``json``.
_LONG_BYTES, _LONG_TEXT = re.compile(rb"\d{19}"), re.compile(r"\d{19}")


def load_json(data: str | bytes) -> Any:
    """JSON columns through orjson too (every row of a list page reads one or more); what
    orjson would read differently from ``json`` goes through ``json``: a number of 19 digits
    or more (orjson rounds an integer beyond 64 bits to a float), and what it refuses (NaN,
    Infinity, a lone surrogate, which ``dump_json``'s fallback may have written)."""
    long = _LONG_BYTES.search(data) if isinstance(data, bytes) else _LONG_TEXT.search(data)
    if long is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


# A connection that came back to the pool this recently was answering a moment ago: checking it
# again would cost every request a round trip for nothing. One that died in between (a database
# restart) fails its first statement instead; SQLAlchemy then drops it with the rest of the pool
# and the request is answered 503 with Retry-After, as any other outage is.
PING_AFTER_IDLE_SECONDS = 1.0


def _note_return(_dbapi_connection: Any, record: Any) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """``pool_pre_ping`` for psycopg at a sixth of its CPU, for a connection that sat idle: an
    empty query straight through libpq (SQLAlchemy's ping switches autocommit off and on around
    a cursor). A connection that does not answer is dropped with the rest of the pool, as
    ``pool_pre_ping`` does, and the checkout connects again."""
    returned_at = record.info.get("returned_at")
    if returned_at is not None and time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
        return
    try:
        answered = dbapi_connection.pgconn.exec_(b"").status == pq.ExecStatus.EMPTY_QUERY
    except psycopg.Error:
        answered = False
    if not answered:
        raise InvalidatePoolError("the pooled database connection is gone")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for the configured database, with dialect-specific settings applied."""
    url = url or get_settings().database_url
    kwargs.setdefault("json_serializer", dump_json)
    kwargs.setdefault("json_deserializer", load_json)
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    psycopg_ping = make_url(url).get_driver_name() == "psycopg" and "pool_pre_ping" not in kwargs
    kwargs.setdefault("pool_pre_ping", not psycopg_ping)
    engine = create_engine(url, **kwargs)
    if psycopg_ping:
        event.listen(engine, "checkout", _ping)
        event.listen(engine, "checkin", _note_return)
    return engine


class Database:
    """The process's engine and session factory. Tests swap ``session_factory`` to bind
    every session to a connection whose transaction is rolled back after the test."""

    def __init__(self, url: str | None = None) -> None:
        self.engine = make_engine(url)
        self.session_factory: sessionmaker[Session] = sessionmaker(
            self.engine, expire_on_commit=False
        )

    def session(
        self, workspace_id: uuid.UUID | None = None, *, unscoped: bool = False, writes: bool = False
    ) -> Session:
        """A new session; ``writes`` says the unit of work will write (see ``_on_begin``)."""
        session = self.session_factory()
        session.info["workspace_id"] = workspace_id
        session.info["unscoped"] = unscoped
        if writes and self.dialect == "sqlite":
            session.connection(execution_options={"sqlite_immediate": True})
        return session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


_database: Database | None = None


def get_database() -> Database:
    """The process-wide Database, created on first use from settings."""
    global _database
    if _database is None:
        _database = Database()
    return _database


def set_database(database: Database | None) -> None:
    """Swap the process-wide Database (CLI ``--database`` and tests)."""
    global _database
    _database = database


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Own ``session`` for one unit of work: commit if the block succeeds, roll back on any
    error, close it either way. The only commit site (``tests/test_architecture.py`` checks):
    background work uses it through :func:`transaction`, requests through ``core.uow``."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def transaction(
    workspace_id: uuid.UUID | None = None, *, unscoped: bool = False
) -> Iterator[Session]:
    """One unit of work in a new session: commit on success, roll back on any error."""
    with unit_of_work(get_database().session(workspace_id, unscoped=unscoped, writes=True)) as s:
        yield s


# --- how long background work holds a transaction -------------------------------------------
# SQLite has one writer: a background job that keeps a write transaction open for minutes makes
# every request that writes wait, then fail. Background work therefore commits in small
# batches, and every transaction it runs is timed here: over the limit it is logged, and tests
# watch every one of them (tests/core/test_background_transactions.py).

log = logging.getLogger("rapport.db")
TransactionWatcher = Callable[[str, float], None]
_background: ContextVar[str | None] = ContextVar("rapport_background_work", default=None)
_watchers: list[TransactionWatcher] = []


@contextmanager
def background(name: str) -> Iterator[None]:
    """Run the block as background work called ``name``: its transactions are timed."""
    token = _background.set(name)
    try:
        yield
    finally:
        _background.reset(token)


def watch_background_transactions(watcher: TransactionWatcher) -> Callable[[], None]:
    """Call ``watcher(work name, seconds held)`` after every background transaction ends;
    returns the function that stops watching."""
    _watchers.append(watcher)
    return lambda: _watchers.remove(watcher)


def _start_clock(conn: Any) -> None:
    if _background.get() is not None:
        conn.info["rapport_began"] = time.perf_counter()


@event.listens_for(Engine, "begin")
def _transaction_began(conn: Any) -> None:
    if conn.dialect.name != "sqlite":  # SQLite's clock starts once BEGIN has the lock
        _start_clock(conn)


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_ended(conn: Any) -> None:
    if conn.invalidated:  # a lost connection: its info can't be read, nor is there a hold to time
        return
    began = conn.info.pop("rapport_began", None)
    name = _background.get()
    if began is None or name is None:
        return
    held = time.perf_counter() - began
    if held > get_settings().background_transaction_seconds:
        log.warning("background work %s held a transaction for %.2f s", name, held)
    for watcher in list(_watchers):
        watcher(name, held)
