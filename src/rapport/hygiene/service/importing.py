"""The import pipeline's book of jobs, shared by every target (people, companies, deals,
activities, …): a job per file, its progress and counts, its rejects by line, and one summary
event per committed batch.

What a batch does to the records is the target's (``rapport.core.imports.Target``); the
people and companies targets live beside this module, the others in their own domains, found
through the domain registry. The runner (:mod:`runner`) drives the batches.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert, select

from rapport.core import csv_cells, imports
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import get_database, get_scoped, table_of
from rapport.core.errors import NotFound
from rapport.core.events import record
from rapport.core.ids import new_id
from rapport.core.imports import Problem, Target, Written
from rapport.hygiene.events import IMPORT_BATCH, IMPORT_DONE, IMPORT_FAILED, IMPORT_STARTED
from rapport.hygiene.models import ImportJob, ImportReject
from rapport.hygiene.service.cleaning import phone_region
from rapport.hygiene.service.import_companies import COMPANIES
from rapport.hygiene.service.import_people import PEOPLE

OWN_TARGETS: dict[str, Target] = {"person": PEOPLE, "company": COMPANIES}


def target_for(name: str) -> Target:
    """The target of a job's ``object`` (``person``, ``companies``, ``deals``, …): hygiene's
    own, or one a domain registered."""
    own = OWN_TARGETS.get({"people": "person", "companies": "company"}.get(name, name))
    return own if own is not None else imports.target(name)


def create_job(
    ctx: Context,
    *,
    filename: str,
    fmt: str,
    mapping: dict[str, str],
    path: str | None = None,
    status: str = "running",
    object: str = "person",
    lenient: bool = False,
) -> ImportJob:
    """A new import job (``running``, or ``queued`` for the background) of ``object`` records
    for a file whose columns map as ``mapping`` (``lenient``: values that fail their check
    are left out with a warning instead of refusing their record)."""
    target = target_for(object)
    ctx.require("hygiene:import")
    ctx.require(target.permission)
    job = ImportJob(
        workspace_id=ctx.workspace_id,
        filename=filename[:500],
        path=path,
        format=fmt,
        object=target.object,
        status=status,
        mapping=mapping,
        actor_id=ctx.user_id,
        lenient=lenient,
    )
    ctx.session.add(job)
    ctx.session.flush()
    payload: dict[str, Any] = {"filename": filename, "format": fmt}
    if target.object != "person":
        payload["object"] = target.object
    record(ctx, IMPORT_STARTED, job.id, payload=payload)
    return job


def get_job(ctx: Context, job_id: uuid.UUID) -> ImportJob:
    """One import job of the workspace; NotFound otherwise."""
    ctx.require("hygiene:read")
    job = get_scoped(ctx.session, ImportJob, job_id)
    if job is None:
        raise NotFound("No import with this id")
    return job


def list_jobs(ctx: Context, *, limit: int = 50) -> list[ImportJob]:
    """The workspace's latest imports, newest first (the imports page's history)."""
    ctx.require("hygiene:read")
    stmt = select(ImportJob).order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
    return list(ctx.session.scalars(stmt.limit(limit)))


def finish(ctx: Context, job: ImportJob, *, error: str | None = None) -> None:
    """Mark a job done (or failed with ``error``) and announce it."""
    job.status = "failed" if error else "done"
    job.error = error
    job.finished_at = utcnow()
    counts = {k: getattr(job, k) for k in ("created", "updated", "unchanged", "rejected")}
    record(ctx, IMPORT_FAILED if error else IMPORT_DONE, job.id, payload=counts)


def load_batch(ctx: Context, job: ImportJob, records: list[imports.Record]) -> None:
    """Clean, write and book one batch of a job's records in the caller's transaction."""
    if not records:
        return
    target = target_for(job.object)
    cleaned = target.clean(records, job.mapping, phone_region(ctx), lenient=job.lenient)
    written = target.write(ctx, job.mapping, cleaned)
    save_batch(ctx, job, written, last_line=records[-1][0], count=len(records))


def save_batch(
    ctx: Context, job: ImportJob, written: Written, *, last_line: int, count: int
) -> None:
    """Book one written batch (``count`` source records up to ``last_line``) on its job: the
    counts, the rejects, the progress and — when it created or changed anything — one summary
    audit entry and ``import.batch`` event naming those records (per-row entries would cost
    more than the rows; the services audit updates field by field)."""
    save_rejects(ctx, job, written.rejects)
    save_rejects(ctx, job, written.warnings, level="warning")
    job.warned += len(written.warnings)
    job.created += len(written.created)
    job.updated += len(written.updated)
    job.unchanged += written.unchanged
    job.rejected += len(written.rejects)
    job.rows_done += count
    job.last_line = last_line
    job.updated_at = utcnow()
    if written.created or written.updated:
        payload: dict[str, Any] = {"last_line": last_line}
        if job.object != "person":  # consumers of people (scoring) read the ids as people's
            payload["object"] = job.object
        record(
            ctx,
            IMPORT_BATCH,
            job.id,
            {"created": (None, len(written.created)), "updated": (None, len(written.updated))},
            payload=payload | {"created_ids": written.created, "updated_ids": written.updated},
        )


def save_rejects(
    ctx: Context, job: ImportJob, rejects: list[tuple[int, list[Problem]]], *, level: str = "error"
) -> None:
    """The refused records of a batch (or, ``level="warning"``, the problems of records that
    went in all the same), one row per problem, in line order."""
    rows = [
        {"id": new_id(), "workspace_id": ctx.workspace_id, "import_id": job.id, "line": line,
         "column": p.column[:200], "value": p.value, "reason": p.reason, "level": level}
        for line, problems in sorted(rejects, key=lambda r: r[0])
        for p in problems
    ]  # fmt: skip
    if rows:
        ctx.session.execute(insert(table_of(ImportReject)), rows)


def rejects_csv(ctx: Context, job_id: uuid.UUID) -> Iterator[str]:
    """The rejects of an import as CSV text (line, column, value, reason): checked now,
    streamed later through its own session (a response outlives the request's)."""
    return _reject_lines(ctx.workspace_id, get_job(ctx, job_id).id)


def warnings_csv(ctx: Context, job_id: uuid.UUID) -> Iterator[str]:
    """The warnings of an import — records that went in with a value left out or doubted —
    as CSV text in the rejects' columns (line, column, value, reason)."""
    return _reject_lines(ctx.workspace_id, get_job(ctx, job_id).id, level="warning")


def _reject_lines(
    workspace_id: uuid.UUID, job_id: uuid.UUID, level: str = "error"
) -> Iterator[str]:
    out = io.StringIO()
    writer = csv_cells.writer(out)
    writer.writerow(["line", "column", "value", "reason"])
    yield _drain(out)
    stmt = (
        select(ImportReject.line, ImportReject.column, ImportReject.value, ImportReject.reason)
        .where(ImportReject.import_id == job_id, ImportReject.level == level)
        .order_by(ImportReject.line, ImportReject.id)
    )
    with get_database().session(workspace_id) as session:
        for row in session.execute(stmt.execution_options(yield_per=2000)):
            writer.writerow(row)
            yield _drain(out)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
