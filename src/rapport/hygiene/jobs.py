"""Hygiene's background work: running an uploaded import to its end, and the daily staleness
check of every workspace."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from rapport.accounts.models import Workspace
from rapport.core import jobs
from rapport.core.context import system_context
from rapport.core.db import transaction
from rapport.hygiene.service import runner, staleness


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
