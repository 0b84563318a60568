"""``rapport worker`` and ``rapport jobs …``: run and inspect background work from a shell."""

from __future__ import annotations

import importlib
import signal
import threading
import uuid
from types import FrameType

import typer
from rich.table import Table

from rapport.core import jobs, migrations
from rapport.core.cli_output import JSON_OPTION, emit_json, fail, note, out
from rapport.core.config import get_settings
from rapport.core.db import get_database, transaction
from rapport.core.jobs import runtime as jobs_runtime
from rapport.core.jobs import status as jobs_status
from rapport.core.logging import configure_logging

jobs_app = typer.Typer(help="Inspect and drive background jobs.", no_args_is_help=True)


def _table(*columns: str) -> Table:
    """A table that folds long cells instead of cutting them (ids, errors)."""
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def worker(
    threads: int = typer.Option(0, "--threads", help="Worker threads (default: settings)"),
    imports: list[str] = typer.Option(
        [], "--import", help="Also import this module (extra handlers); repeatable"
    ),
    relay: bool = typer.Option(True, "--relay/--no-relay", help="Run the outbox relay"),
    schedule: bool = typer.Option(True, "--schedule/--no-schedule", help="Run the scheduler"),
) -> None:
    """Run background jobs, outbox consumers and periodic tasks from RAPPORT_BROKER_URL
    (redis://… or amqp://…). Start as many as you like, on as many machines."""
    configure_logging()  # Dramatiq's and the jobs' lines join the one log stream
    problem = migrations.schema_problem(get_database().engine)
    if problem:
        fail(problem)
    for module in imports:
        importlib.import_module(module)
    settings = get_settings()
    if not settings.broker_url:
        note(
            "[yellow]RAPPORT_BROKER_URL is not set:[/yellow] this worker relays the outbox and "
            "runs the schedule with its own in-process queue; jobs sent by `rapport serve` "
            "need a broker to reach it"
        )
    try:
        runtime = jobs_runtime.get_runtime()
    except ValueError as exc:
        fail(str(exc))
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    runtime.start(relay=relay, schedule=schedule, threads=threads)
    broker = settings.broker_url.split("@")[-1] if settings.broker_url else "in-process"
    note(
        f"[green]✓[/green] worker on {broker} (queues {runtime.jobs_queue}, "
        f"{runtime.events_queue}): {len(jobs.JOBS)} jobs, {len(jobs.CONSUMERS)} consumers, "
        f"{len(jobs.PERIODIC)} periodic tasks"
    )
    stop.wait()
    note("stopping…")
    jobs_runtime.stop_runtime()


@jobs_app.command("status")
def status(
    limit: int = typer.Option(20, "--limit", help="Most failures shown"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Pending events, deliveries by state, the failing ones and the schedule (all workspaces)."""
    with transaction(unscoped=True) as session:
        state = jobs_status.status(session, limit=limit)
    if as_json:  # counts at the cap mean "at least": capped_at says where that is
        emit_json(state)
        return
    cap = state.capped_at

    def shown(n: int) -> str:
        return f"{n:,}+" if n >= cap else f"{n:,}"

    out.print(f"pending events: {shown(state.pending_events)}")
    out.print("deliveries: " + ", ".join(f"{k} {shown(v)}" for k, v in state.deliveries.items()))
    for p in state.problems:  # whole lines, never cut to the terminal's width
        out.print(
            f"[red]{p.status}[/red] {p.id} {p.consumer} on {p.topic} "
            f"(event {p.event_id}), {p.attempts} attempts: {p.last_error or ''}",
            soft_wrap=True,
        )
    if state.schedules:
        table = _table("periodic task", "every (s)", "last run", "next run", "runs")
        for s in state.schedules:
            table.add_row(
                s.name,
                f"{s.interval_seconds:g}",
                str(s.last_run_at or "—"),
                str(s.next_run_at or "—"),
                str(s.runs),
            )
        out.print(table)


@jobs_app.command("retry")
def retry(
    delivery: list[str] = typer.Argument(None, help="Delivery ids (default: every failed/dead)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Give failed and dead deliveries a fresh set of attempts."""
    try:
        ids = [uuid.UUID(d) for d in delivery] if delivery else None
    except ValueError:
        fail("delivery ids are UUIDs (see `rapport jobs status`)")
    with transaction(unscoped=True) as session:
        chosen = jobs_status.retry(session, ids)
    if get_settings().broker_url:
        runtime = jobs_runtime.get_runtime()
        for delivery_id in chosen:
            runtime.send_delivery(delivery_id)
    if as_json:
        emit_json({"retried": chosen})
    else:
        out.print(f"[green]✓[/green] {len(chosen)} deliveries back in line")


@jobs_app.command("run-due")
def run_due(
    names: list[str] = typer.Argument(None, help="Periodic tasks (default: all)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run periodic tasks once, now, in this process."""
    jobs.load_job_modules()
    unknown = set(names or []) - set(jobs.PERIODIC)
    if unknown:
        fail(f"no periodic task named {', '.join(sorted(unknown))}")
    ran = jobs.run_now(names or None)
    if as_json:
        emit_json({"ran": ran})
        return
    out.print(f"[green]✓[/green] ran {', '.join(ran) or 'nothing'}")
