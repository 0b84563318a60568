"""The transport of background work: Dramatiq actors on a broker, worker threads, the outbox
relay and the scheduler.

- Embedded (no ``RAPPORT_BROKER_URL``): ``rapport serve`` runs a Dramatiq ``StubBroker`` with
  in-process worker threads, the relay and the scheduler; nothing else to install.
- Broker (``redis://…`` or ``amqp://…``): ``rapport serve`` only sends; ``rapport worker``
  processes consume, relay and schedule. Relays claim disjoint batches (``SKIP LOCKED`` on
  PostgreSQL) and the scheduler claims each tick with a conditional UPDATE, so any number of
  workers may run side by side.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import event
from sqlalchemy.orm import Session

from rapport.core.config import get_settings
from rapport.core.db import get_database
from rapport.core.jobs import work
from rapport.core.jobs.models import LOST_AFTER

log = logging.getLogger("rapport.jobs")
DELIVER_ACTOR = "rapport.deliver"
DELIVER_BATCH_ACTOR = "rapport.deliver_batch"
BATCH = 50  # deliveries per message at most: one transaction runs them all
SQLITE_BATCH = 10  # SQLite has one writer: shorter holds of its lock keep requests from waiting
SCHEDULE_EVERY_SECONDS = 5.0
SWEEP_EVERY_SECONDS = 60.0


def make_broker(url: str | None, *, prefix: str) -> dramatiq.Broker:
    """A Dramatiq broker for this URL: Redis, RabbitMQ, or (no URL) the in-process stub."""
    if not url:
        return StubBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=prefix)
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ValueError(f"RAPPORT_BROKER_URL must start with redis:// or amqp://, not {url!r}")


def _job_actor_fn(name: str) -> Callable[..., None]:
    def run(**kwargs: Any) -> None:
        work.run_job(name, kwargs)

    run.__name__ = run.__qualname__ = name.replace(".", "_")
    return run


def _deliver(delivery_id: str) -> None:
    work.deliver(uuid.UUID(delivery_id))


def _deliver_batch(delivery_ids: list[str]) -> None:
    work.deliver_batch([uuid.UUID(d) for d in delivery_ids])


class Runtime:
    """Actors declared on one broker, and (once started) the threads that serve them."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        *,
        prefix: str | None = None,
        min_backoff_ms: int | None = None,
    ) -> None:
        settings = get_settings()
        self.broker = broker
        self.prefix = prefix or settings.job_queue_prefix
        self.jobs_queue = f"{self.prefix}.jobs"
        self.events_queue = f"{self.prefix}.events"
        self.retry_options = {
            "max_retries": settings.job_max_attempts,
            "min_backoff": min_backoff_ms or settings.job_min_backoff_ms,
            "max_backoff": settings.job_max_backoff_ms,
        }
        self._actors: dict[str, dramatiq.Actor[Any, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.worker: dramatiq.Worker | None = None
        work.load_job_modules()
        self._deliver_actor = dramatiq.Actor(
            _deliver,
            broker=broker,
            actor_name=DELIVER_ACTOR,
            queue_name=self.events_queue,
            priority=0,
            options=dict(self.retry_options),
        )
        self._deliver_batch_actor = dramatiq.Actor(
            _deliver_batch,
            broker=broker,
            actor_name=DELIVER_BATCH_ACTOR,
            queue_name=self.events_queue,
            priority=0,
            options=dict(self.retry_options),
        )
        for name in list(work.JOBS):
            self.actor(name)

    def actor(self, name: str) -> dramatiq.Actor[Any, Any]:
        """The actor of a job, declared on first use (jobs may register late)."""
        with self._lock:
            found = self._actors.get(name)
            if found is None:
                job = work.JOBS[name]
                options = {**self.retry_options, "time_limit": 3_600_000, **job.options}
                found = self._actors[name] = dramatiq.Actor(
                    _job_actor_fn(name),
                    broker=self.broker,
                    actor_name=name,
                    queue_name=self.jobs_queue,
                    priority=0,
                    options=options,
                )
            return found

    def send_job(self, name: str, kwargs: dict[str, Any]) -> None:
        self.actor(name).send_with_options(kwargs=kwargs)

    def send_delivery(self, delivery_id: uuid.UUID) -> None:
        self._deliver_actor.send(str(delivery_id))

    def send_deliveries(self, delivery_ids: list[uuid.UUID]) -> None:
        """Send deliveries in batches (one transaction each), split so that every worker
        thread gets a share of a small backlog; a lone delivery goes as it always did."""
        if len(delivery_ids) == 1:
            self.send_delivery(delivery_ids[0])
            return
        threads = self.worker.worker_threads if self.worker else get_settings().job_worker_threads
        limit = SQLITE_BATCH if get_database().engine.dialect.name == "sqlite" else BATCH
        size = max(1, min(limit, -(-len(delivery_ids) // max(1, threads))))
        for start in range(0, len(delivery_ids), size):
            chunk = delivery_ids[start : start + size]
            self._deliver_batch_actor.send([str(d) for d in chunk])

    def _relay_once(self) -> int:
        ids: list[uuid.UUID] = []
        sent = work.relay_once(ids.append)
        self.send_deliveries(ids)
        return sent

    def _resend_stale(self, older_than: timedelta) -> int:
        ids: list[uuid.UUID] = []
        sent = work.resend_stale(ids.append, older_than=older_than)
        self.send_deliveries(ids)
        return sent

    # --- running --------------------------------------------------------------------------

    def start(
        self, *, consume: bool = True, relay: bool = True, schedule: bool = True, threads: int = 0
    ) -> Runtime:
        """Start worker threads (``consume``), the outbox relay and the scheduler."""
        if consume:
            self.broker.emit_after("process_boot")
            self.worker = dramatiq.Worker(
                self.broker,
                queues={self.jobs_queue, self.events_queue},
                worker_threads=threads or get_settings().job_worker_threads,
                worker_timeout=200,
            )
            self.worker.start()
        if relay:
            self._spawn("rapport-relay", self._relay_loop)
        if schedule:
            self._spawn("rapport-scheduler", self._schedule_loop)
        return self

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wake(self) -> None:
        """Make the relay look at the outbox now rather than at its next poll."""
        self._wake.set()

    def _relay_loop(self) -> None:
        poll = get_settings().job_poll_seconds
        if isinstance(self.broker, StubBroker):
            # A fresh in-memory broker holds none of the messages of the last run.
            self._guard(lambda: self._resend_stale(timedelta(0)))
        since_sweep = 0.0
        while not self._stop.is_set():
            sent = self._guard(self._relay_once)
            since_sweep += poll
            if since_sweep >= SWEEP_EVERY_SECONDS:
                since_sweep = 0.0
                self._guard(lambda: self._resend_stale(LOST_AFTER))
            if not sent:
                self._wake.wait(poll)
                self._wake.clear()

    def _schedule_loop(self) -> None:
        while not self._stop.is_set():
            for name in self._guard(work.claim_due) or []:
                self.send_job(name, {})
            self._stop.wait(SCHEDULE_EVERY_SECONDS)

    def _guard(self, step: Callable[[], Any]) -> Any:
        """A loop step's error is logged, never fatal: the next poll tries again."""
        try:
            return step()
        except Exception:
            log.exception("background loop step failed")
            self._stop.wait(1.0)
            return None

    def stop(self, timeout_ms: int = 10_000, *, close: bool = True) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_ms / 1000)
        self._threads.clear()
        if self.worker is not None:
            self.worker.stop(timeout=timeout_ms)
            self.worker = None
        if close:
            self.broker.close()


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


@event.listens_for(Session, "after_commit")
def _wake_relay(_session: Session) -> None:
    """Any commit may have appended outbox events: let a relay running here look now, so an
    event reaches its consumers in milliseconds rather than at the next poll."""
    runtime = _runtime
    if runtime is not None and runtime._threads:
        runtime.wake()


def get_runtime() -> Runtime:
    """The process's runtime, made from settings on first use (for sending)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            settings = get_settings()
            broker = make_broker(settings.broker_url, prefix=settings.job_queue_prefix)
            _runtime = Runtime(broker)
        return _runtime


def _send_job(name: str, kwargs: dict[str, Any]) -> None:
    get_runtime().send_job(name, kwargs)


work.use_sender(_send_job)  # committed jobs go to this process's runtime


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    with _runtime_lock:
        _runtime = runtime


def start_embedded() -> Runtime | None:
    """What ``rapport serve`` runs at startup: with no broker configured, the worker, relay
    and scheduler in this process; with a broker, nothing (``rapport worker`` does it)."""
    settings = get_settings()
    if settings.broker_url or not settings.jobs_embedded:
        return None
    return get_runtime().start()


def stop_runtime() -> None:
    global _runtime
    with _runtime_lock:
        runtime, _runtime = _runtime, None
    if runtime is not None:
        runtime.stop()
