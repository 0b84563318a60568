"""Running the jobs an API request queued, inside the test's transaction (``jobs.drain``)."""

from __future__ import annotations

from rapport.core import jobs
from rapport.core.db import get_database


def drain_jobs() -> None:
    with get_database().session(unscoped=True) as session:
        jobs.drain(session)
