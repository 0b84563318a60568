"""Background work: jobs, outbox consumers and periodic tasks — the public interface.

Domains declare their work at import time in ``rapport/<domain>/jobs.py`` (found and imported
by :func:`load_job_modules`, which the app, the worker and :func:`drain` call)::

    @jobs.job("hygiene.run_import")                       # a Dramatiq actor underneath
    def run_import(workspace_id: str, job_id: str) -> None: ...

    jobs.enqueue(session, run_import, workspace_id=..., job_id=...)   # sent after commit

    @jobs.on_event(ACTIVITY_CREATED, PERSON_CREATED)      # an outbox consumer (topics from
                                                          # the domains' events.py)
    def rescore(ctx: Context, event: jobs.Event) -> None: ...

    @jobs.every(minutes=15, name="sales.follow_up_reminders")
    def follow_ups() -> None: ...

Delivery guarantees: an event is handed to each consumer at least once; the consumer's writes
commit together with its ``outbox_deliveries`` row being marked done, so a consumer that
succeeded is never re-run when another one fails. A failure is retried with exponential
backoff and recorded (attempts, last error); after ``job_max_attempts`` the delivery is
``dead`` and shown by ``rapport jobs status`` and ``GET /api/v1/jobs``. No ordering is promised
between events. The relay sends a backlog in batches (:func:`deliver_batch`): one transaction
runs many deliveries, each consumer in a savepoint of its own, so the guarantees above hold
per delivery while the cost of a transaction is shared. The transport (Dramatiq on an
in-process stub broker, Redis or RabbitMQ) lives in :mod:`rapport.core.jobs.runtime`; this
module holds what does not depend on it, including :func:`drain` and :func:`run_due` that
tests use inside their rolled-back transaction.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import pkgutil
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, ParamSpec, TypeVar, cast

from sqlalchemy import Connection, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.context import Context, system_context
from rapport.core.db import background, get_database, table_of, transaction
from rapport.core.events import OutboxEvent, jsonable
from rapport.core.ids import new_id
from rapport.core.jobs.models import DEAD, DONE, FAILED, QUEUED, JobSchedule, OutboxDelivery
from rapport.core.topics import Topic, load_event_modules, resolve, subscribe

__all__ = [
    "Consumer",
    "Context",
    "Event",
    "Job",
    "Periodic",
    "drain",
    "enqueue",
    "every",
    "job",
    "on_event",
    "run_due",
]

log = logging.getLogger("rapport.jobs")
BATCH_SECONDS = 0.2  # a batch of deliveries commits after this long and goes on in another
P = ParamSpec("P")
R = TypeVar("R")


# --- the registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Job(Generic[P, R]):
    """A registered background job; call it directly to run it in the foreground."""

    name: str
    fn: Callable[P, R]
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)


@dataclass(frozen=True)
class Event:
    """An outbox event as a consumer sees it."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    topic: str
    record_type: str
    record_id: uuid.UUID | None
    payload: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: OutboxEvent) -> Event:
        return cls(
            id=row.id,
            workspace_id=row.workspace_id,
            topic=row.topic,
            record_type=row.record_type,
            record_id=row.record_id,
            payload=dict(row.payload or {}),
            created_at=row.created_at,
        )


Handler = Callable[[Context, Event], None]


@dataclass(frozen=True)
class Consumer:
    """An outbox consumer: its name is what ``outbox_deliveries.consumer`` records."""

    name: str
    topics: tuple[str, ...]
    fn: Handler


@dataclass(frozen=True)
class Periodic:
    """A task run once per ``interval`` across the whole cluster."""

    name: str
    interval: timedelta
    fn: Callable[[], Any]


JOBS: dict[str, Job[..., Any]] = {}
CONSUMERS: dict[str, Consumer] = {}
PERIODIC: dict[str, Periodic] = {}


def job(name: str, **options: Any) -> Callable[[Callable[P, R]], Job[P, R]]:
    """Register a background job. ``options`` go to the Dramatiq actor (``max_retries``,
    ``time_limit`` in ms, ...). Arguments are passed as JSON, by keyword only."""

    def register(fn: Callable[P, R]) -> Job[P, R]:
        if name in JOBS and JOBS[name].fn is not fn:
            raise ValueError(f"a job named {name!r} is already registered")
        registered = Job(name=name, fn=fn, options=options)
        JOBS[name] = registered
        return registered

    return register


