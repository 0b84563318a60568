"""Background work: jobs, outbox consumers and periodic tasks (see :mod:`.work`).

Call sites keep ``from rapport.core import jobs; jobs.enqueue(...)``: the public names of
:mod:`.work` are re-exported here. Importing the package also imports :mod:`.runtime`, which
hands :mod:`.work` the function that sends a committed job to the broker; :mod:`.work` itself
never imports the transport, so the two files form no cycle.
"""

from __future__ import annotations

from rapport.core.jobs import runtime as runtime
from rapport.core.jobs.work import (
    BATCH_SECONDS,
    CONSUMERS,
    JOBS,
    PERIODIC,
    Consumer,
    Context,
    Event,
    Handler,
    Job,
    JobFailed,
    Message,
    Periodic,
    Ran,
    claim_due,
    claim_events,
    consumers_for,
    deliver,
    deliver_batch,
    drain,
    enqueue,
    every,
    has_pending_events,
    job,
    load_job_modules,
    on_event,
    relay_once,
    resend_stale,
    run_due,
    run_job,
    run_now,
    settle_seeded,
)

__all__ = [
    "BATCH_SECONDS",
    "CONSUMERS",
    "JOBS",
    "PERIODIC",
    "Consumer",
    "Context",
    "Event",
    "Handler",
    "Job",
    "JobFailed",
    "Message",
    "Periodic",
    "Ran",
    "claim_due",
    "claim_events",
    "consumers_for",
    "deliver",
    "deliver_batch",
    "drain",
    "enqueue",
    "every",
    "has_pending_events",
    "job",
    "load_job_modules",
    "on_event",
    "relay_once",
    "resend_stale",
    "run_due",
    "run_job",
    "run_now",
    "runtime",
    "settle_seeded",
]
