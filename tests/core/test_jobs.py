"""Background work: drain() inside the test transaction, enqueue-after-commit, and the real
transports — the in-process stub broker, Redis and RabbitMQ — with real worker threads,
real commits, the outbox relay and the scheduler."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rapport.accounts import service as accounts
from rapport.accounts.models import Workspace
from rapport.core import jobs
from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.context import Context, system_context
from rapport.core.db import Database, transaction
from rapport.core.events import OutboxEvent, record
from rapport.core.jobs import runtime as jobs_runtime
from rapport.core.jobs.models import DEAD, DONE, FAILED, JobSchedule, OutboxDelivery
from rapport.core.topics import Topic
from rapport.hub.models import Tag
from rapport.hub.schemas import TagIn
from rapport.hub.service import tags
from tests.conftest import Cast

REDIS_URL = "redis://127.0.0.1:6379/0"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"

# What the handlers below did, per test key (each test uses its own key).
CALLS: dict[str, list[str]] = defaultdict(list)
TICKS: list[float] = []


class Ping(TypedDict, total=False):
    key: str
    fail: int  # the tagger fails this many times first
    then_job: bool  # the counter enqueues the stamp job


PING = Topic("jobtest.ping", Ping, "The tests' own event (declared like any domain's).")


def _key(event: jobs.Event) -> str:
    return str(event.payload["key"])


@jobs.on_event(PING, name="jobtest.tagger")
def tagger(ctx: Context, event: jobs.Event) -> None:
    """Tags the workspace after failing the first ``fail`` times it is called."""
    key = _key(event)
    CALLS[key].append("tagger")
    if CALLS[key].count("tagger") <= int(event.payload.get("fail", 0)):
        raise RuntimeError(f"flaky tagger ({key})")
    tags.create(ctx, TagIn(name=f"tag-{key}"))


@jobs.on_event(PING, name="jobtest.counter")
def counter(ctx: Context, event: jobs.Event) -> None:
    """Counts, and enqueues the stamp job when asked (a job enqueued by a consumer)."""
    key = _key(event)
    CALLS[key].append("counter")
    if event.payload.get("then_job"):
        jobs.enqueue(ctx.session, stamp, workspace_id=ctx.workspace_id, key=key)


@jobs.job("jobtest.stamp")
def stamp(workspace_id: str, key: str) -> None:
    CALLS[key].append("stamp")
    with transaction(uuid.UUID(workspace_id)) as session:
        tags.create(system_context(session, uuid.UUID(workspace_id)), TagIn(name=f"stamp-{key}"))


@jobs.every(seconds=1, name="jobtest.tick")
def tick() -> None:
    TICKS.append(time.monotonic())


def ping(ctx: Context, key: str, **payload: Any) -> None:
    record(ctx, PING, None, payload={"key": key, **payload})


def new_key() -> str:
    return uuid.uuid4().hex[:12]


def tag_names(session: Session) -> set[str]:
    return set(session.scalars(select(Tag.name)))


# --- drain(): everything inside the test's own rolled-back transaction ----------------------


def test_drain_runs_consumers_then_the_jobs_they_enqueue_inside_the_test_transaction(
    ada_ctx: Context,
) -> None:
    key = new_key()
    ping(ada_ctx, key, then_job=True)
    ran = jobs.drain(ada_ctx.session)

    assert sorted(CALLS[key]) == ["counter", "stamp", "tagger"]
    assert {f"tag-{key}", f"stamp-{key}"} <= tag_names(ada_ctx.session)
    assert [r.name for r in ran if r.kind == "job"] == ["jobtest.stamp"]
    assert {r.name for r in ran if r.kind == "event" and r.topic == "jobtest.ping"} == {
        "jobtest.tagger",
        "jobtest.counter",
    }
    pending = ada_ctx.session.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
    )
    assert pending == 0
    statuses = set(ada_ctx.session.scalars(select(OutboxDelivery.status)))
    assert statuses == {DONE}
    assert jobs.drain(ada_ctx.session) == []  # nothing left, nothing re-run
    assert sorted(CALLS[key]) == ["counter", "stamp", "tagger"]


def test_drain_records_a_failing_consumer_and_never_reruns_the_one_that_succeeded(
    ada_ctx: Context,
) -> None:
    key = new_key()
    ping(ada_ctx, key, fail=1)
    ran = jobs.drain(ada_ctx.session, raise_errors=False)

    assert [r.error for r in ran if r.name == "jobtest.tagger"] == [
        f"RuntimeError: flaky tagger ({key})"
    ]
    rows = {d.consumer: d for d in ada_ctx.session.scalars(select(OutboxDelivery)).all()}
    assert rows["jobtest.tagger"].status == FAILED
    assert rows["jobtest.tagger"].attempts == 1
    assert "flaky tagger" in (rows["jobtest.tagger"].last_error or "")
    assert rows["jobtest.counter"].status == DONE
    assert f"tag-{key}" not in tag_names(ada_ctx.session)  # the failed attempt wrote nothing


def test_drain_raises_a_consumer_failure_by_default(ada_ctx: Context) -> None:
    key = new_key()
    ping(ada_ctx, key, fail=5)
    with pytest.raises(jobs.JobFailed, match="flaky tagger"):
        jobs.drain(ada_ctx.session)


def test_a_job_committed_into_the_test_transaction_waits_for_drain(
    database: Database, ada_ctx: Context, cast: Cast
) -> None:
    """A request's session 'commits' into the test's outer transaction: nothing is really
    committed, so nothing may be sent yet; drain() runs it."""
    key = new_key()
    request_session = database.session(cast.acme)
    jobs.enqueue(request_session, stamp, workspace_id=cast.acme, key=key)
    request_session.commit()
    request_session.close()
    assert CALLS[key] == []

    ran = jobs.drain(ada_ctx.session)
    assert CALLS[key] == ["stamp"]
    assert ran[0].kwargs == {"workspace_id": str(cast.acme), "key": key}
    assert f"stamp-{key}" in tag_names(ada_ctx.session)


def test_a_job_enqueued_in_a_rolled_back_savepoint_is_dropped(ada_ctx: Context) -> None:
    keep, drop = new_key(), new_key()
    jobs.enqueue(ada_ctx.session, stamp, workspace_id=ada_ctx.workspace_id, key=keep)
    savepoint = ada_ctx.session.begin_nested()
    jobs.enqueue(ada_ctx.session, stamp, workspace_id=ada_ctx.workspace_id, key=drop)
    savepoint.rollback()
    jobs.drain(ada_ctx.session)
    assert CALLS[keep] == ["stamp"]
    assert CALLS[drop] == []


def test_a_job_called_directly_runs_in_the_foreground(ada_ctx: Context) -> None:
    key = new_key()
    stamp(str(ada_ctx.workspace_id), key)  # positional, as a plain function
    assert CALLS[key] == ["stamp"]
    assert f"stamp-{key}" in tag_names(ada_ctx.session)


def test_enqueue_refuses_unknown_jobs_and_arguments_that_are_not_json(
    ada_ctx: Context,
) -> None:
    with pytest.raises(KeyError):
        jobs.enqueue(ada_ctx.session, "jobtest.nope")
    with pytest.raises(TypeError):
        jobs.enqueue(ada_ctx.session, stamp, workspace_id=b"\x00", key=1j)  # type: ignore[arg-type]


def test_run_due_runs_the_periodic_tasks_now_and_records_the_run(ada_ctx: Context) -> None:
    before = len(TICKS)
    assert jobs.run_due(ada_ctx.session, ["jobtest.tick"]) == ["jobtest.tick"]
    assert len(TICKS) == before + 1
    row = ada_ctx.session.get(JobSchedule, "jobtest.tick")
    assert row is not None and row.last_run_at is not None
    assert row.next_run_at - row.last_run_at == timedelta(seconds=1)
    assert "jobtest.tick" in jobs.run_due(ada_ctx.session)  # all of them


def test_every_domain_jobs_module_is_imported_so_its_handlers_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "fakeapp"
    for domain in ("sales", "hub"):
        (app / domain).mkdir(parents=True)
        (app / domain / "__init__.py").write_text("")
    (app / "__init__.py").write_text("")
    (app / "sales" / "jobs.py").write_text(
        "from rapport.core import jobs\n"
        "@jobs.job('fakeapp.sales.remind')\n"
        "def remind() -> None: ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert jobs.load_job_modules("fakeapp") == ["fakeapp.sales.jobs"]
        assert "fakeapp.sales.remind" in jobs.JOBS
    finally:
        jobs.JOBS.pop("fakeapp.sales.remind", None)


# --- enqueue after a real commit ------------------------------------------------------------


@pytest.fixture
def stub_runtime() -> Iterator[jobs_runtime.Runtime]:
    """A runtime on an in-memory broker that nobody consumes: we look at its queue."""
    runtime = jobs_runtime.Runtime(jobs_runtime.make_broker(None, prefix="t"), prefix="t")
    jobs_runtime.set_runtime(runtime)
    yield runtime
    jobs_runtime.set_runtime(None)
    runtime.broker.close()


def _queued(runtime: jobs_runtime.Runtime) -> list[dict[str, Any]]:
    queue = runtime.broker.queues.get(runtime.jobs_queue)  # type: ignore[attr-defined]
    if queue is None:
        return []
    from dramatiq import Message

    return [Message.decode(raw).kwargs for raw in list(queue.queue)]


def test_enqueue_sends_only_after_commit_and_never_after_rollback(
    database: Database, stub_runtime: jobs_runtime.Runtime
) -> None:
    committed, rolled_back, inner = new_key(), new_key(), new_key()
    with database.session(unscoped=True) as session:
        jobs.enqueue(session, stamp, workspace_id=str(uuid.uuid4()), key=rolled_back)
        session.rollback()
        jobs.enqueue(session, stamp, workspace_id=str(uuid.uuid4()), key=committed)
        savepoint = session.begin_nested()
        jobs.enqueue(session, stamp, workspace_id=str(uuid.uuid4()), key=inner)
        savepoint.rollback()
        assert _queued(stub_runtime) == []  # not before the commit
        session.commit()
    assert [m["key"] for m in _queued(stub_runtime)] == [committed]


def test_a_broker_that_is_down_does_not_fail_the_committed_request(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """The commit happened: the caller must not get an error for it; the loss is logged."""
    dead = jobs_runtime.Runtime(
        jobs_runtime.make_broker("redis://127.0.0.1:1/0", prefix="t"), prefix="t"
    )
    jobs_runtime.set_runtime(dead)
    try:
        with database.session(unscoped=True) as session:
            jobs.enqueue(session, stamp, workspace_id=str(uuid.uuid4()), key="lost")
            session.commit()
    finally:
        jobs_runtime.set_runtime(None)
    assert "job jobtest.stamp could not be sent to the broker" in caplog.text


# --- the real transports: stub (embedded), Redis, RabbitMQ ----------------------------------


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll until ``check()`` is truthy (a generous deadline only turns a hang into a failure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def workspace(database: Database) -> Iterator[uuid.UUID]:
    """A committed workspace of its own (these tests really commit); deleted afterwards."""
    with transaction(unscoped=True) as session:
        ws = accounts.create_workspace(session, f"Jobs {new_key()}")
        workspace_id = ws.id
    yield workspace_id
    with transaction(unscoped=True) as session:
        session.execute(delete(Workspace).where(Workspace.id == workspace_id))


def _cleanup_broker(runtime: jobs_runtime.Runtime) -> None:
    broker: Any = runtime.broker
    if hasattr(broker, "client"):  # Redis: every key of this run's namespace
        for redis_key in broker.client.scan_iter(f"{runtime.prefix}*"):
            broker.client.delete(redis_key)
    elif hasattr(broker, "channel"):  # RabbitMQ: this run's queues
        from dramatiq.common import dq_name, xq_name

        for queue in (runtime.jobs_queue, runtime.events_queue):
            for name in (queue, dq_name(queue), xq_name(queue)):
                broker.channel.queue_delete(name)


@pytest.fixture(params=["embedded", "redis", "rabbitmq"])
def runtime(
    request: pytest.FixtureRequest, database: Database, cast: Cast
) -> Iterator[jobs_runtime.Runtime]:
    """A started runtime: worker threads, relay and scheduler, on a queue namespace of its
    own so parallel runs never steal each other's messages."""
    url = {"embedded": None, "redis": REDIS_URL, "rabbitmq": RABBITMQ_URL}[request.param]
    prefix = f"rapport-test-{new_key()}"
    runtime = jobs_runtime.Runtime(
        jobs_runtime.make_broker(url, prefix=prefix), prefix=prefix, min_backoff_ms=100
    )
    jobs_runtime.set_runtime(runtime)
    runtime.start(threads=2)
    yield runtime
    runtime.stop(close=False)
    try:
        _cleanup_broker(runtime)
    finally:
        runtime.broker.close()
        jobs_runtime.set_runtime(None)


