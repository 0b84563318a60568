"""Backup and restore of a whole Rapport database, consistent while the app keeps writing.

SQLite is copied by its online backup API inside one read transaction, so the copy is the
database as of one instant whatever commits meanwhile (WAL lets writers go on). PostgreSQL is
dumped by ``pg_dump -Fc``, which reads everything in one snapshot, and loaded by ``pg_restore``
in one transaction. A backup holds the install's session key (``instance_settings``), so a
restored install keeps its sessions; the file is written 0600 because whoever holds it can
read every record and sign in as anyone.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import URL, create_engine, inspect, make_url

from rapport.core import migrations
from rapport.core.errors import BadRequest, Conflict

# (done, total, what): pages for SQLite, tables for PostgreSQL.
Progress = Callable[[int, int, str], None]
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
PAGES_PER_STEP = 4096  # 16 MiB a step with 4 KiB pages: a progress tick, not a long pause
PG_BIN_DIRS = "/usr/lib/postgresql/*/bin"
# libpq reads these from the environment; the URL's query may carry them.
LIBPQ_QUERY_ENV = {
    "host": "PGHOST",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
# Never inherited: they would silently point the tools at another server, user or database.
LIBPQ_TARGET_ENV = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD")


class BackupFailed(BadRequest):
    code, title = "backup-failed", "The backup or restore failed"


class RestoreTargetNotEmpty(Conflict):
    code, title = "restore-target-not-empty", "The database to restore into is not empty"


@dataclass(frozen=True)
class RestoreResult:
    """What a restore left: the schema revision and, if it is not this release's, what to do."""

    revision: str | None
    schema_problem: str | None


def _ignore(_done: int, _total: int, _what: str) -> None:
    return None


def backup(
    database_url: str,
    path: Path,
    *,
    progress: Progress = _ignore,
    pages_per_step: int = PAGES_PER_STEP,
) -> None:
    """Write a consistent copy of the database to ``path`` (SQLite file or pg_dump archive),
    replacing it only once the copy is complete. ``pages_per_step``: SQLite's copy step."""
    url = make_url(database_url)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            with _sqlite_errors():
                _sqlite_backup(_sqlite_path(url), partial, progress, pages=pages_per_step)
        elif url.get_backend_name() == "postgresql":
            with _private_file(partial) as out:
                _pg_dump(url, out, progress)
        else:
            raise BackupFailed(f"Backups of {url.get_backend_name()} databases are not supported.")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def restore(
    database_url: str, path: Path, *, force: bool = False, progress: Progress = _ignore
) -> RestoreResult:
    """Load a backup into the database; refuses one that holds any table unless ``force``."""
    url = make_url(database_url)
    kind = _backup_kind(path)
    backend = url.get_backend_name()
    if kind != backend:
        raise BackupFailed(
            f"{path} is a {kind} backup; it cannot be restored into a {backend} database."
        )
    if not force and not is_empty(database_url):
        raise RestoreTargetNotEmpty(
            "The database already holds tables; restore into an empty one, or give --force to "
            "replace what it holds."
        )
    if backend == "sqlite":
        with _sqlite_errors():
            _sqlite_restore(path, _sqlite_path(url), progress)
    else:
        _pg_restore(url, path, clean=force, progress=progress)
    engine = create_engine(database_url)
    try:
        return RestoreResult(migrations.current_revision(engine), migrations.schema_problem(engine))
    finally:
        engine.dispose()


def is_empty(database_url: str) -> bool:
    """True when the database has no table at all (or, for SQLite, no file yet)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and not Path(_sqlite_path(url)).exists():
        return True
    engine = create_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _backup_kind(path: Path) -> str:
    try:
        with open(path, "rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupFailed(f"Cannot read {path}: {exc.strerror}") from exc
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupFailed(f"{path} is not a Rapport backup (neither SQLite nor pg_dump custom).")


@contextmanager
def _private_file(path: Path) -> Iterator[IO[bytes]]:
    """A new file only its owner can read: it will hold every record and the session key."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        yield file


# --- SQLite --------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupFailed("An in-memory SQLite database has nothing to back up or restore.")
    return url.database


@contextmanager
def _sqlite_errors() -> Iterator[None]:
    """A locked, unreadable or corrupt file is the operator's to fix: one line, no traceback."""
    try:
        yield
    except sqlite3.Error as exc:
        raise BackupFailed(f"SQLite: {exc}") from exc


def _sqlite_copy(
    source: sqlite3.Connection, target: sqlite3.Connection, progress: Progress, *, pages: int
) -> None:
    def step(_status: int, remaining: int, total: int) -> None:
        progress(total - remaining, total, "pages")

    source.backup(target, pages=pages, progress=step)