def on_event(*topics: Topic[Any] | str, name: str | None = None) -> Callable[[Handler], Handler]:
    """Register an outbox consumer for these topics (as passed to ``record(...)``). A topic
    the event catalogue does not hold raises :class:`UnknownTopic` here, at import time."""
    if not topics:
        raise ValueError("on_event needs at least one topic")
    names = tuple(resolve(topic).name for topic in topics)

    def register(fn: Handler) -> Handler:
        consumer_name = name or f"{fn.__module__}.{fn.__qualname__}"
        known = CONSUMERS.get(consumer_name)
        if known is not None and known.fn is not fn:
            raise ValueError(f"a consumer named {consumer_name!r} is already registered")
        CONSUMERS[consumer_name] = Consumer(consumer_name, names, fn)
        for topic_name in names:
            subscribe(topic_name, consumer_name, fn.__module__)
        return fn

    return register


def every(
    *, name: str, minutes: float = 0, hours: float = 0, seconds: float = 0
) -> Callable[[Callable[[], R]], Callable[[], R]]:
    """Register a periodic task; the scheduler (in ``rapport serve`` or ``rapport worker``)
    runs it once per interval cluster-wide, as a job named ``name``."""
    interval = timedelta(minutes=minutes, hours=hours, seconds=seconds)
    if interval <= timedelta(0):
        raise ValueError("every(...) needs a positive interval")

    def register(fn: Callable[[], R]) -> Callable[[], R]:
        PERIODIC[name] = Periodic(name, interval, fn)
        job(name)(fn)
        return fn

    return register


def consumers_for(topic: str) -> list[Consumer]:
    return [c for c in CONSUMERS.values() if topic in c.topics]


_loaded = False


def load_job_modules(package: str = "rapport") -> list[str]:
    """Import every ``<package>.<domain>.jobs`` module so its handlers register (idempotent)."""
    global _loaded
    # One thread at a time: a worker thread iterating the registry while another thread's
    # import is still adding handlers to it would see it change under its feet.
    with _loading:
        load_event_modules(package)  # the catalogue is complete before any consumer registers
        root = importlib.import_module(package)
        found = []
        for info in pkgutil.iter_modules(root.__path__):
            name = f"{package}.{info.name}.jobs"
            if info.ispkg and importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
                found.append(name)
        _loaded = _loaded or package == "rapport"
        return found


def _ensure_loaded() -> None:
    if not _loaded:
        load_job_modules()


_loading = threading.RLock()


# --- enqueue: sent after commit, dropped on rollback ----------------------------------------

_PENDING = "rapport_jobs_pending"
_HOOKED = "rapport_jobs_hooked"
Message = tuple[str, dict[str, Any]]
# Jobs committed by a session whose connection is still inside an outer transaction (the test
# suite's rolled-back transaction): not really committed yet, so parked for drain().
_parked: weakref.WeakKeyDictionary[Connection, list[Message]] = weakref.WeakKeyDictionary()
Sender = Callable[[str, dict[str, Any]], None]


def _no_transport(name: str, _kwargs: dict[str, Any]) -> None:
    raise RuntimeError(f"job {name}: no transport set (rapport.core.jobs.runtime sets it)")


_send_to_broker: Sender = _no_transport


def use_sender(send: Sender) -> None:
    """Set how a committed job reaches the broker. The transport (:mod:`.runtime`) sets it
    when imported, so this module never imports the transport and the two form no cycle."""
    global _send_to_broker
    _send_to_broker = send


def enqueue(session: Session, target: Job[..., Any] | str, /, **kwargs: Any) -> None:
    """Send ``target`` with these keyword arguments once ``session``'s transaction commits;
    nothing is sent if it rolls back (or the savepoint the call was made in does)."""
    name = target.name if isinstance(target, Job) else target
    if name not in JOBS:
        raise KeyError(f"no job named {name!r} is registered")
    payload = json.loads(json.dumps(kwargs, default=_json_default))  # fail here, not in a worker
    txn = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append((txn, (name, payload)))
    if not session.info.get(_HOOKED):
        session.info[_HOOKED] = True
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)


def _json_default(value: Any) -> Any:
    """UUIDs, instants, money and enums travel as their JSON form; anything else is refused."""
    if isinstance(value, uuid.UUID | datetime | date | Decimal | Enum):
        return jsonable(value)
    raise TypeError(f"job arguments must be JSON values, not {type(value).__name__}")