def _tags_of(workspace_id: uuid.UUID) -> set[str]:
    with transaction(workspace_id) as session:
        return tag_names(session)


def _deliveries(workspace_id: uuid.UUID) -> dict[str, OutboxDelivery]:
    with transaction(workspace_id) as session:
        rows = session.scalars(select(OutboxDelivery)).all()
        return {row.consumer: row for row in rows}


def test_a_committed_event_reaches_its_consumers_and_their_writes_land(
    runtime: jobs_runtime.Runtime, workspace: uuid.UUID
) -> None:
    key = new_key()
    with transaction(workspace) as session:
        ping(system_context(session, workspace), key, then_job=True)
    wait_for(lambda: {f"tag-{key}", f"stamp-{key}"} <= _tags_of(workspace), "the writes")
    assert sorted(CALLS[key]) == ["counter", "stamp", "tagger"]
    deliveries = _deliveries(workspace)
    assert {name: d.status for name, d in deliveries.items()} == {
        "jobtest.tagger": DONE,
        "jobtest.counter": DONE,
    }
    with transaction(workspace) as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.topic == "jobtest.ping", OutboxEvent.dispatched_at.is_(None))
            )
            == 0
        )


def test_a_rolled_back_transaction_sends_nothing(
    runtime: jobs_runtime.Runtime, workspace: uuid.UUID
) -> None:
    lost, marker = new_key(), new_key()
    with pytest.raises(RuntimeError), transaction(workspace) as session:
        ping(system_context(session, workspace), lost, then_job=True)
        jobs.enqueue(session, stamp, workspace_id=workspace, key=lost)
        raise RuntimeError("the request failed")
    with transaction(workspace) as session:
        ping(system_context(session, workspace), marker, then_job=True)
    wait_for(lambda: f"stamp-{marker}" in _tags_of(workspace), "the marker's job")
    assert CALLS[lost] == []
    assert not any(lost in name for name in _tags_of(workspace))


