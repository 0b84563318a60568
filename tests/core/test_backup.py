"""``rapport backup`` / ``rapport restore``: a consistent copy while a real server keeps writing,
and a round trip that keeps every row of every table, on SQLite or PostgreSQL following
RAPPORT_TEST_DATABASE_URL."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import MetaData, create_engine, make_url, select, text

from rapport.core import backup as backups
from rapport.core import migrations
from tests.live import Server, _database_url

RAPPORT = Path(sys.executable).parent / "rapport"


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """An empty database to restore into (a new PostgreSQL database, dropped afterwards)."""
    url, drop = _database_url(tmp_path)
    yield url
    drop()


def _rapport(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RAPPORT), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Every table, reflected: its row count and a SHA-256 of all its rows (order-free).
    SQLite's FTS5 table is left out: it reads through to search_documents, and its own
    shadow tables (search_fts_data, …), which hold the index, are compared."""
    engine = create_engine(url)
    virtual: set[str] = set()
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            virtual = set(
                conn.scalars(
                    text("SELECT name FROM sqlite_schema WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")
                )
            )
    metadata = MetaData()
    metadata.reflect(engine, only=lambda name, _meta: name not in virtual)
    digests = {}
    try:
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows = sorted(repr(tuple(row)) for row in conn.execute(select(table)))
                digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
                digests[table.name] = (len(rows), digest)
    finally:
        engine.dispose()
    return digests


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text(sql))
    finally:
        engine.dispose()


class Writer:
    """Creates people through the server's API, one transaction each, until stopped."""

    def __init__(self, server: Server) -> None:
        self.client = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.token()}"},
            timeout=30,
        )
        self.tag = uuid.uuid4().hex[:8]
        self.written: list[str] = []  # emails, in commit order (one thread, so one order)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            email = f"w{len(self.written)}.{self.tag}@writer.example"
            response = self.client.post(
                "/api/v1/people", json={"first_name": "Writer", "email": email}
            )
            assert response.status_code == 201, response.text
            self.written.append(email)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.written) < count:
            assert self.thread.is_alive(), "the writer stopped"
            assert time.monotonic() < deadline, "the writer is stuck"
            time.sleep(0.05)

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=60)
        self.client.close()


