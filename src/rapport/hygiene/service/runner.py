"""Driving an import from a file, one committed batch at a time, for every target (people,
companies, deals, activities, …): from the CLI, or as a background job for an upload (API,
web). Killed half-way, an import is resumed after its last committed line (``resume``) or
simply rerun: each target's upsert is idempotent."""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.core.config import get_settings
from rapport.core.context import Context, system_context
from rapport.core.db import get_database, transaction
from rapport.core.errors import BadRequest, as_unavailable
from rapport.core.imports import Opened, Record, Target
from rapport.hygiene.models import ImportJob
from rapport.hygiene.service import importing, mappings
from rapport.hygiene.service.cleaning import CleanRow, Problem
from rapport.hygiene.service.import_people import (
    clean_one,
    resolve_mapping,
    row_keys,
    superseded,
)
from rapport.hygiene.service.sources import open_source, parse_overrides, upload_format

Progress = Callable[[int], None]  # called with the last line done
ANALYZE_AFTER = 10_000
INLINE_BYTES = 2 << 20  # uploads smaller than this are validated in the job's own process
# An import the server runs in the background commits smaller batches than the CLI's: each
# batch holds SQLite's only write lock, and the app's requests must get their turn in between.
BACKGROUND_BATCH = 1_000
BULK_CACHE_KIB = 1 << 18  # SQLite page cache of the connection writing an import: 256 MiB
ANALYZED = ("people", "person_emails", "person_phones", "search_documents")
log = logging.getLogger(__name__)


def open_file(target: Target, stream: IO[bytes], fmt: str) -> Opened:
    """A file read as ``fmt`` for ``target``: its own reader (company vCards), else the
    pipeline's (CSV of any delimiter and encoding, vCard, JSON lines)."""
    own = target.open(stream, fmt)
    if own is not None:
        return own
    source = open_source(stream, fmt)
    return Opened(source.columns, source.records)


def _batches(source: Opened, size: int, after: int = 0) -> Iterator[list[Record]]:
    records = ((line, raw) for line, raw in source.records if line > after)
    while batch := list(islice(records, size)):
        yield batch


def count_lines(path: Path) -> int:
    """Lines in a file, fast (for a progress bar's total)."""
    total = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            total += chunk.count(b"\n")
    return total


def preview(
    stream: IO[bytes],
    fmt: str,
    overrides: dict[str, str],
    *,
    region: str,
    saved: dict[str, str] | None = None,
    limit: int = 20,
    custom: dict[str, str] | None = None,
    check: Callable[[CleanRow], CleanRow | list[Problem]] | None = None,
    lenient: bool = False,
    warnings: list[tuple[int, Problem]] | None = None,
) -> tuple[dict[str, str], int, list[tuple[int, Problem]]]:
    """Validate a file without writing: its mapping, the count of good rows, the problems
    (``custom``: the person custom fields, ``check``: their values' check). A good row that a
    later one replaces (same email, external id or id: the import keeps the later) is not
    counted, and is listed as replaced, as the import reports it. The first warnings of rows
    that would go in all the same are added to ``warnings`` if given."""
    source = open_source(stream, fmt, typed=True)
    mapping = resolve_mapping(source.columns, fmt, saved or {}, overrides, custom)
    good, problems = 0, list[tuple[int, Problem]]()
    owner: dict[tuple[str, str], int] = {}  # a key → the line of the good row holding it
    replaced: set[int] = set()
    for line, raw in source.records:
        outcome = clean_one(line, raw, mapping, region, lenient=lenient)
        if check is not None and isinstance(outcome, CleanRow):
            outcome = check(outcome)
        if isinstance(outcome, CleanRow):
            keys = row_keys(outcome)
            earlier = {owner[k]: k[0] for k in keys if k in owner and owner[k] not in replaced}
            for old, what in earlier.items():
                good -= 1
                replaced.add(old)
                if len(problems) < limit:
                    problems.append((old, superseded(line, what)))
            owner.update(dict.fromkeys(keys, line))
            good += 1
            if outcome.warnings and warnings is not None and len(warnings) < limit:
                warnings += [(line, p) for p in outcome.warnings]
        elif len(problems) < limit:
            problems += [(line, p) for p in outcome]
    problems.sort(key=lambda found: found[0])
    return mapping, good, problems


