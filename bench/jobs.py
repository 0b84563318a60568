"""Benchmark of background work: outbox events delivered to a consumer that writes, through
the relay and a Dramatiq broker, with worker threads in this process.

    uv run python -m bench.jobs --database sqlite --broker embedded --events 5000
    uv run python -m bench.jobs --database postgresql --broker redis --events 20000
    uv run python -m bench.jobs --database postgresql --broker rabbitmq --events 20000

Prints throughput (events committed in bulk, until every delivery is done) and the latency of
one event from its commit to its consumer's committed write (p50/p95 over --probes events).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from typing import TypedDict

from sqlalchemy import func, select

from bench.common import database_url
from rapport.accounts import service as accounts
from rapport.core import jobs, migrations
from rapport.core.config import get_settings
from rapport.core.context import Context, system_context
from rapport.core.db import Database, set_database, transaction
from rapport.core.events import record, record_many
from rapport.core.jobs import runtime as jobs_runtime
from rapport.core.jobs.models import DONE, OutboxDelivery
from rapport.core.topics import Topic

BROKERS = {
    "embedded": None,
    "redis": "redis://127.0.0.1:6379/0",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F",
}
DONE_AT: dict[str, float] = {}


class Ping(TypedDict, total=False):
    n: int
    probe: str  # a latency probe: the consumer notes when it ran


class Pong(TypedDict):
    of: str


PING = Topic("bench.ping", Ping, "The jobs benchmark's event.")
PONG = Topic("bench.pong", Pong, "What the benchmark's consumer writes back.")
SEEN = threading.Event()


@jobs.on_event(PING, name="bench.audit_writer")
def write_back(ctx: Context, event: jobs.Event) -> None:
    """A consumer with a real write: one audit row + one outbox event of its own."""
    record(ctx, PONG, None, payload={"of": str(event.id)})
    key = event.payload.get("probe")
    if key:
        DONE_AT[key] = time.perf_counter()


def done_count(workspace_id: uuid.UUID) -> int:
    with transaction(workspace_id) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxDelivery)
                .where(OutboxDelivery.status == DONE)
            )
            or 0
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--broker", default="embedded", choices=sorted(BROKERS))
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    url = database_url(args.database, "rapport_bench_jobs", fresh=True)
    database = Database(url)
    migrations.upgrade(database.engine)
    set_database(database)
    with transaction(unscoped=True) as session:
        workspace_id = accounts.create_workspace(session, "Bench jobs").id

    prefix = f"rapport-bench-{uuid.uuid4().hex[:8]}"
    broker = jobs_runtime.make_broker(BROKERS[args.broker], prefix=prefix)
    runtime = jobs_runtime.Runtime(broker, prefix=prefix)
    jobs_runtime.set_runtime(runtime)

    with transaction(workspace_id) as session:
        ctx = system_context(session, workspace_id)
        for start in range(0, args.events, 1000):
            count = min(1000, args.events - start)
            record_many(ctx, PING, [(None, None, {"n": start + i}) for i in range(count)])
    began = time.perf_counter()
    runtime.start(threads=args.threads)
    while done_count(workspace_id) < args.events:
        time.sleep(0.2)
    took = time.perf_counter() - began

    latencies = []
    for i in range(args.probes):
        key = f"probe-{i}"
        with transaction(workspace_id) as session:
            record(
                system_context(session, workspace_id),
                PING,
                None,
                {},
                payload={"probe": key},
            )
        committed = time.perf_counter()
        while key not in DONE_AT:
            time.sleep(0.002)
        latencies.append((DONE_AT[key] - committed) * 1000)
    runtime.stop(close=False)
    broker.flush_all()
    broker.close()

    latencies.sort()
    print(f"jobs on {args.database} via {args.broker}, {args.threads} worker threads")
    print(f"  backlog of {args.events:,} events: {took:.1f} s, {args.events / took:,.0f} events/s")
    print(
        f"  commit -> consumer ran: p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:.0f} ms "
        f"(relay polls every {get_settings().job_poll_seconds} s)"
    )


if __name__ == "__main__":
    main()