def _after_commit(session: Session) -> None:
    messages = [message for _txn, message in session.info.pop(_PENDING, [])]
    if not messages:
        return
    bind = session.get_bind()
    if isinstance(bind, Connection) and bind.in_transaction():
        _parked.setdefault(bind, []).extend(messages)
        return
    for name, kwargs in messages:
        try:
            _send_to_broker(name, kwargs)
        except Exception:
            # The data is committed; failing the caller now would only hide that. Say so loudly.
            log.exception("job %s could not be sent to the broker (arguments %s)", name, kwargs)


def _within(txn: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while txn is not None:
        if txn is ancestor:
            return True
        txn = txn.parent
    return False


def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [(t, m) for t, m in pending if not _within(t, previous)]


def _take_jobs(session: Session) -> list[Message]:
    messages = [message for _txn, message in session.info.pop(_PENDING, [])]
    bind = session.get_bind()
    if isinstance(bind, Connection):
        messages += _parked.pop(bind, [])
    return messages


def run_job(name: str, kwargs: dict[str, Any]) -> Any:
    """Run one job in this thread (what the worker's actor does)."""
    _ensure_loaded()
    with background(f"job {name}"):
        return JOBS[name].fn(**kwargs)


# --- delivering events to consumers ---------------------------------------------------------


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _record_failure(delivery_id: uuid.UUID, workspace_id: uuid.UUID, exc: BaseException) -> str:
    """Count a failed attempt in its own transaction; ``dead`` once attempts run out."""
    max_attempts = get_settings().job_max_attempts
    with transaction(workspace_id) as session:
        row = session.get(OutboxDelivery, delivery_id)
        if row is None:
            return DEAD
        row.attempts += 1
        row.status = DEAD if row.attempts >= max_attempts else FAILED
        row.last_error = _error_text(exc)
        row.updated_at = utcnow()
        return row.status


def deliver(delivery_id: uuid.UUID) -> str:
    """Run one delivery (event x consumer) in its own transaction: the consumer's writes and
    the ``done`` mark commit together. Raises on failure (so the broker retries) unless the
    delivery is now dead. Returns the delivery's final status."""
    with background("deliver"):
        return _deliver_one(delivery_id)


def _deliver_one(delivery_id: uuid.UUID) -> str:
    _ensure_loaded()
    database = get_database()
    with database.session(unscoped=True) as session:
        row = session.get(OutboxDelivery, delivery_id)
        if row is None or row.status in (DONE, DEAD):
            return row.status if row is not None else DEAD
        event_row = session.get(OutboxEvent, row.event_id)
        consumer = CONSUMERS.get(row.consumer)
        workspace_id = row.workspace_id
    try:
        if event_row is None:
            raise LookupError(f"outbox event {row.event_id} is gone")
        if consumer is None:
            raise LookupError(f"no consumer named {row.consumer!r} is registered here")
        with transaction(workspace_id) as session:
            claimed = session.execute(
                update(OutboxDelivery)
                .where(
                    OutboxDelivery.id == delivery_id, OutboxDelivery.status.in_((QUEUED, FAILED))
                )
                .values(
                    status=DONE,
                    attempts=OutboxDelivery.attempts + 1,
                    last_error=None,
                    updated_at=utcnow(),
                )
            )
            if not cast(Any, claimed).rowcount:
                return DONE  # another worker got there first
            consumer.fn(system_context(session, workspace_id), Event.of(event_row))
        return DONE
    except Exception as exc:
        status = _record_failure(delivery_id, workspace_id, exc)
        log.warning("consumer %s failed on event %s: %s", row.consumer, row.event_id, exc)
        if status == DEAD:
            return DEAD
        raise


@dataclass(frozen=True)
class _Work:
    """One delivery of a batch, read before its transaction: who runs what, for which event."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    consumer: str
    event: Event | None


def deliver_batch(delivery_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Run many deliveries with one read and one write transaction per workspace, instead of
    two transactions each: what lets the relay keep up with thousands of events a second.

    The guarantees of :func:`deliver` hold: each consumer runs in a savepoint whose writes
    commit together with its ``done`` mark; a failure rolls back that consumer's savepoint
    only and is counted on its delivery (``dead`` once attempts run out) in the same commit.
    Deliveries another worker holds (``SKIP LOCKED`` on PostgreSQL) or has finished are left
    alone. Raises :class:`JobFailed` after the commit if a delivery failed and may be retried,
    so the broker retries the message with backoff (finished ones are skipped then). Should
    the commit itself fail, each delivery is run on its own by :func:`deliver`.
    Returns each delivery's status."""
    with background("deliver"):
        return _deliver_many(list(dict.fromkeys(delivery_ids)))


def _deliver_many(wanted: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    _ensure_loaded()
    if not wanted:
        return {}
    status: dict[uuid.UUID, str] = {}
    work: dict[uuid.UUID, list[_Work]] = {}
    with get_database().session(unscoped=True) as session:
        rows = session.execute(
            select(OutboxDelivery, OutboxEvent)
            .outerjoin(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
            .where(OutboxDelivery.id.in_(wanted))
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        ).all()
        for row, event_row in rows:
            status[row.id] = row.status
            if row.status not in (DONE, DEAD):
                event = Event.of(event_row) if event_row is not None else None
                work.setdefault(row.workspace_id, []).append(
                    _Work(row.id, row.workspace_id, row.consumer, event)
                )
    for missing in set(wanted) - set(status):
        status[missing] = DEAD
    retry = False
    for workspace_id, items in work.items():
        while items:
            group, items = items, []
            try:
                done, items = _deliver_group(workspace_id, group)
            except Exception:
                log.exception("a batch of %d deliveries failed to commit; one by one", len(group))
                done = {}
                for item in group:
                    try:
                        done[item.id] = _deliver_one(item.id)
                    except Exception:
                        done[item.id] = FAILED
            status.update(done)
            retry = retry or FAILED in done.values()
    if retry:
        failed = sum(1 for s in status.values() if s == FAILED)
        raise JobFailed(f"{failed} of {len(wanted)} deliveries failed; they will be retried")
    return status


def _deliver_group(
    workspace_id: uuid.UUID, items: list[_Work]
) -> tuple[dict[uuid.UUID, str], list[_Work]]:
    """One workspace's part of a batch, in one transaction (see :func:`deliver_batch`), for
    at most ``BATCH_SECONDS``: what is left when time is up is returned for the next one, so
    a backlog never keeps the single SQLite writer from the requests for long."""
    max_attempts = get_settings().job_max_attempts
    out: dict[uuid.UUID, str] = {}
    started = time.perf_counter()
    left: list[_Work] = []
    with transaction(workspace_id) as session:
        claim = select(OutboxDelivery).where(
            OutboxDelivery.id.in_([item.id for item in items]),
            OutboxDelivery.status.in_((QUEUED, FAILED)),
        )
        if session.get_bind().dialect.name == "postgresql":
            claim = claim.with_for_update(skip_locked=True)  # held: another worker's now
        rows = {row.id: row for row in session.scalars(claim)}
        for position, item in enumerate(items):
            if time.perf_counter() - started > BATCH_SECONDS:
                left = items[position:]
                break
            row = rows.get(item.id)
            if row is None:
                continue  # done, dead or held elsewhere meanwhile: not ours to run
            consumer = CONSUMERS.get(item.consumer)
            now = utcnow()
            try:
                if item.event is None:
                    raise LookupError(f"outbox event {row.event_id} is gone")
                if consumer is None:
                    raise LookupError(f"no consumer named {item.consumer!r} is registered here")
                with session.begin_nested():
                    consumer.fn(system_context(session, workspace_id), item.event)
                out[item.id] = DONE
                continue
            except Exception as exc:
                row.attempts += 1
                row.status = DEAD if row.attempts >= max_attempts else FAILED
                row.last_error = _error_text(exc)
                row.updated_at = now
                log.warning("consumer %s failed on event %s: %s", item.consumer,
                            row.event_id, exc)  # fmt: skip
            out[item.id] = row.status
        session.flush()
        done = [delivery_id for delivery_id, status in out.items() if status == DONE]
        if done:  # one statement marks them all, in the transaction of their consumers' writes
            session.execute(
                update(OutboxDelivery)
                .where(OutboxDelivery.id.in_(done))
                .values(status=DONE, attempts=OutboxDelivery.attempts + 1, last_error=None,
                        updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )  # fmt: skip
    return out, left


def _pending_events(session: Session, limit: int) -> list[OutboxEvent]:
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Several relays claim disjoint batches; a locked row is another relay's.
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def claim_events(session: Session, limit: int = 200) -> list[uuid.UUID]:
    """Claim a batch of pending events in ``session``'s transaction: create a ``queued``
    delivery per consumer and mark the events dispatched. Returns the delivery ids, to be
    sent once the transaction commits."""
    _ensure_loaded()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    events = _pending_events(session, limit)
    for ev in events:
        for consumer in consumers_for(ev.topic):
            rows.append(
                {
                    "id": new_id(),
                    "workspace_id": ev.workspace_id,
                    "event_id": ev.id,
                    "consumer": consumer.name,
                    "status": QUEUED,
                    "attempts": 0,
                    "updated_at": now,
                }
            )
        ev.dispatched_at = now
        ev.attempts += 1
    if rows:
        session.execute(insert(table_of(OutboxDelivery)), rows)
    session.flush()
    return [row["id"] for row in rows]


def settle_seeded(session: Session, workspace_id: uuid.UUID) -> int:
    """Mark a freshly seeded workspace's pending events as dispatched, handing them to no
    consumer: for seeding code that has done what the consumers would (the demo scores its
    leads itself), so a first start meets no backlog of tens of thousands of deliveries."""
    result = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.workspace_id == workspace_id, OutboxEvent.dispatched_at.is_(None))
        .values(dispatched_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(cast(Any, result).rowcount or 0)


def has_pending_events() -> bool:
    """A cheap read (no write lock) so an idle relay does not contend with requests."""
    with get_database().session(unscoped=True) as session:
        found = session.scalar(
            select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None)).limit(1)
        )
        return found is not None


def relay_once(send: Callable[[uuid.UUID], None], *, batch: int = 200) -> int:
    """One pass of the outbox relay: claim a batch, commit, then hand each delivery to
    ``send`` (the broker). Returns how many deliveries it sent."""
    if not has_pending_events():
        return 0
    with background("relay"), transaction(unscoped=True) as session:
        ids = claim_events(session, batch)
    for delivery_id in ids:
        send(delivery_id)
    return len(ids)


def resend_stale(send: Callable[[uuid.UUID], None], *, older_than: timedelta) -> int:
    """Re-send deliveries still queued or failed long after their last touch: their message
    was lost (a broker restart, an embedded server stopped). Duplicates are harmless."""
    cutoff = utcnow() - older_than
    with transaction(unscoped=True) as session:
        ids = list(
            session.scalars(
                select(OutboxDelivery.id)
                .where(
                    OutboxDelivery.status.in_((QUEUED, FAILED)),
                    OutboxDelivery.updated_at <= cutoff,
                )
                .limit(1000)
            )
        )
        if ids:
            session.execute(
                update(OutboxDelivery)
                .where(OutboxDelivery.id.in_(ids))
                .values(updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    for delivery_id in ids:
        send(delivery_id)
    return len(ids)


# --- the scheduler --------------------------------------------------------------------------


def claim_due(now: datetime | None = None) -> list[str]:
    """The periodic tasks this process should start now. Each is claimed by a conditional
    UPDATE (``next_run_at <= now``), so of several schedulers exactly one wins a tick."""
    _ensure_loaded()
    now = now or utcnow()
    won: list[str] = []
    with transaction(unscoped=True) as session:
        known = set(session.scalars(select(JobSchedule.name)))
        for task in PERIODIC.values():
            if task.name not in known:
                try:
                    with session.begin_nested():
                        session.add(JobSchedule(name=task.name, next_run_at=now, runs=0))
                except IntegrityError:
                    pass  # another scheduler inserted it first
    for task in PERIODIC.values():
        with transaction(unscoped=True) as session:
            result = session.execute(
                update(JobSchedule)
                .where(JobSchedule.name == task.name, JobSchedule.next_run_at <= now)
                .values(next_run_at=now + task.interval, last_run_at=now, runs=JobSchedule.runs + 1)
            )
            if cast(Any, result).rowcount:
                won.append(task.name)
    return won


def run_due(session: Session, names: Iterable[str] | None = None) -> list[str]:
    """Run the periodic tasks (all, or ``names``) once now, in this thread, recording the run
    in ``session`` (for tests, inside their transaction). Returns the names run."""
    _ensure_loaded()
    chosen = [PERIODIC[n] for n in names] if names is not None else list(PERIODIC.values())
    for task in chosen:
        task.fn()
        _record_run(session, task)
    session.flush()
    return [task.name for task in chosen]


def run_now(names: Iterable[str] | None = None) -> list[str]:
    """Run the periodic tasks (all, or ``names``) once now, in this process, each recorded in
    a short transaction after it ran (``rapport jobs run-due``): a transaction held open around
    a task would lock SQLite against the task's own writes. Returns the names run."""
    _ensure_loaded()
    chosen = [PERIODIC[n] for n in names] if names is not None else list(PERIODIC.values())
    for task in chosen:
        with background(f"job {task.name}"):
            task.fn()
            with transaction(unscoped=True) as session:
                _record_run(session, task)
    return [task.name for task in chosen]


def _record_run(session: Session, task: Periodic) -> None:
    now = utcnow()
    row = session.get(JobSchedule, task.name)
    if row is None:
        row = JobSchedule(name=task.name, runs=0)
        session.add(row)
    row.last_run_at = now
    row.next_run_at = now + task.interval
    row.runs = (row.runs or 0) + 1


# --- drain: everything, synchronously, inside one session (tests) ---------------------------


@dataclass(frozen=True)
class Ran:
    """What :func:`drain` ran: a job, or a consumer on an event (with its error, if any)."""

    kind: str  # "job" | "event"
    name: str
    topic: str | None = None
    event_id: uuid.UUID | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _deliver_here(session: Session, ev: OutboxEvent, consumer: Consumer) -> str | None:
    """Run a consumer inside ``session`` (a savepoint), recording the delivery beside it."""
    row = session.scalars(
        select(OutboxDelivery).where(
            OutboxDelivery.event_id == ev.id, OutboxDelivery.consumer == consumer.name
        )
    ).first()
    if row is not None and row.status in (DONE, DEAD):
        return None
    if row is None:
        row = OutboxDelivery(
            workspace_id=ev.workspace_id, event_id=ev.id, consumer=consumer.name, attempts=0
        )
        session.add(row)
        session.flush()
    scoped_to = session.info.get("workspace_id")
    session.info["workspace_id"] = ev.workspace_id
    try:
        with session.begin_nested():
            consumer.fn(system_context(session, ev.workspace_id), Event.of(ev))
            row.status, row.last_error = DONE, None
            row.attempts += 1
            row.updated_at = utcnow()
    except Exception as exc:
        row.attempts += 1
        row.status = DEAD if row.attempts >= get_settings().job_max_attempts else FAILED
        row.last_error = _error_text(exc)
        row.updated_at = utcnow()
        session.flush()
        return _error_text(exc)
    finally:
        session.info["workspace_id"] = scoped_to
    return None


def drain(session: Session, *, raise_errors: bool = True, max_rounds: int = 50) -> list[Ran]:
    """FOR TESTS: run, synchronously and inside ``session``, the jobs enqueued on it (or on
    sessions of its connection that 'committed' into the test's outer transaction) and hand
    the outbox events it can see to their consumers, over and over until nothing is left.
    A failing consumer is recorded like in production; with ``raise_errors`` (the default)
    its exception is then raised, else drain goes on and reports it in the result."""
    _ensure_loaded()
    ran: list[Ran] = []
    options = {} if session.info.get("workspace_id") else {"all_workspaces": True}
    for _ in range(max_rounds):
        work = False
        for name, kwargs in _take_jobs(session):
            work = True
            JOBS[name].fn(**kwargs)
            ran.append(Ran("job", name, kwargs=kwargs))
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None))
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .execution_options(**options)
        ).all()
        for ev in events:
            work = True
            for consumer in consumers_for(ev.topic):
                error = _deliver_here(session, ev, consumer)
                ran.append(Ran("event", consumer.name, ev.topic, ev.id, error=error))
                if error and raise_errors:
                    raise JobFailed(f"consumer {consumer.name} failed on {ev.topic}: {error}")
            ev.dispatched_at = utcnow()
            ev.attempts += 1
        session.flush()
        if not work:
            return ran
    raise RuntimeError(f"drain() still had work after {max_rounds} rounds (a loop of events?)")


class JobFailed(RuntimeError):
    """A consumer failed while :func:`drain` ran it."""