def _sqlite_backup(database: str, partial: Path, progress: Progress, *, pages: int) -> None:
    if not Path(database).exists():
        raise BackupFailed(f"There is no database at {database}.")
    with _private_file(partial):
        pass  # the mode is set before SQLite writes a byte into it
    source = sqlite3.connect(database, isolation_level=None)
    target = sqlite3.connect(partial, isolation_level=None)
    try:
        source.execute("PRAGMA busy_timeout=10000")
        # The copy runs in steps; inside one read transaction every step sees the same WAL
        # snapshot, so commits made meanwhile neither restart the copy nor half-appear in it.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        _sqlite_copy(source, target, progress, pages=pages)
        source.execute("COMMIT")
        # The copy inherits WAL mode; a backup is one self-contained file.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()


def _sqlite_restore(backup_file: Path, database: str, progress: Progress) -> None:
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True, isolation_level=None)
    try:
        tables = {row[0] for row in source.execute("SELECT name FROM sqlite_schema")}
        if "alembic_version" not in tables:
            raise BackupFailed(f"{backup_file} is a SQLite database, but not a Rapport one.")
        target = sqlite3.connect(database, isolation_level=None)
        try:
            target.execute("PRAGMA busy_timeout=10000")
            # WAL refuses a page-size change; the copy brings the backup's page size along.
            target.execute("PRAGMA journal_mode=DELETE")
            _sqlite_copy(source, target, progress, pages=PAGES_PER_STEP)
        finally:
            target.close()
    finally:
        source.close()


# --- PostgreSQL ----------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` on PATH, else the newest in Debian's versioned folders."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/").glob(PG_BIN_DIRS.lstrip("/") + "/" + name),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise BackupFailed(f"{name} is not installed; install the PostgreSQL client tools.")
    return str(candidates[-1])


def _pg_env(url: URL) -> dict[str, str]:
    """The connection for libpq's tools, all in the environment: no password on a command
    line, where any user of the machine could read it in the process list."""
    env = {k: v for k, v in os.environ.items() if k not in LIBPQ_TARGET_ENV}
    for key, value in url.query.items():
        if key in LIBPQ_QUERY_ENV:
            env[LIBPQ_QUERY_ENV[key]] = value if isinstance(value, str) else value[-1]
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    if not url.database:
        raise BackupFailed("The PostgreSQL URL names no database.")
    env["PGDATABASE"] = url.database
    return env


def _table_count(url: URL) -> int:
    engine = create_engine(url)
    try:
        return len(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _run_with_progress(
    command: list[str],
    env: dict[str, str],
    *,
    stdout: IO[bytes] | int,
    marker: str,
    total: int,
    progress: Progress,
) -> None:
    """Run a verbose pg tool, counting the lines that announce a table as progress."""
    process = subprocess.Popen(
        command, env=env, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    assert process.stderr is not None
    done, tail = 0, []
    progress(0, total, "tables")
    for raw in process.stderr:
        line = raw.decode(errors="replace").rstrip()
        if marker in line:
            done += 1
            progress(min(done, total), total, "tables")
        elif "error" in line.lower() or "warning" in line.lower():
            tail.append(line)
    if process.wait() != 0:
        name = Path(command[0]).name
        raise BackupFailed(f"{name} failed: " + (" | ".join(tail[-5:]) or "see its output"))
    progress(total, total, "tables")


def _pg_dump(url: URL, out: IO[bytes], progress: Progress) -> None:
    _run_with_progress(
        [_pg_tool("pg_dump"), "--format=custom", "--verbose", "--no-password"],
        _pg_env(url),
        stdout=out,
        marker="dumping contents of table",
        total=_table_count(url),
        progress=progress,
    )


def _pg_restore(url: URL, path: Path, *, clean: bool, progress: Progress) -> None:
    env = _pg_env(url)
    listing = subprocess.run(
        [_pg_tool("pg_restore"), "--list", str(path)], env=env, capture_output=True, check=False
    )
    if listing.returncode != 0:
        raise BackupFailed(f"pg_restore cannot read {path}: {listing.stderr.decode().strip()}")
    entries = listing.stdout.decode(errors="replace").splitlines()
    if not any(re.search(r"\bTABLE public alembic_version\b", e) for e in entries):
        raise BackupFailed(f"{path} is a pg_dump archive, but not of a Rapport database.")
    command = [
        _pg_tool("pg_restore"),
        "--verbose",
        "--no-password",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",  # a failed restore leaves the database as it was
        f"--dbname={env['PGDATABASE']}",
    ]
    if clean:
        command += ["--clean", "--if-exists"]
    _run_with_progress(
        [*command, str(path)],
        env,
        stdout=subprocess.DEVNULL,
        marker="processing data for table",
        total=sum(" TABLE DATA " in e for e in entries),
        progress=progress,
    )
