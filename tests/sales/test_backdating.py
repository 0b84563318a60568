"""History loaded truthfully: a deal created and won or lost at its real past moments, a lead
created at the day it really arrived, through the API, the lead and deal imports and a real
server. Without these, features "as of the close" of a loaded history see everything after the
outcome (issue 15)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rapport.cli import app as cli_app
from rapport.core.context import Context
from tests.hygiene.jobs_helper import drain_jobs
from tests.live import Server
from tests.sales.factories import make_deal, make_pipeline

PAST = "2025-03-01T09:00:00+00:00"
CLOSED = "2025-04-15T17:30:00+00:00"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _errors(response: httpx.Response) -> list[str]:
    return [e["code"] for e in response.json().get("errors", [])]


class TestBackdatedDeals:
    def test_created_and_won_in_the_past_is_stored_and_audited(self, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api), created_at=PAST)
        assert _instant(deal["created_at"]) == _instant(PAST)
        assert _instant(deal["stage_entered_at"]) == _instant(PAST)
        won = api.post(f"/api/v1/deals/{deal['id']}/won", json={"closed_at": CLOSED})
        assert won.status_code == 200, won.text
        assert won.json()["status"] == "won"
        assert _instant(won.json()["closed_at"]) == _instant(CLOSED)
        history = api.get(f"/api/v1/deals/{deal['id']}/history").json()
        assert [_instant(h["entered_at"]) for h in history] == [_instant(PAST), _instant(CLOSED)]
        assert _instant(history[0]["left_at"]) == _instant(CLOSED)
        audit = api.get("/api/v1/audit", params={"record": deal["id"]}).json()["items"]
        closed = next(a for a in audit if a["action"] == "deal.won")
        assert "closed_at" in closed["changes"], closed  # the audit says it was back-dated
        created = next(a for a in audit if a["action"] == "deal.created")
        assert "created_at" in created["changes"], created

    def test_lost_in_the_past(self, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api), created_at=PAST)
        lost = api.post(f"/api/v1/deals/{deal['id']}/lost", json={"closed_at": CLOSED})
        assert lost.status_code == 200, lost.text
        assert lost.json()["status"] == "lost"
        assert _instant(lost.json()["closed_at"]) == _instant(CLOSED)

    def test_close_in_the_future_or_before_creation_is_refused(self, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api), created_at=PAST)
        url = f"/api/v1/deals/{deal['id']}/won"
        future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        refused = api.post(url, json={"closed_at": future})
        assert refused.status_code == 422 and _errors(refused) == ["in-the-future"]
        refused = api.post(url, json={"closed_at": "2025-02-01T00:00:00Z"})
        assert refused.status_code == 422 and _errors(refused) == ["before-stage"]
        refused = api.post(url, json={"closed_at": "2025-04-01T00:00:00"})  # no time zone
        assert refused.status_code == 422 and _errors(refused) == ["naive-datetime"]
        assert api.get(f"/api/v1/deals/{deal['id']}").json()["status"] == "open"

    def test_created_in_the_future_is_refused(self, api: TestClient) -> None:
        future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        body = {"title": "Later", "currency": "EUR", "created_at": future}
        refused = api.post("/api/v1/deals", json=body)
        assert refused.status_code == 422 and _errors(refused) == ["in-the-future"]

    def test_without_a_date_it_closes_now(self, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api))
        won = api.post(f"/api/v1/deals/{deal['id']}/won", json={}).json()
        assert datetime.now(UTC) - _instant(won["closed_at"]).replace(tzinfo=UTC) < timedelta(
            minutes=5
        )

    def test_deals_import_keeps_creation_and_close_dates(self, api: TestClient) -> None:
        person = api.post(
            "/api/v1/people", json={"first_name": "Grace", "emails": [{"email": "g@example.com"}]}
        )
        assert person.status_code == 201, person.text
        text = (
            "Deal Name,Value,Currency,Stage,Close Date,Created,Contact Email\n"
            "Roll-out,1200,EUR,Won,2025-05-20,2025-03-02,g@example.com\n"
            "Early,100,EUR,Lost,2025-01-01,2025-03-02,g@example.com\n"  # closed before created
        )
        files = {"file": ("deals.csv", text.encode(), "text/csv")}
        started = api.post("/api/v1/imports", files=files, data={"object": "deal"})
        assert started.status_code == 202, started.text
        drain_jobs()
        items = {d["title"]: d for d in api.get("/api/v1/deals").json()["items"]}
        rollout, early = items["Roll-out"], items["Early"]
        assert _instant(rollout["created_at"]).date().isoformat() == "2025-03-02"
        assert _instant(rollout["closed_at"]).date().isoformat() == "2025-05-20"
        assert rollout["status"] == "won"
        assert _instant(early["closed_at"]) >= _instant(early["created_at"])  # never before


class TestBackdatedLeads:
    def test_api_lead_keeps_its_creation_date_and_country(self, api: TestClient) -> None:
        body = {"email": "old@example.com", "created_at": PAST, "country": "DE"}
        made = api.post("/api/v1/leads", json=body)
        assert made.status_code in (200, 201, 202), made.text
        person = api.get(f"/api/v1/people/{made.json()['person_id']}").json()
        assert _instant(person["created_at"]) == _instant(PAST)
        assert person["addresses"][0]["country"] == "DE"
        timeline = api.get(f"/api/v1/people/{person['id']}/timeline").json()["items"]
        assert [_instant(a["occurred_at"]) for a in timeline] == [_instant(PAST)]

    def test_an_existing_person_keeps_their_creation_date(self, api: TestClient) -> None:
        first = api.post("/api/v1/leads", json={"email": "same@example.com", "created_at": PAST})
        again = api.post("/api/v1/leads", json={"email": "same@example.com", "created_at": CLOSED})
        person = api.get(f"/api/v1/people/{first.json()['person_id']}").json()
        assert again.json()["person_id"] == person["id"]
        assert _instant(person["created_at"]) == _instant(PAST)

    def test_future_creation_is_refused(self, api: TestClient) -> None:
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        refused = api.post("/api/v1/leads", json={"email": "f@example.com", "created_at": future})
        assert refused.status_code == 422 and _errors(refused) == ["in-the-future"]
        people = api.get("/api/v1/people", params={"q": "f@example.com"}).json()["items"]
        assert people == []

    def test_lead_import_takes_a_created_column(self, api: TestClient) -> None:
        text = "Email,Country,Created\nimp@example.com,France,2025-02-10\n"
        files = {"file": ("leads.csv", text.encode(), "text/csv")}
        report = api.post("/api/v1/sales/leads/import", files=files)
        assert report.status_code == 200, report.text
        assert report.json()["created"] == 1, report.json()
        found = api.get("/api/v1/people", params={"q": "imp@example.com"}).json()["items"]
        person = api.get(f"/api/v1/people/{found[0]['id']}").json()
        assert _instant(person["created_at"]).date().isoformat() == "2025-02-10"
        assert person["addresses"][0]["country"] == "FR"  # normalised by the hub


def test_backdating_through_a_real_server(live_server: Server) -> None:
    """Written and committed by a real process: a back-dated lead, deal and close."""
    headers = {"Authorization": f"Bearer {live_server.token()}"}

    def call(method: str, path: str, json: Any = None) -> httpx.Response:
        return httpx.request(
            method, live_server.url + path, headers=headers, json=json, timeout=60.0
        )

    email = f"live-{uuid.uuid4().hex[:8]}@example.com"
    lead = call("POST", "/api/v1/leads", {"email": email, "created_at": PAST})
    assert lead.status_code in (200, 201, 202), lead.text
    person = call("GET", f"/api/v1/people/{lead.json()['person_id']}").json()
    assert _instant(person["created_at"]) == _instant(PAST)
    deal = call(
        "POST", "/api/v1/deals",
        {"title": "Live", "currency": "EUR", "person_id": person["id"], "created_at": PAST},
    )  # fmt: skip
    assert deal.status_code == 201, deal.text
    won = call("POST", f"/api/v1/deals/{deal.json()['id']}/won", {"closed_at": CLOSED})
    assert won.status_code == 200, won.text
    again = call("GET", f"/api/v1/deals/{deal.json()['id']}").json()
    assert again["status"] == "won" and _instant(again["closed_at"]) == _instant(CLOSED)
    # Training as of a past date is stored with the model that the next request reads.
    trained = call("POST", "/api/v1/sales/scoring/model/train?as_of=2025-12-31T00:00:00Z")
    assert trained.status_code == 200, trained.text
    model = call("GET", "/api/v1/sales/scoring/model").json()
    assert model["as_of"].startswith("2025-12-31T00:00:00") and model["warnings"] == []


def test_cli_closes_a_deal_in_the_past(api: TestClient, ada_ctx: Context) -> None:
    deal = make_deal(api, make_pipeline(api), created_at=PAST)
    ada_ctx.session.commit()
    args = ["deals", "close", deal["id"], "-w", "acme", "--outcome", "won"]
    refused = CliRunner().invoke(cli_app, [*args, "--closed-at", "2999-01-01"])
    assert refused.exit_code != 0 and "future" in refused.output, refused.output
    done = CliRunner().invoke(cli_app, [*args, "--closed-at", "2025-04-15T17:30:00", "--json"])
    assert done.exit_code == 0, done.output
    again = api.get(f"/api/v1/deals/{deal['id']}").json()
    assert again["status"] == "won" and _instant(again["closed_at"]) == _instant(CLOSED)
