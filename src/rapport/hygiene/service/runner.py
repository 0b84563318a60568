"""Driving an import from a file, one committed batch at a time (CLI, jobs), or inside one
request's unit of work (API). Killed half-way, an import is resumed after its last committed
line (``resume``) or simply rerun: the upsert is idempotent."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO

from sqlalchemy import text

from rapport.core.context import Context, system_context
from rapport.core.db import get_database, transaction
from rapport.core.errors import BadRequest
from rapport.hygiene.models import ImportJob
from rapport.hygiene.service import importing
from rapport.hygiene.service.cleaning import CleanRow, Problem, clean_record
from rapport.hygiene.service.sources import (
    Source,
    auto_mapping,
    guess_format,
    open_source,
    parse_overrides,
)

Progress = Callable[[int], None]  # called with the last line done
ANALYZE_AFTER = 10_000


def _batches(source: Source, size: int, after: int = 0) -> Iterator[list[importing.Record]]:
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
    stream: IO[bytes], fmt: str, overrides: dict[str, str], *, region: str, limit: int = 20
) -> tuple[dict[str, str], int, list[tuple[int, Problem]]]:
    """Validate a file without writing: its mapping, the count of good rows, the problems."""
    source = open_source(stream, fmt)
    mapping = auto_mapping(source.columns, overrides) if fmt != "vcf" else {}
    mapping = mapping or {f: f for f in source.columns}
    good, problems = 0, list[tuple[int, Problem]]()
    for line, raw in source.records:
        outcome = clean_record(line, raw, mapping, region=region)
        if isinstance(outcome, CleanRow):
            good += 1
        elif len(problems) < limit:
            problems += [(line, p) for p in outcome]
    return mapping, good, problems


def start_file(
    workspace_id: uuid.UUID, path: Path, fmt: str, overrides: dict[str, str]
) -> uuid.UUID:
    """Create the import job of a file (its own transaction) and return its id."""
    with path.open("rb") as handle:
        source = open_source(handle, fmt)
        mapping = auto_mapping(source.columns, overrides) if fmt == "csv" else {}
    mapping = mapping or {f: f for f in source.columns}
    if not set(mapping.values()) & {"email", "first_name", "last_name", "full_name"}:
        raise BadRequest("no column maps to a name or an email; use --map column=field")
    with transaction(workspace_id) as session:
        ctx = system_context(session, workspace_id)
        job = importing.create_job(
            ctx, filename=path.name, fmt=fmt, mapping=mapping, path=str(path.resolve())
        )
        return job.id


def run_file(
    workspace_id: uuid.UUID, job_id: uuid.UUID, *, batch_size: int, progress: Progress
) -> ImportJob:
    """Load (or resume) a job's file, committing each batch with the job's progress."""
    with transaction(workspace_id) as session:
        job = importing.get_job(system_context(session, workspace_id), job_id)
        if job.path is None or job.status == "done":
            raise BadRequest(f"import {job_id} is {job.status} and has no file to resume")
        path, fmt, after = Path(job.path), job.format, job.last_line
    try:
        with path.open("rb") as handle:
            for batch in _batches(open_source(handle, fmt), batch_size, after):
                with transaction(workspace_id) as session:
                    ctx = system_context(session, workspace_id)
                    importing.load_batch(ctx, importing.get_job(ctx, job_id), batch)
                progress(batch[-1][0])
    except Exception as exc:
        with transaction(workspace_id) as session:
            ctx = system_context(session, workspace_id)
            importing.finish(ctx, importing.get_job(ctx, job_id), error=str(exc))
        raise
    with transaction(workspace_id) as session:
        ctx = system_context(session, workspace_id)
        job = importing.get_job(ctx, job_id)
        importing.finish(ctx, job)
    if job.created >= ANALYZE_AFTER:
        analyze_people()
    return job


def analyze_people() -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL; autovacuum may lag or be off)."""
    database = get_database()
    if database.dialect != "postgresql":
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("people", "person_emails", "person_phones", "search_documents"):
            conn.execute(text(f"ANALYZE {table}"))


def run_upload(
    ctx: Context, *, filename: str, data: bytes, fmt: str | None, pairs: list[str]
) -> ImportJob:
    """Import an uploaded file inside the caller's unit of work (the API's request): all of
    it commits with the request, or none of it."""
    ctx.require("hygiene:import")
    fmt = fmt or guess_format(filename)
    overrides = parse_overrides(pairs)
    source = open_source(io.BytesIO(data), fmt)
    mapping = auto_mapping(source.columns, overrides) if fmt == "csv" else {}
    mapping = mapping or {f: f for f in source.columns}
    if not set(mapping.values()) & {"email", "first_name", "last_name", "full_name"}:
        raise BadRequest("no column maps to a name or an email; send map=column=field")
    job = importing.create_job(ctx, filename=filename, fmt=fmt, mapping=mapping)
    for batch in _batches(source, importing.BATCH):
        importing.load_batch(ctx, job, batch)
    importing.finish(ctx, job)
    return job