def dry_run(
    workspace_id: uuid.UUID,
    target: Target,
    path: Path,
    fmt: str,
    explicit: dict[str, str],
    saved: dict[str, str],
    *,
    limit: int = 20,
) -> tuple[dict[str, str], int, list[tuple[int, Problem]]]:
    """Validate a file against the workspace without keeping anything: each batch is written
    in a savepoint that is rolled back. Its mapping, the count of good records, the problems."""
    good, problems = 0, list[tuple[int, Problem]]()
    with transaction(workspace_id) as session, path.open("rb") as handle:
        ctx = system_context(session, workspace_id)
        opened = open_file(target, handle, fmt)
        mapping = target.resolve_mapping(ctx, opened.columns, fmt, saved, explicit)
        region = importing.phone_region(ctx)
        for batch in _batches(opened, target.batch):
            savepoint = session.begin_nested()
            written = target.write(ctx, mapping, target.clean(batch, mapping, region))
            savepoint.rollback()
            good += len(batch) - len(written.rejects)
            for line, found in written.rejects:
                problems += [(line, p) for p in found][: max(limit - len(problems), 0)]
        session.rollback()
    return mapping, good, problems


def saved_fields(workspace_id: uuid.UUID, name: str | None) -> dict[str, str]:
    """The fields of a saved mapping by name (empty for none)."""
    if not name:
        return {}
    with transaction(workspace_id) as session:
        return dict(mappings.by_name(system_context(session, workspace_id), name).fields)


def _plan(
    ctx: Context,
    target: Target,
    columns: list[str],
    fmt: str,
    explicit: dict[str, str],
    mapping_name: str | None,
    save_as: str | None,
) -> dict[str, str]:
    """The mapping of a file, after a saved mapping and overrides; saved as ``save_as``."""
    saved = dict(mappings.by_name(ctx, mapping_name).fields) if mapping_name else {}
    mapping = target.resolve_mapping(ctx, columns, fmt, saved, explicit)
    if save_as:
        dropped = {c: "ignore" for c in columns if c not in mapping}
        mappings.save(ctx, save_as, {**dropped, **mapping})
    return mapping


def start_file(
    workspace_id: uuid.UUID,
    path: Path,
    fmt: str,
    overrides: dict[str, str],
    *,
    mapping_name: str | None = None,
    save_as: str | None = None,
    object: str = "person",
    lenient: bool = False,
) -> uuid.UUID:
    """Create the import job of a local file of ``object`` records (its own transaction) and
    return its id (``lenient``: see :func:`importing.create_job`)."""
    target = importing.target_for(object)
    with path.open("rb") as handle:
        columns = open_file(target, handle, fmt).columns
    with transaction(workspace_id) as session:
        ctx = system_context(session, workspace_id)
        mapping = _plan(ctx, target, columns, fmt, overrides, mapping_name, save_as)
        job = importing.create_job(
            ctx, filename=path.name, fmt=fmt, mapping=mapping, path=str(path.resolve()),
            object=target.object, lenient=lenient,
        )  # fmt: skip
        job.total_rows = count_records(path, fmt)
        return job.id


def count_records(path: Path, fmt: str) -> int:
    """Records in a file for a progress total (lines; less the header for CSV)."""
    return max(count_lines(path) - (1 if fmt == "csv" else 0), 0)


