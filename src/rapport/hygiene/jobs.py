"""Hygiene's background work: running an uploaded import to its end, the daily staleness
check of every workspace, and the quality report of a large workspace."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from rapport.accounts.models import Workspace
from rapport.core import jobs
from rapport.core.clock import utcnow
from rapport.core.context import system_context
from rapport.core.db import get_database, transaction, unit_of_work
from rapport.hygiene.service import quality, runner, staleness


@jobs.job("hygiene.run_import")
def run_import(job_id: str) -> None:
    """Run (or resume) one import job; progress and failure are recorded on the job."""
    runner.run_import_job(uuid.UUID(job_id))


@jobs.every(hours=24, name="hygiene.staleness")
def flag_stale_people() -> None:
    """Flag inactive people and bounced emails in each workspace (one transaction each)."""
    with transaction(unscoped=True) as session:
        workspaces = list(session.scalars(select(Workspace.id)))
    for workspace_id in workspaces:
        with transaction(workspace_id) as session:
            staleness.flag_stale(system_context(session, workspace_id))


@jobs.job(quality.SNAPSHOT_JOB)
def quality_snapshot(workspace_id: str) -> None:
    """Count a large workspace's quality report and keep it: the count (a second at a million
    people) runs in a read-only transaction, the write is a short one of its own."""
    ws = uuid.UUID(workspace_id)
    with unit_of_work(get_database().session(ws)) as session:
        ctx = system_context(session, ws)
        if quality.is_fresh(ctx):
            return
        started = utcnow()
        counted = quality.report(ctx)
    with transaction(ws) as session:
        quality.keep(system_context(session, ws), counted, started)
