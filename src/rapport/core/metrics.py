"""Prometheus metrics at ``/metrics``: HTTP traffic by route template, and the state of
background work read from the database at scrape time.

The request path pays for two label lookups and a clock read (:class:`MetricsMiddleware`);
everything about queues is computed only when Prometheus scrapes, by collectors that run a few
indexed queries (:class:`OutboxCollector`, and the ones domains add with :func:`register`).

``/metrics`` is open by default, as Prometheus endpoints usually are: keep it on a private
network. Set ``RAPPORT_METRICS_TOKEN`` to require ``Authorization: Bearer <token>``.

Several processes: the counters live in this process's memory, which is right for
``rapport serve`` (one process). Behind ``--workers N`` (or several servers) each process
answers with its own counts, so scrape each server separately; for several workers of one
server, use prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set before
start, and a ``MultiProcessCollector`` in the scraped registry). The database collectors read
shared state, so every process reports the same queue figures.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Select, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.db import get_database
from rapport.core.errors import Unauthorized
from rapport.core.events import OutboxEvent
from rapport.core.jobs.models import DEAD, FAILED, QUEUED, OutboxDelivery
from rapport.core.logging import get_logger

log = get_logger("rapport.metrics")

# A scrape counts at most this many rows per figure, so a huge backlog cannot make it slow;
# the age gauges still say how far behind the queue is.
COUNT_CAP = 100_000
UNMATCHED = "unmatched"  # the route label of a request no route answered (404s of any path)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

HTTP_REQUESTS = Counter(
    "rapport_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "rapport_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    registry=REGISTRY,
)


def route_template(scope: Scope, root_path: str = "") -> str:
    """The path template the router matched (``/api/v1/people/{person_id}``), never the raw
    path, whose ids would make a new time series per record. ``root_path`` is the scope's
    before routing: what a mount added to it names the mount (``/static/{path}``)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        mount = scope.get("root_path", "")[len(root_path) :]
        return mount + "/{path}" if mount else UNMATCHED
    # A route included under a prefix knows only its own part of the path: take the prefix
    # from the raw path, as the part before the route's own path with its parameters filled.
    params = {str(k): str(v) for k, v in (scope.get("path_params") or {}).items()}
    own = template
    for name, value in params.items():
        own = own.replace("{" + name + "}", value)
    path: str = scope["path"]
    if not path.endswith(own):
        return template
    prefix = path[: len(path) - len(own)]
    for name, value in params.items():  # a prefix with parameters keeps their names, not ids
        prefix = prefix.replace("/" + value, "/{" + name + "}")
    return prefix + template


class MetricsMiddleware:
    """Count every HTTP request and time it, labelled by the route's template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = scope.get("root_path", "")
        status = 500  # what the client gets if the app raises

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route, method = route_template(scope, root_path), scope["method"]
            HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(route, method, str(status)).inc()


# --- figures read from the database at scrape time ------------------------------------------


@contextmanager
def _unscoped_reads() -> Iterator[Session]:
    session = get_database().session(unscoped=True)  # operator view: every workspace
    try:
        yield session
    finally:
        session.close()


def capped_count(session: Session, query: Select[Any]) -> int:
    """How many rows ``query`` finds, counting no further than ``COUNT_CAP``."""
    counted = session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP).subquery()))
    return int(counted or 0)


def age_seconds(oldest: datetime | None) -> float:
    """Seconds since ``oldest``; 0 when there is nothing waiting."""
    return max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0


class DatabaseCollector:
    """A collector whose figures come from one read-only, unscoped session. A database that
    does not answer costs the scrape these figures (and a warning), not the whole scrape."""

    name = "database"

    def read(self, session: Session) -> Iterable[Metric]:
        raise NotImplementedError

    def collect(self) -> Iterable[Metric]:
        try:
            with _unscoped_reads() as session:
                metrics = list(self.read(session))
        except SQLAlchemyError:
            log.warning("metrics: the database did not answer", collector=self.name, exc_info=True)
            return []
        return metrics


class OutboxCollector(DatabaseCollector):
    """Outbox events not yet dispatched and deliveries by state, with the age of the oldest
    of each: a relay or a worker that stopped shows as an age that keeps growing. Every query
    runs on an index (``ix_outbox_pending``, ``ix_outbox_deliveries_status``)."""

    name = "outbox"

    def read(self, session: Session) -> Iterable[Metric]:
        pending = OutboxEvent.dispatched_at.is_(None)
        events = GaugeMetricFamily(
            "rapport_outbox_pending_events",
            f"Outbox events not yet dispatched (counted up to {COUNT_CAP}).",
            value=capped_count(session, select(OutboxEvent.id).where(pending)),
        )
        lag = GaugeMetricFamily(
            "rapport_outbox_lag_seconds",
            "Age of the oldest outbox event not yet dispatched (0: none waiting).",
            value=age_seconds(
                session.scalar(select(func.min(OutboxEvent.created_at)).where(pending))
            ),
        )
        deliveries = GaugeMetricFamily(
            "rapport_job_deliveries",
            f"Event deliveries to consumers by state: queued, failed (to retry), dead (gave up);"
            f" counted up to {COUNT_CAP}.",
            labels=["state"],
        )
        for state in (QUEUED, FAILED, DEAD):
            query = select(OutboxDelivery.id).where(OutboxDelivery.status == state)
            deliveries.add_metric([state], capped_count(session, query))
        oldest = session.scalar(
            select(func.min(OutboxDelivery.updated_at)).where(OutboxDelivery.status == QUEUED)
        )
        queued_age = GaugeMetricFamily(
            "rapport_job_oldest_queued_seconds",
            "Age of the oldest queued delivery (0: the queue is empty).",
            value=age_seconds(oldest),
        )
        return [events, lag, deliveries, queued_age]


_registered: dict[str, Collector] = {}


def register(name: str, collector: Collector) -> None:
    """Add a domain's collector to what ``/metrics`` reports (once per name, however many
    apps a process builds)."""
    if name not in _registered:
        _registered[name] = collector
        REGISTRY.register(collector)


register("outbox", OutboxCollector())


# --- the endpoint -------------------------------------------------------------------------


class MetricsTokenRequired(Unauthorized):
    code, title = "metrics-token-required", "The metrics need a bearer token"
    headers = {"WWW-Authenticate": "Bearer"}  # sent by the problem handler


def scrape(authorization: str | None) -> bytes:
    """The metrics in Prometheus' text format, for a caller with the token when one is set."""
    expected = get_settings().metrics_token
    if expected:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected.encode()
        ):
            raise MetricsTokenRequired("Send Authorization: Bearer <RAPPORT_METRICS_TOKEN>")
    return generate_latest(REGISTRY)


router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus scrape target (a bearer token is required when RAPPORT_METRICS_TOKEN is set)."""
    return Response(scrape(authorization), media_type=CONTENT_TYPE_LATEST)