def upload_dir() -> Path:
    """Where uploaded files wait for their background import (``RAPPORT_IMPORT_DIR``)."""
    default = Path(tempfile.gettempdir()) / "rapport-imports"
    path = Path(get_settings().import_dir or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_upload(
    ctx: Context,
    *,
    filename: str,
    stream: IO[bytes],
    fmt: str | None,
    pairs: list[str],
    fields: dict[str, str] | None = None,
    mapping_name: str | None = None,
    save_as: str | None = None,
    object: str = "person",
    lenient: bool = False,
) -> ImportJob:
    """Keep an uploaded file of ``object`` records and queue its import (in the caller's unit
    of work); the job itself runs in the background (:func:`run_import_job`). Bad files and
    mappings are refused here, before anything is queued."""
    target = importing.target_for(object)
    ctx.require("hygiene:import")
    ctx.require(target.permission)
    fmt = upload_format(fmt, filename, target.formats)
    explicit = (fields or {}) | parse_overrides(pairs)
    path = upload_dir() / f"{uuid.uuid4().hex}.{fmt}"
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    try:
        with path.open("rb") as handle:
            columns = open_file(target, handle, fmt).columns
        mapping = _plan(ctx, target, columns, fmt, explicit, mapping_name, save_as)
        job = importing.create_job(
            ctx, filename=filename, fmt=fmt, mapping=mapping, path=str(path), status="queued",
            object=target.object, lenient=lenient,
        )  # fmt: skip
    except Exception:
        path.unlink(missing_ok=True)
        raise
    job.total_rows = count_records(path, fmt)
    return job


def run_import_job(job_id: uuid.UUID) -> None:
    """The background job body: run (or resume) an import to its end, then drop the
    uploaded copy. A failure is recorded on the job (status ``failed``, ``error``)."""
    with transaction(unscoped=True) as session:
        found = session.execute(
            select(ImportJob.workspace_id, ImportJob.path, ImportJob.object).where(
                ImportJob.id == job_id
            )
        ).first()
    if found is None:
        return
    workspace_id, path, kind = found
    try:
        small = path is not None and Path(path).stat().st_size < INLINE_BYTES
        run_file(
            workspace_id,
            job_id,
            batch_size=min(BACKGROUND_BATCH, importing.target_for(kind).batch),
            progress=lambda _line: None,
            # The server's threads make a plain fork unsafe; a small file is validated
            # here rather than wait seconds for a fork server to start.
            start="inline" if small else "forkserver",
        )
    except Exception as exc:
        if as_unavailable(exc) is not None:
            # Busy (another writer held SQLite's lock past the timeout) or away: the batches
            # committed so far stay, and the job queue retries it from the next line.
            log.warning("import %s paused, to be retried: %s", job_id, exc)
            raise
        log.exception("import %s failed", job_id)
        return
    if path and Path(path).parent == upload_dir():
        Path(path).unlink(missing_ok=True)


def run_file(
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    *,
    batch_size: int | None = None,
    progress: Progress = lambda _line: None,
    start: str = "fork",
) -> ImportJob:
    """Load (or resume) a job's file, committing each batch (``batch_size`` records, by
    default the target's) with the job's progress. For people, a worker process reads and
    validates the next batches while this one writes (two cores busy). ``start`` is how the
    worker starts: ``fork`` from a single-threaded process (the CLI), ``forkserver`` from a
    threaded one (a server: forking it could copy a held lock)."""
    with transaction(workspace_id) as session:
        job = importing.get_job(system_context(session, workspace_id), job_id)
        if job.path is None or job.status == "done":
            raise BadRequest(
                f"the import of {job.filename} is {job.status} and has no file to resume"
            )
        job.status, job.error = "running", None
        path, fmt, after, mapping = Path(job.path), job.format, job.last_line, dict(job.mapping)
        target = importing.target_for(job.object)
        region, lenient = importing.phone_region(system_context(session, workspace_id)), job.lenient
    people = target.object == "person"
    if people and get_database().dialect == "sqlite":
        analyze_people()  # cheap there, and the batches' lookups by id need it
    size = batch_size or target.batch
    # Only people's cleaning is pure and heavy enough to pay for a worker process.
    work = _Work(target.object, path, fmt, mapping, region, size, after, lenient)
    batches = _cleaned(work, start if people else "inline")
    try:
        with _young_collections_only():
            _load(workspace_id, job_id, batches, size, progress)
    except Exception as exc:
        batches.close()  # stop the worker now: a traceback would keep it waiting to send
        if as_unavailable(exc) is not None:
            raise  # the database was busy or away: the job stays resumable, to be retried
        with transaction(workspace_id) as session:
            _untune(session)
            ctx = system_context(session, workspace_id)
            importing.finish(ctx, importing.get_job(ctx, job_id), error=str(exc))
        raise
    with transaction(workspace_id) as session:
        _untune(session)
        ctx = system_context(session, workspace_id)
        job = importing.get_job(ctx, job_id)
        importing.finish(ctx, job)
        target.finish(ctx, job)
    if people and job.created >= ANALYZE_AFTER:
        analyze_people()
    return job


def _load(
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    batches: Iterator[Cleaned],
    batch_size: int,
    progress: Progress,
) -> None:
    """Write the cleaned batches, one transaction each (with the job's progress)."""
    # The first analysis comes once a table has grown from nothing, even when rejects leave
    # the first batch short of the batch size: PostgreSQL planned the next batch's email
    # lookups as full scans without it (one batch took ten seconds).
    next_analyze = min(batch_size, ANALYZE_AFTER)
    for last_line, count, outcomes in batches:
        with transaction(workspace_id) as session:
            _tune(session)
            ctx = system_context(session, workspace_id)
            job = importing.get_job(ctx, job_id)
            target = importing.target_for(job.object)
            written = target.write(ctx, job.mapping, outcomes)
            importing.save_batch(ctx, job, written, last_line=last_line, count=count)
            created, people = job.created, target.object == "person"
        del outcomes, written
        if people and created >= next_analyze:
            # Without fresh statistics PostgreSQL scans whole tables for the next batch's
            # lookups (quadratic); analysing as the tables quadruple keeps plans right.
            analyze_people()
            next_analyze = created * 4
        progress(last_line)


_collection_pauses = 0
_pause_lock = threading.Lock()


@contextlib.contextmanager
def _young_collections_only() -> Iterator[None]:
    """Automatic garbage collection off while batches load: with a batch of 20,000 rows
    alive, the collector kept rescanning the whole heap (a fifth of the writer's time). The
    few reference cycles a batch leaves (its session's) wait for the end. Nested safely
    across threads."""
    global _collection_pauses
    with _pause_lock:
        _collection_pauses += 1
        gc.disable()
    try:
        yield
    finally:
        with _pause_lock:
            _collection_pauses -= 1
            if _collection_pauses == 0:
                gc.enable()


Cleaned = tuple[int, int, Any]  # last line, records, what the target's clean() made of them


@dataclass(frozen=True)
class _Work:
    """What the validating worker needs to clean a file (sent to it: plain values)."""

    object: str
    path: Path
    fmt: str
    mapping: dict[str, str]
    region: str
    size: int
    after: int
    lenient: bool = False


def _cleaned(work: _Work, start: str) -> Generator[Cleaned, None, None]:
    """The file's batches after line ``after``, validated in a worker process while this one
    writes, when the platform can fork (else here). A pipe joins them: the worker is never
    more than a batch ahead (flat memory), and dies of a broken pipe when this process does,
    even by kill -9."""
    if start not in multiprocessing.get_all_start_methods():
        yield from _clean_file(work)
        return
    context: Any = multiprocessing.get_context(start)  # fork, forkserver or spawn
    if start == "forkserver":
        context.set_forkserver_preload([__name__])  # workers start without importing again
    reader, writer = context.Pipe(duplex=False)
    worker = context.Process(target=_produce, args=(reader, writer, work))
    worker.start()
    writer.close()
    try:
        while True:
            try:  # (the caller has paused the collector: unpickling makes only survivors)
                item = reader.recv()
            except EOFError:
                raise RuntimeError("the validating worker process died") from None
            if item is None:
                break
            if isinstance(item, str):
                raise BadRequest(item)
            yield item
    finally:
        reader.close()
        worker.join(timeout=5)
        if worker.is_alive():
            worker.kill()
            worker.join()


def _clean_file(work: _Work) -> Iterator[Cleaned]:
    target = importing.target_for(work.object)
    with work.path.open("rb") as handle:
        for batch in _batches(open_file(target, handle, work.fmt), work.size, work.after):
            cleaned = target.clean(batch, work.mapping, work.region, lenient=work.lenient)
            yield batch[-1][0], len(batch), cleaned


def _produce(reader: Connection, writer: Connection, work: _Work) -> None:
    """The worker: validate batches and send them; stop when the reader has gone. Its rows
    make no reference cycles, so the collector's scans would find nothing: it is off."""
    reader.close()
    gc.disable()
    try:
        try:
            for item in _clean_file(work):
                writer.send(item)
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as exc:  # reported by the parent, which marks the job failed
            writer.send(str(exc) or type(exc).__name__)
            return
        writer.send(None)
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        writer.close()


def _tune(session: Session) -> None:
    """A big page cache for this bulk connection (SQLite): a large workspace's indexes do not
    fit in the default 2 MB, and every miss is a read (given back by :func:`_untune`)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")


def _untune(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA cache_size=-2000")
        session.connection().exec_driver_sql("PRAGMA shrink_memory")


def analyze_people(session: Session | None = None) -> None:
    """Fresh planner statistics for the tables an import reads and writes (in ``session``, or
    a transaction of its own). PostgreSQL's autovacuum may lag or be off; SQLite has none
    until asked, and without them it reads "these 900 ids" through a workspace index, every
    row of the workspace, instead of the primary key. SQLite samples (milliseconds at 1M)."""
    if session is None:
        with transaction(unscoped=True) as own:
            analyze_people(own)
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
    for table in ANALYZED:
        connection.exec_driver_sql(f"ANALYZE {table}")
