"""Staleness: inactive people (reversible), the inactivity setting, bounced emails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from rapport.core.context import Context
from rapport.hygiene.models import PersonFlag
from rapport.hygiene.service import staleness

Api = Callable[[str], TestClient]
NOW = datetime.now(UTC)
LATER = NOW + timedelta(days=200)  # judged from here, everyone was created > 180 days ago


def _person(api: TestClient, first: str, **extra: Any) -> str:
    response = api.post("/api/v1/people", json={"first_name": first, "last_name": "Test", **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _activity(api: TestClient, person: str, when: datetime, **extra: Any) -> None:
    body = {"kind": "email", "subject": "hi", "person_id": person,
            "occurred_at": when.isoformat(), **extra}  # fmt: skip
    response = api.post("/api/v1/activities", json=body)
    assert response.status_code == 201, response.text


def _inactive(ctx: Context) -> set[str]:
    rows = ctx.session.scalars(select(PersonFlag).where(PersonFlag.inactive_since.is_not(None)))
    return {str(f.person_id) for f in rows}


def _cast(api: TestClient) -> dict[str, str]:
    people = {name: _person(api, name) for name in ("quiet", "busy", "dealer", "old")}
    _activity(api, people["busy"], LATER - timedelta(days=10))
    _activity(api, people["old"], NOW - timedelta(days=10))
    pipeline = api.post("/api/v1/pipelines", json={"name": "Stale"}).json()
    deal = api.post("/api/v1/deals", json={"title": "Open", "currency": "EUR",
                                           "pipeline_id": pipeline["id"],
                                           "person_id": people["dealer"]})  # fmt: skip
    assert deal.status_code == 201, deal.text
    return people


class TestInactive:
    def test_quiet_people_without_open_deals_are_flagged(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        p = _cast(api)
        result = staleness.flag_stale(ada_ctx, now=LATER)
        assert _inactive(ada_ctx) == {p["quiet"], p["old"]}
        assert (result.flagged, result.inactive, result.inactive_days) == (2, 2, 180)
        again = staleness.flag_stale(ada_ctx, now=LATER)
        assert (again.flagged, again.revived, again.inactive) == (0, 0, 2)

    def test_new_activity_clears_the_flag(self, api: TestClient, ada_ctx: Context) -> None:
        p = _cast(api)
        staleness.flag_stale(ada_ctx, now=LATER)
        _activity(api, p["quiet"], LATER - timedelta(days=1))
        result = staleness.flag_stale(ada_ctx, now=LATER)
        assert result.revived == 1
        assert _inactive(ada_ctx) == {p["old"]}

    def test_recently_created_people_are_not_inactive(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        _cast(api)
        assert staleness.flag_stale(ada_ctx, now=NOW + timedelta(days=1)).inactive == 0

    def test_the_period_is_a_workspace_setting(self, api: TestClient, api_as: Api) -> None:
        p = _cast(api)
        assert api.get("/api/v1/hygiene/settings").json() == {"inactive_days": 180}
        assert api.post("/api/v1/quality/stale").json()["inactive"] == 0  # judged from today
        response = api.put("/api/v1/hygiene/settings", json={"inactive_days": 0})
        assert response.status_code == 422
        response = api.put("/api/v1/hygiene/settings", json={"inactive_days": 5})
        assert response.status_code == 200, response.text
        assert api.get("/api/v1/hygiene/settings").json() == {"inactive_days": 5}
        assert api_as("dev").get("/api/v1/hygiene/settings").json() == {"inactive_days": 180}
        assert p  # people created today: never inactive, whatever the period

    def test_cli_flags_with_a_given_now(self, api: TestClient, acme: Any) -> None:
        from typer.testing import CliRunner

        from rapport.cli import app

        p = _cast(api)
        out = CliRunner().invoke(app, ["hygiene", "stale", "-w", str(acme),
                                       "--now", LATER.isoformat()])  # fmt: skip
        assert out.exit_code == 0, out.output
        flags = api.get("/api/v1/quality").json()
        assert flags["inactive"] == 2
        assert p


class TestBounces:
    def test_mark_and_clear_a_bounced_email(self, api: TestClient, api_as: Api) -> None:
        kat = _person(api, "Kat", email="kat@example.org")
        response = api.post(f"/api/v1/people/{kat}/bounce", json={})
        assert response.status_code == 200, response.text
        assert response.json()["bounced_email"] == "kat@example.org"
        assert api.get("/api/v1/quality").json()["bounced_emails"] == 1
        wrong = api.post(f"/api/v1/people/{kat}/bounce", json={"email": "other@example.org"})
        assert wrong.status_code == 422
        assert api_as("dev").post(f"/api/v1/people/{kat}/bounce", json={}).status_code == 404
        cleared = api.delete(f"/api/v1/people/{kat}/bounce")
        assert cleared.status_code == 200 and cleared.json()["bounced_email"] is None
        assert api.get("/api/v1/quality").json()["bounced_emails"] == 0

    def test_an_ingested_bounce_flags_the_email(self, api: TestClient, ada_ctx: Context) -> None:
        kat = _person(api, "Kat", email="kat@example.org")
        _activity(api, kat, NOW, meta={"bounced": True})
        result = staleness.flag_stale(ada_ctx, now=NOW)
        assert result.bounced == 1
        flag = ada_ctx.session.scalars(select(PersonFlag)).one()
        assert flag.bounced_email == "kat@example.org"


class TestPeriodicJob:
    def test_the_daily_job_flags_inactive_people(
        self, api: TestClient, ada_ctx: Context, api_as: Api
    ) -> None:
        from sqlalchemy import update

        from rapport.core import jobs
        from rapport.hub.models import Person

        quiet = _person(api, "Quiet")
        _person(api_as("dev"), "Globex newcomer")  # created today: never inactive
        ada_ctx.session.execute(
            update(Person).execution_options(include_deleted=True)
            .values(created_at=NOW - timedelta(days=365))
        )  # fmt: skip
        ada_ctx.session.flush()
        assert jobs.run_due(ada_ctx.session, ["hygiene.staleness"]) == ["hygiene.staleness"]
        assert quiet in _inactive(ada_ctx)
        assert api.get("/api/v1/quality").json()["inactive"] >= 1
        assert api_as("dev").get("/api/v1/quality").json()["inactive"] == 0