def test_a_backup_taken_during_writes_restores_to_one_consistent_moment(
    live_server: Server, fresh_database: str, tmp_path: Path
) -> None:
    source = live_server.env["RAPPORT_DATABASE_URL"]
    file = tmp_path / "during-writes.backup"
    ticks: list[int] = []

    def slowly(done: int, total: int, _what: str) -> None:
        ticks.append(done)
        time.sleep(0.003)  # SQLite copies a page a step: let the writer commit between them

    with Writer(live_server) as writer:
        writer.wait_for(3)
        before = len(writer.written)
        backups.backup(source, file, progress=slowly, pages_per_step=1)
        after = len(writer.written)
        writer.wait_for(after + 2)  # the source moved on after the copy, too
    assert after > before, "no write committed while the backup ran; the test proves nothing"
    assert len(ticks) > 1

    result = backups.restore(fresh_database, file)
    assert result.schema_problem is None
    assert result.revision == migrations.head_revision()

    engine = create_engine(fresh_database)
    try:
        with engine.connect() as conn:
            restored = set(
                conn.scalars(
                    text("SELECT email FROM people WHERE email LIKE :tag"),
                    {"tag": f"%.{writer.tag}@writer.example"},
                )
            )
            # Each person was committed with its search document and its outbox event: none
            # of them may be in the copy without the others.
            unindexed = conn.scalar(
                text(
                    "SELECT count(*) FROM people p WHERE NOT EXISTS (SELECT 1 FROM "
                    "search_documents d WHERE d.record_id = p.id)"
                )
            )
            unannounced = conn.scalar(
                text(
                    "SELECT count(*) FROM people p WHERE NOT EXISTS (SELECT 1 FROM "
                    "outbox_events e WHERE e.record_id = p.id AND e.topic = 'person.created')"
                )
            )
            orphans = conn.scalar(
                text(
                    "SELECT count(*) FROM search_documents d WHERE d.record_type = 'person' "
                    "AND NOT EXISTS (SELECT 1 FROM people p WHERE p.id = d.record_id)"
                )
            )
    finally:
        engine.dispose()
    # One writer commits in order, so one instant holds exactly the first k of its people.
    k = len(restored)
    assert before <= k <= after
    assert restored == set(writer.written[:k])
    assert (unindexed, unannounced, orphans) == (0, 0, 0)


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A database seeded by ``rapport demo`` (people, companies, activities, deals), and the
    environment that points the CLI at it."""
    url, drop = _database_url(tmp_path_factory.mktemp("demo"))
    env = {**os.environ, "RAPPORT_DATABASE_URL": url, "RAPPORT_LOG_LEVEL": "WARNING"}
    done = _rapport(env, "demo", "--people", "120", "--companies", "15", "--activities", "400")
    assert done.returncode == 0, done.stderr
    yield url, env
    drop()


def test_round_trip_keeps_every_row_of_every_table(
    demo_database: tuple[str, dict[str, str]], fresh_database: str, tmp_path: Path
) -> None:
    source, env = demo_database
    file = tmp_path / "rapport.backup"
    made = _rapport(env, "backup", str(file))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(file.stat().st_mode) == 0o600

    restore_env = {**env, "RAPPORT_DATABASE_URL": fresh_database}
    restored = _rapport(restore_env, "restore", str(file))
    assert restored.returncode == 0, restored.stderr

    expected = table_digests(source)
    assert table_digests(fresh_database) == expected
    if source.startswith("sqlite"):
        assert "search_fts_data" in expected
        with create_engine(fresh_database).begin() as conn:  # raises on a corrupt index
            conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('integrity-check')"))
    for table in ("people", "companies", "activities", "deals", "instance_settings"):
        assert expected[table][0] > 0, f"{table} is empty: the round trip proves little"
    restored_engine = create_engine(fresh_database)
    assert migrations.schema_problem(restored_engine) is None
    restored_engine.dispose()

    # A second restore into what is now a full database is refused, and changes nothing...
    _mark(fresh_database)
    refused = _rapport(restore_env, "restore", str(file))
    assert refused.returncode == 1
    assert "not empty" in refused.stderr or "already holds tables" in refused.stderr
    assert "--force" in refused.stderr
    assert _scalar(fresh_database, "SELECT count(*) FROM instance_settings") == 2

    # ... unless forced: then the database is the backup again, the marker gone.
    forced = _rapport(restore_env, "restore", "--force", str(file))
    assert forced.returncode == 0, forced.stderr
    assert table_digests(fresh_database) == expected


def _mark(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO instance_settings (name, value) VALUES ('m', 'x')"))
    finally:
        engine.dispose()


def test_the_session_key_travels_with_the_backup(
    demo_database: tuple[str, dict[str, str]], fresh_database: str, tmp_path: Path
) -> None:
    source, _env = demo_database
    file = tmp_path / "key.backup"
    backups.backup(source, file)
    backups.restore(fresh_database, file)
    key = "SELECT value FROM instance_settings WHERE name = 'secret_key'"
    assert _scalar(fresh_database, key) == _scalar(source, key)


def test_a_backup_of_the_other_kind_is_refused(
    demo_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    source, _env = demo_database
    other = tmp_path / "other.backup"
    other.write_bytes(b"PGDMP" if source.startswith("sqlite") else b"SQLite format 3\x00")
    with pytest.raises(backups.BackupFailed, match="cannot be restored into"):
        backups.restore(source, other, force=True)


def test_a_file_that_is_no_backup_is_refused(
    demo_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    source, _env = demo_database
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(backups.BackupFailed, match="not a Rapport backup"):
        backups.restore(source, junk, force=True)


def test_libpq_gets_the_password_in_its_environment_only() -> None:
    url = "postgresql+psycopg://ann:s3cret%21@db.example:6543/crm?sslmode=require"
    env = backups._pg_env(make_url(url))
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"]) == ("db.example", "6543", "ann")
    assert (env["PGPASSWORD"], env["PGDATABASE"], env["PGSSLMODE"]) == ("s3cret!", "crm", "require")