def test_a_failing_consumer_is_retried_with_backoff_and_the_other_is_not_rerun(
    runtime: jobs_runtime.Runtime, workspace: uuid.UUID
) -> None:
    key = new_key()
    with transaction(workspace) as session:
        ping(system_context(session, workspace), key, fail=2)
    wait_for(lambda: f"tag-{key}" in _tags_of(workspace), "the retried consumer's write")
    assert CALLS[key].count("tagger") == 3
    assert CALLS[key].count("counter") == 1
    tagger_row = _deliveries(workspace)["jobtest.tagger"]
    assert (tagger_row.status, tagger_row.attempts, tagger_row.last_error) == (DONE, 3, None)


def test_a_consumer_that_keeps_failing_is_dead_after_the_last_attempt(
    runtime: jobs_runtime.Runtime, workspace: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAPPORT_JOB_MAX_ATTEMPTS", "3")
    get_settings.cache_clear()
    try:
        key = new_key()
        with transaction(workspace) as session:
            ping(system_context(session, workspace), key, fail=100)
        row = wait_for(
            lambda: (d := _deliveries(workspace).get("jobtest.tagger")) and d.status == DEAD and d,
            "the delivery to die",
        )
        assert row.attempts == 3
        assert "flaky tagger" in row.last_error
        time.sleep(1.0)  # a dead delivery is not retried again
        assert CALLS[key].count("tagger") == 3
        assert _deliveries(workspace)["jobtest.counter"].status == DONE
    finally:
        monkeypatch.delenv("RAPPORT_JOB_MAX_ATTEMPTS")
        get_settings.cache_clear()


def test_a_backlog_goes_in_batches_and_a_failure_reruns_only_its_own_delivery(
    runtime: jobs_runtime.Runtime, workspace: uuid.UUID
) -> None:
    """Forty deliveries go as a few batched messages (one transaction each); the flaky one's
    batch is retried by the broker, and only the flaky consumer runs again."""
    keys = [new_key() for _ in range(20)]
    flaky = keys[7]
    with transaction(workspace) as session:
        for key in keys:
            ping(system_context(session, workspace), key, fail=2 if key == flaky else 0)
    wait_for(lambda: {f"tag-{k}" for k in keys} <= _tags_of(workspace), "every consumer's write")
    assert CALLS[flaky].count("tagger") == 3
    assert all(CALLS[k].count("counter") == 1 for k in keys)
    assert all(CALLS[k].count("tagger") == 1 for k in keys if k != flaky)
    with transaction(workspace) as session:
        rows = session.scalars(select(OutboxDelivery)).all()
    assert len(rows) == 40 and {row.status for row in rows} == {DONE}
    assert sorted(row.attempts for row in rows) == [1] * 39 + [3]


def test_deliver_batch_commits_the_good_deliveries_and_counts_the_failed_one(
    database: Database, workspace: uuid.UUID
) -> None:
    good, flaky = new_key(), new_key()
    with transaction(workspace) as session:
        ping(system_context(session, workspace), good)
        ping(system_context(session, workspace), flaky, fail=1)
    while jobs.relay_once(lambda _id: None):
        pass
    with transaction(workspace) as session:
        ids = list(session.scalars(select(OutboxDelivery.id)))
    with pytest.raises(jobs.JobFailed, match="1 of 4 deliveries failed"):
        jobs.deliver_batch(ids)
    assert {f"tag-{good}"} == {t for t in _tags_of(workspace) if t.startswith("tag-")}
    rows = _deliveries_by_key(workspace)
    assert rows[(flaky, "jobtest.tagger")][:2] == (FAILED, 1)
    assert "flaky tagger" in str(rows[(flaky, "jobtest.tagger")][2])
    assert {v[:2] for k, v in rows.items() if k != (flaky, "jobtest.tagger")} == {(DONE, 1)}
    assert set(jobs.deliver_batch(ids).values()) == {DONE}  # the retry: only the failed one
    assert sorted(CALLS[flaky]) == ["counter", "tagger", "tagger"]
    assert CALLS[good].count("tagger") == 1 and CALLS[good].count("counter") == 1
    assert f"tag-{flaky}" in _tags_of(workspace)
    gone = uuid.uuid4()
    assert jobs.deliver_batch([gone]) == {gone: DEAD}  # a delivery that is gone: nothing to do


def _deliveries_by_key(workspace_id: uuid.UUID) -> dict[tuple[str, str], tuple[str, int, Any]]:
    with transaction(workspace_id) as session:
        rows = session.execute(
            select(OutboxDelivery, OutboxEvent).join(
                OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id
            )
        ).all()
        return {
            (event.payload["key"], row.consumer): (row.status, row.attempts, row.last_error)
            for row, event in rows
        }


def test_the_scheduler_runs_periodic_tasks(runtime: jobs_runtime.Runtime) -> None:
    before = len(TICKS)
    wait_for(lambda: len(TICKS) > before, "a tick of jobtest.tick")


# --- several relays and schedulers side by side ---------------------------------------------


def test_two_relays_never_dispatch_the_same_event_twice(
    database: Database, workspace: uuid.UUID
) -> None:
    keys = [new_key() for _ in range(60)]
    with transaction(workspace) as session:
        for key in keys:
            ping(system_context(session, workspace), key)
        mine = set(session.scalars(select(OutboxEvent.id)))
    sent: list[uuid.UUID] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def relay() -> None:
        start.wait()
        while True:
            batch: list[uuid.UUID] = []
            if not jobs.relay_once(batch.append, batch=7):
                return
            with lock:
                sent.extend(batch)

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with transaction(workspace) as session:
        rows = session.scalars(select(OutboxDelivery).where(OutboxDelivery.event_id.in_(mine)))
        pairs = [(row.event_id, row.consumer, row.id) for row in rows]
    assert len(pairs) == 2 * len(keys)  # one delivery per (event, consumer)
    my_ids = {delivery_id for _e, _c, delivery_id in pairs}
    mine_sent = [d for d in sent if d in my_ids]
    assert sorted(mine_sent) == sorted(my_ids)  # each sent exactly once


def test_of_two_schedulers_only_one_runs_a_tick(database: Database) -> None:
    now = utcnow() + timedelta(days=1)  # due whatever earlier tests did
    results: list[list[str]] = []
    start = threading.Barrier(2)

    def scheduler() -> None:
        start.wait()
        results.append(jobs.claim_due(now))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.count("jobtest.tick") for r in results) == [0, 1]
    assert "jobtest.tick" not in jobs.claim_due(now)  # not again within the interval
    with transaction(unscoped=True) as session:
        session.execute(delete(JobSchedule).where(JobSchedule.name == "jobtest.tick"))
