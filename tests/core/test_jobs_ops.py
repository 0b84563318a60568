"""Running and watching background work: ``rapport worker`` as a real process on Redis and
RabbitMQ, ``rapport serve``'s embedded runtime, relays side by side, ``GET /api/v1/jobs`` and
``rapport jobs status|retry|run-due``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from rapport.app import create_app
from rapport.cli import app as cli
from rapport.core import jobs
from rapport.core.config import get_settings
from rapport.core.context import Context, system_context
from rapport.core.db import Database, transaction
from rapport.core.events import OutboxEvent
from rapport.core.jobs import runtime as jobs_runtime
from rapport.core.jobs.models import DONE, FAILED, QUEUED, OutboxDelivery
from tests.core.test_jobs import (
    RABBITMQ_URL,
    REDIS_URL,
    _cleanup_broker,
    _tags_of,
    new_key,
    ping,
    stamp,
    wait_for,
    workspace,
)

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["workspace"]  # a fixture, shared with test_jobs


# --- rapport worker, a real process ---------------------------------------------------------


@pytest.mark.parametrize("url", [REDIS_URL, RABBITMQ_URL], ids=["redis", "rabbitmq"])
def test_rapport_worker_consumes_what_the_app_sends(
    url: str, database_url: str, workspace: uuid.UUID, tmp_path: Path
) -> None:
    prefix = f"rapport-test-{new_key()}"
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": database_url,
        "RAPPORT_BROKER_URL": url,
        "RAPPORT_JOB_QUEUE_PREFIX": prefix,
    }
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "rapport.cli", "worker", "--import", "tests.core.test_jobs"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    # This process plays `rapport serve` with a broker: it only sends.
    sender = jobs_runtime.Runtime(jobs_runtime.make_broker(url, prefix=prefix), prefix=prefix)
    jobs_runtime.set_runtime(sender)
    try:
        by_event, by_job = new_key(), new_key()
        with transaction(workspace) as session:
            ping(system_context(session, workspace), by_event, then_job=True)
            jobs.enqueue(session, stamp, workspace_id=workspace, key=by_job)
        wanted = {f"tag-{by_event}", f"stamp-{by_event}", f"stamp-{by_job}"}
        wait_for(lambda: wanted <= _tags_of(workspace) or worker.poll() is not None, "the worker")
        assert worker.poll() is None, log.read_text()
        assert wanted <= _tags_of(workspace)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, log.read_text()
        assert "worker on" in log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        jobs_runtime.set_runtime(None)
        _cleanup_broker(sender)
        sender.broker.close()


# --- rapport serve: the embedded runtime ----------------------------------------------------


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    get_settings.cache_clear()


def test_serve_runs_the_worker_relay_and_scheduler_in_process_without_a_broker(
    database: Database, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.delenv("RAPPORT_BROKER_URL", raising=False)
    get_settings.cache_clear()
    with TestClient(create_app(check_schema=False)) as client:
        assert client.get("/healthz").status_code == 200
        runtime = jobs_runtime.get_runtime()
        assert runtime.worker is not None
        assert {t.name for t in runtime._threads} == {"rapport-relay", "rapport-scheduler"}
        assert all(t.is_alive() for t in runtime._threads)
    assert not any(t.is_alive() for t in runtime._threads)
    assert jobs_runtime._runtime is None


def test_serve_with_a_broker_only_sends(
    database: Database, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("RAPPORT_BROKER_URL", REDIS_URL)
    get_settings.cache_clear()
    with TestClient(create_app(check_schema=False)) as client:
        assert client.get("/healthz").status_code == 200
        assert jobs_runtime._runtime is None  # nothing consumes here: `rapport worker` does
    assert jobs_runtime.start_embedded() is None


# --- relays side by side --------------------------------------------------------------------


def test_a_relay_passes_over_events_another_relay_has_claimed(
    database: Database, workspace: uuid.UUID
) -> None:
    with transaction(workspace) as session:
        for _ in range(5):
            ping(system_context(session, workspace), new_key())
        mine = set(session.scalars(select(OutboxEvent.id)))
    holder = database.session(unscoped=True, writes=True)
    held = set(jobs.claim_events(holder, limit=2))
    sent: list[uuid.UUID] = []
    if database.dialect == "postgresql":
        # FOR UPDATE SKIP LOCKED: the second relay neither waits nor takes the held rows.
        jobs.relay_once(sent.append)
        holder.commit()
    else:  # SQLite has one writer: the second relay runs after the first committed
        holder.commit()
        jobs.relay_once(sent.append)
    holder.close()
    with transaction(workspace) as session:
        rows = session.scalars(select(OutboxDelivery).where(OutboxDelivery.event_id.in_(mine)))
        delivery_event = {row.id: row.event_id for row in rows}
    assert len(held) == 4 and held <= set(delivery_event)  # 2 events x 2 consumers
    mine_sent = {d for d in sent if d in delivery_event}
    assert not mine_sent & held
    assert mine_sent | held == set(delivery_event)
    assert len(delivery_event) == 10


# --- status, retry, run-due -----------------------------------------------------------------


@pytest.fixture
def failing(ada_ctx: Context) -> str:
    """A failed delivery in Acme: the tagger consumer fails on this ping."""
    key = new_key()
    ping(ada_ctx, key, fail=100)
    jobs.drain(ada_ctx.session, raise_errors=False)
    ada_ctx.session.flush()
    return key


def test_owners_and_admins_see_failing_consumers_with_their_last_error(
    failing: str,
    api_as,
    api,  # type: ignore[no-untyped-def]
) -> None:
    body = api.get("/api/v1/jobs").json()
    problem = next(p for p in body["problems"] if f"({failing})" in (p["last_error"] or ""))
    assert (problem["consumer"], problem["topic"], problem["status"]) == (
        "jobtest.tagger",
        "jobtest.ping",
        FAILED,
    )
    assert problem["attempts"] == 1
    assert body["deliveries"][FAILED] >= 1 and body["deliveries"][DONE] >= 1
    assert "jobtest.tick" in {s["name"] for s in body["schedules"]}
    assert api_as("ann").get("/api/v1/jobs").status_code == 200
    assert api_as("max").get("/api/v1/jobs").status_code == 403
    assert api_as("ben").get("/api/v1/jobs").status_code == 403
    other = api_as("dev").get("/api/v1/jobs").json()  # Globex's admin sees none of Acme's
    assert not any(failing in (p["last_error"] or "") for p in other["problems"])
    assert api.get("/api/v1/jobs", params={"limit": 0}).status_code == 422


def test_rapport_jobs_status_and_retry(failing: str, ada_ctx: Context) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["jobs", "status", "--limit", "500"])
    assert shown.exit_code == 0, shown.output
    assert "jobtest.tagger on jobtest.ping" in shown.output
    assert f"1 attempts: RuntimeError: flaky tagger ({failing})" in shown.output

    row = ada_ctx.session.scalars(
        select(OutboxDelivery).where(
            OutboxDelivery.consumer == "jobtest.tagger", OutboxDelivery.status == FAILED
        )
    ).first()
    assert row is not None
    retried = runner.invoke(cli, ["jobs", "retry", str(row.id)])
    assert retried.exit_code == 0, retried.output
    ada_ctx.session.refresh(row)
    assert (row.status, row.attempts) == (QUEUED, 0)
    sent: list[uuid.UUID] = []
    jobs.resend_stale(sent.append, older_than=jobs_runtime.LOST_AFTER)  # the relay's sweep
    assert row.id in sent
    assert runner.invoke(cli, ["jobs", "retry", "not-a-uuid"]).exit_code == 1


def test_rapport_jobs_run_due(database: Database, connection) -> None:  # type: ignore[no-untyped-def]
    from tests.core.test_jobs import TICKS

    before = len(TICKS)
    runner = CliRunner()
    done = runner.invoke(cli, ["jobs", "run-due", "jobtest.tick"])
    assert done.exit_code == 0, done.output
    assert len(TICKS) == before + 1
    assert runner.invoke(cli, ["jobs", "run-due", "no.such.task"]).exit_code == 1


def test_rapport_jobs_run_due_runs_every_task_on_a_real_database(tmp_path: Path) -> None:
    """`rapport jobs run-due` held a write transaction open while each task opened its own:
    on SQLite the reminders task waited for the lock its own command held, then failed."""
    env = {**os.environ, "RAPPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'due.db'}",
           "RAPPORT_LOG_LEVEL": "WARNING"}  # fmt: skip
    rapport = str(Path(sys.executable).parent / "rapport")
    subprocess.run([rapport, "init", "--workspace", "Due"], env=env, check=True, timeout=120,
                   capture_output=True)  # fmt: skip
    done = subprocess.run([rapport, "jobs", "run-due", "--json"], env=env, timeout=120,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {"sales.reminders", "hygiene.staleness"} <= set(json.loads(done.stdout)["ran"])
