"""/metrics: HTTP traffic by route template, queue figures read at scrape time, the token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.events import OutboxEvent
from rapport.core.jobs.models import QUEUED, OutboxDelivery
from rapport.core.metrics import OutboxCollector
from rapport.hygiene.metrics import ImportsCollector
from rapport.hygiene.models import ImportJob
from tests.live import Server, start_server

TOKEN = "scrape-me-" + "s" * 24


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels (parsed, not matched as text)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float | None:  # fmt: skip
    return scraped.get((name, frozenset(labels.items())))


def collected(collector: OutboxCollector | ImportsCollector) -> dict[str, float]:
    return {
        s.name + "".join(f"[{v}]" for v in s.labels.values()): s.value
        for family in collector.collect()
        for s in family.samples
    }


class TestThroughARealServer:
    def test_a_request_shows_up_by_route_template_with_its_latency(
        self, live_server: Server
    ) -> None:
        person_id = uuid.uuid4()
        headers = {"Authorization": f"Bearer {live_server.token()}"}
        answer = httpx.get(f"{live_server.url}/api/v1/people/{person_id}", headers=headers)
        assert answer.status_code == 404

        scrape = httpx.get(f"{live_server.url}/metrics")

        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        assert str(person_id) not in scrape.text  # a template, never the raw path
        scraped = samples(scrape.text)
        route = "/api/v1/people/{person_id}"
        count = value(scraped, "rapport_http_requests_total", route=route, method="GET",
                      status="404")  # fmt: skip
        assert count is not None and count >= 1
        timed = value(scraped, "rapport_http_request_duration_seconds_count", route=route,
                      method="GET")  # fmt: skip
        assert timed is not None and timed >= 1
        slowest = value(scraped, "rapport_http_request_duration_seconds_bucket", route=route,
                        method="GET", le="+Inf")  # fmt: skip
        assert slowest == timed

    def test_queue_and_import_figures_are_reported(self, live_server: Server) -> None:
        headers = {"Authorization": f"Bearer {live_server.token()}"}
        created = httpx.post(
            f"{live_server.url}/api/v1/people",
            json={"first_name": "Mira", "last_name": "Scrape"},
            headers=headers,
        )
        assert created.status_code == 201

        scraped = samples(httpx.get(f"{live_server.url}/metrics").text)

        for name in (
            "rapport_outbox_pending_events",
            "rapport_outbox_lag_seconds",
            "rapport_job_oldest_queued_seconds",
            "rapport_import_rows_done",
            "rapport_import_rows_total",
        ):
            assert value(scraped, name) is not None, name
        for state in ("queued", "failed", "dead"):
            assert value(scraped, "rapport_job_deliveries", state=state) is not None, state
        for state in ("queued", "running"):
            assert value(scraped, "rapport_imports", state=state) is not None, state
        posted = value(scraped, "rapport_http_requests_total", route="/api/v1/people",
                       method="POST", status="201")  # fmt: skip
        assert posted is not None and posted >= 1


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose /metrics needs a token."""
    directory: Path = tmp_path_factory.mktemp("metrics-token")
    server = start_server(directory, with_owner=False, settings={"RAPPORT_METRICS_TOKEN": TOKEN})
    yield server
    server.stop()
    server.drop_database()


class TestToken:
    def test_without_the_token_the_scrape_is_refused(self, guarded_server: Server) -> None:
        answer = httpx.get(f"{guarded_server.url}/metrics")

        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "rapport_http_requests_total" not in answer.text

    def test_a_wrong_token_is_refused(self, guarded_server: Server) -> None:
        wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
        assert httpx.get(f"{guarded_server.url}/metrics", headers=wrong).status_code == 401

    def test_the_token_opens_the_scrape(self, guarded_server: Server) -> None:
        right = {"Authorization": f"Bearer {TOKEN}"}
        answer = httpx.get(f"{guarded_server.url}/metrics", headers=right)

        assert answer.status_code == 200
        assert value(samples(answer.text), "rapport_outbox_pending_events") is not None


class TestCollectors:
    """The figures themselves, on rows this test adds (and rolls back)."""

    def test_an_undispatched_event_counts_and_ages_the_outbox(self, ada_ctx: Context) -> None:
        before = collected(OutboxCollector())
        event = OutboxEvent(
            workspace_id=ada_ctx.workspace_id,
            topic="person.created",
            record_type="person",
            created_at=utcnow() - timedelta(minutes=10),
        )
        ada_ctx.session.add(event)
        ada_ctx.session.flush()
        ada_ctx.session.add(
            OutboxDelivery(
                workspace_id=ada_ctx.workspace_id,
                event_id=event.id,
                consumer="tests.metrics",
                status=QUEUED,
                updated_at=utcnow() - timedelta(minutes=5),
            )
        )
        ada_ctx.session.flush()

        after = collected(OutboxCollector())

        assert after["rapport_outbox_pending_events"] == before["rapport_outbox_pending_events"] + 1
        assert after["rapport_outbox_lag_seconds"] >= 600
        assert (
            after["rapport_job_deliveries[queued]"] == before["rapport_job_deliveries[queued]"] + 1
        )
        assert after["rapport_job_oldest_queued_seconds"] >= 300

    def test_a_running_import_reports_its_rows(self, ada_ctx: Context) -> None:
        before = collected(ImportsCollector())
        ada_ctx.session.add(
            ImportJob(
                workspace_id=ada_ctx.workspace_id,
                filename="people.csv",
                format="csv",
                status="running",
                rows_done=1_500,
                total_rows=4_000,
            )
        )
        ada_ctx.session.flush()

        after = collected(ImportsCollector())

        assert after["rapport_imports[running]"] == before["rapport_imports[running]"] + 1
        assert after["rapport_import_rows_done"] == before["rapport_import_rows_done"] + 1_500
        assert after["rapport_import_rows_total"] == before["rapport_import_rows_total"] + 4_000


class TestRouteLabels:
    def test_web_and_static_routes_have_templates_and_unknown_paths_one_label(
        self, anon: TestClient
    ) -> None:
        anon.get("/static/no-such-file.css")
        anon.get(f"/no/such/page/{uuid.uuid4()}")

        scrape = anon.get("/metrics").text

        scraped = samples(scrape)
        assert value(scraped, "rapport_http_requests_total", route="/static/{path}",
                     method="GET", status="404") is not None  # fmt: skip
        assert value(scraped, "rapport_http_requests_total", route="unmatched", method="GET",
                     status="404") is not None  # fmt: skip
        assert "no/such/page" not in scrape
