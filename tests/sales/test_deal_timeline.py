"""A deal's own timeline: activities carry ``deal_id``; the deal page lists them newest first,
cursor-paged, and nothing of another workspace's deals can be read or linked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from rapport.core.context import Context
from rapport.core.errors import Invalid, NotFound
from rapport.hub.models import ActivityKind
from rapport.hub.schemas import ActivityIn, ActivityPatch
from rapport.hub.service import timeline
from rapport.hygiene.service import merge
from rapport.sales.schemas import DealIn
from rapport.sales.service import deals
from tests.sales.factories import make_deal, make_pipeline

Api = Callable[[str], TestClient]
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat()


@pytest.fixture
def person(api: TestClient) -> dict[str, Any]:
    company = api.post("/api/v1/companies", json={"name": "Umbrella"}).json()
    body = {"first_name": "Alice", "last_name": "Abernathy", "company_id": company["id"]}
    return dict(api.post("/api/v1/people", json=body).json())


@pytest.fixture
def deal(api: TestClient, person: dict[str, Any]) -> dict[str, Any]:
    return make_deal(api, make_pipeline(api), title="Umbrella rollout", person_id=person["id"])


def log(api: TestClient, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/v1/activities", json={"kind": "call", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestLinking:
    def test_an_activity_logged_on_a_deal_carries_deal_id(
        self, api: TestClient, deal: dict[str, Any], person: dict[str, Any]
    ) -> None:
        made = log(api, person_id=person["id"], deal_id=deal["id"], subject="Kick-off")
        assert made["deal_id"] == deal["id"]
        assert api.get(f"/api/v1/activities/{made['id']}").json()["deal_id"] == deal["id"]

    def test_a_deal_alone_links_its_person_and_company(
        self, api: TestClient, deal: dict[str, Any], person: dict[str, Any]
    ) -> None:
        made = log(api, deal_id=deal["id"])
        assert made["person_id"] == person["id"]
        assert made["company_id"] == person["company_id"]
        # so it is on the person's timeline too
        items = api.get(f"/api/v1/people/{person['id']}/timeline").json()["items"]
        assert [a["id"] for a in items] == [made["id"]]

    def test_a_deal_without_person_or_company_is_link_enough(self, api: TestClient) -> None:
        bare = make_deal(api, make_pipeline(api), title="Bare")
        made = log(api, deal_id=bare["id"], kind="note")
        assert (made["deal_id"], made["person_id"], made["company_id"]) == (bare["id"], None, None)

    def test_unknown_deal_is_422_naming_the_field_and_writes_nothing(
        self, api: TestClient, person: dict[str, Any]
    ) -> None:
        missing = "0192f0c0-0000-7000-8000-000000000000"
        response = api.post(
            "/api/v1/activities",
            json={"kind": "call", "person_id": person["id"], "deal_id": missing},
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == "deal_id"
        assert api.get(f"/api/v1/people/{person['id']}/timeline").json()["items"] == []

    def test_a_binned_deal_cannot_be_linked(
        self, api: TestClient, deal: dict[str, Any], person: dict[str, Any]
    ) -> None:
        api.delete(f"/api/v1/deals/{deal['id']}")
        response = api.post("/api/v1/activities", json={"kind": "call", "deal_id": deal["id"]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "deal_id"

    def test_update_links_and_unlinks_a_deal(
        self, api: TestClient, deal: dict[str, Any], person: dict[str, Any]
    ) -> None:
        made = log(api, person_id=person["id"])
        url = f"/api/v1/activities/{made['id']}"
        linked = api.patch(url, json={"deal_id": deal["id"]}, headers={"If-Match": '"1"'})
        assert linked.status_code == 200, linked.text
        assert linked.json()["deal_id"] == deal["id"] and linked.json()["version"] == 2
        bad = api.patch(url, json={"deal_id": "0192f0c0-0000-7000-8000-000000000000"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "deal_id"
        unlinked = api.patch(url, json={"deal_id": None})
        assert unlinked.status_code == 200 and unlinked.json()["deal_id"] is None

    def test_bulk_reports_an_unknown_deal_per_item(
        self, api: TestClient, deal: dict[str, Any], person: dict[str, Any]
    ) -> None:
        items = [
            {"kind": "note", "deal_id": deal["id"]},
            {"kind": "note", "person_id": person["id"],
             "deal_id": "0192f0c0-0000-7000-8000-000000000000"},
        ]  # fmt: skip
        body = api.post("/api/v1/activities/bulk", json={"items": items}).json()
        assert (body["created"], body["failed"]) == (1, 1)
        assert body["results"][1]["errors"][0]["field"] == "deal_id"
        page = api.get(f"/api/v1/deals/{deal['id']}/timeline").json()
        assert [a["id"] for a in page["items"]] == [body["results"][0]["id"]]
        assert page["items"][0]["person_id"] == person["id"]


class TestDealTimeline:
    def test_newest_first_cursor_pages_only_the_deals_activities(
        self, api: TestClient, deal: dict[str, Any], person: dict[str, Any]
    ) -> None:
        mine = [log(api, deal_id=deal["id"], occurred_at=at(d), subject=f"d{d}") for d in range(5)]
        log(api, person_id=person["id"], occurred_at=at(10), subject="not about the deal")
        url = f"/api/v1/deals/{deal['id']}/timeline"
        first = api.get(url, params={"limit": 3}).json()
        assert [a["subject"] for a in first["items"]] == ["d4", "d3", "d2"]
        assert first["has_more"] is True
        second = api.get(url, params={"limit": 3, "cursor": first["next_cursor"]}).json()
        assert [a["subject"] for a in second["items"]] == ["d1", "d0"]
        assert second["has_more"] is False
        assert {a["id"] for a in first["items"] + second["items"]} == {m["id"] for m in mine}

    def test_filters_like_the_person_timeline(self, api: TestClient, deal: dict[str, Any]) -> None:
        log(api, deal_id=deal["id"], kind="call", occurred_at=at(0))
        log(api, deal_id=deal["id"], kind="meeting", occurred_at=at(1))
        url = f"/api/v1/deals/{deal['id']}/timeline"
        assert [a["kind"] for a in api.get(url, params={"kind": "meeting"}).json()["items"]] == [
            "meeting"
        ]
        assert api.get(url, params={"kind": "telepathy"}).status_code == 422
        assert len(api.get(url, params={"after": at(0.5)}).json()["items"]) == 1

    def test_the_activities_list_filters_by_deal(
        self, api: TestClient, deal: dict[str, Any], person: dict[str, Any]
    ) -> None:
        made = log(api, deal_id=deal["id"])
        log(api, person_id=person["id"])
        listed = api.get("/api/v1/activities", params={"deal_id": deal["id"]}).json()["items"]
        assert [a["id"] for a in listed] == [made["id"]]
        assert len(api.get("/api/v1/activities").json()["items"]) == 2
        assert api.get("/api/v1/activities", params={"deal_id": "nope"}).status_code == 422

    def test_a_binned_activity_leaves_the_deal_timeline(
        self, api: TestClient, deal: dict[str, Any]
    ) -> None:
        made = log(api, deal_id=deal["id"])
        api.delete(f"/api/v1/activities/{made['id']}")
        assert api.get(f"/api/v1/deals/{deal['id']}/timeline").json()["items"] == []

    def test_unknown_deal_is_404(self, api: TestClient) -> None:
        missing = "0192f0c0-0000-7000-8000-000000000000"
        response = api.get(f"/api/v1/deals/{missing}/timeline")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


class TestIsolation:
    def test_another_workspace_cannot_read_or_link_the_deal(
        self, api: TestClient, api_as: Api, deal: dict[str, Any]
    ) -> None:
        log(api, deal_id=deal["id"], subject="secret")
        dev = api_as("dev")
        assert dev.get(f"/api/v1/deals/{deal['id']}/timeline").status_code == 404
        assert dev.get("/api/v1/activities", params={"deal_id": deal["id"]}).json()["items"] == []
        dev_person = dev.post("/api/v1/people", json={"first_name": "Dev"}).json()
        response = dev.post(
            "/api/v1/activities",
            json={"kind": "note", "person_id": dev_person["id"], "deal_id": deal["id"]},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "deal_id"


class TestService:
    def test_log_and_read_a_deals_timeline(self, ada_ctx: Context) -> None:
        deal = deals.create(ada_ctx, DealIn(title="Service deal", amount=5, currency="EUR"))
        first = timeline.log(
            ada_ctx, ActivityIn(kind=ActivityKind.NOTE, deal_id=deal.id, occurred_at=T0)
        )
        second = timeline.log(
            ada_ctx,
            ActivityIn(kind=ActivityKind.CALL, deal_id=deal.id, occurred_at=T0 + timedelta(1)),
        )
        page = deals.timeline(ada_ctx, deal.id, limit=10)
        assert [a.id for a in page.items] == [second.id, first.id]
        timeline.update(ada_ctx, first.id, ActivityPatch(deal_id=None))
        assert [a.id for a in deals.timeline(ada_ctx, deal.id).items] == [second.id]

    def test_unknown_deal_is_refused(self, ada_ctx: Context) -> None:
        with pytest.raises(Invalid):
            timeline.log(ada_ctx, ActivityIn(kind=ActivityKind.NOTE, deal_id=uuid.uuid4()))
        with pytest.raises(NotFound):
            deals.timeline(ada_ctx, uuid.uuid4())


class TestMerge:
    def test_merging_people_keeps_deals_and_their_timeline_and_undo_puts_them_back(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        keep = api.post(
            "/api/v1/people", json={"first_name": "Ann", "email": "ann@example.com"}
        ).json()
        twin = api.post("/api/v1/people", json={"first_name": "Anne"}).json()
        deal = make_deal(api, make_pipeline(api), title="Twin deal", person_id=twin["id"])
        made = log(api, deal_id=deal["id"], subject="About the deal")
        assert made["person_id"] == twin["id"]
        row = merge.merge(ada_ctx, uuid.UUID(keep["id"]), uuid.UUID(twin["id"]))
        ada_ctx.session.flush()
        assert api.get(f"/api/v1/deals/{deal['id']}").json()["person_id"] == keep["id"]
        (moved,) = api.get(f"/api/v1/deals/{deal['id']}/timeline").json()["items"]
        assert (moved["id"], moved["person_id"]) == (made["id"], keep["id"])
        merge.undo(ada_ctx, row.id)
        ada_ctx.session.flush()
        assert api.get(f"/api/v1/deals/{deal['id']}").json()["person_id"] == twin["id"]
        (back,) = api.get(f"/api/v1/deals/{deal['id']}/timeline").json()["items"]
        assert back["person_id"] == twin["id"]


class TestIndex:
    def test_the_deal_timeline_is_served_by_its_index(self, ada_ctx: Context) -> None:
        """EXPLAIN on either database: the (workspace, deal, occurred_at) index serves a page."""
        made = [
            deals.create(ada_ctx, DealIn(title=f"Indexed {i}", amount=1, currency="EUR"))
            for i in range(20)
        ]
        items: list[ActivityIn | dict[str, Any]] = [
            ActivityIn(kind=ActivityKind.NOTE, deal_id=d.id, occurred_at=T0 + timedelta(hours=h))
            for d in made
            for h in range(20)
        ]
        timeline.ingest_many(ada_ctx, items)
        connection = ada_ctx.session.connection()
        connection.exec_driver_sql("ANALYZE activities" if _is_pg(ada_ctx) else "ANALYZE")
        captured: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            captured.append((statement, params))

        event.listen(connection, "before_cursor_execute", capture)
        try:
            deals.timeline(ada_ctx, made[3].id, limit=10)
        finally:
            event.remove(connection, "before_cursor_execute", capture)
        statement, params = captured[-1]
        if _is_pg(ada_ctx):
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = connection.exec_driver_sql("EXPLAIN " + statement, params)
        else:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        plan = "\n".join(str(r[-1]) for r in rows)
        assert "ix_activities_ws_deal_time" in plan, plan


def _is_pg(ctx: Context) -> bool:
    return ctx.session.get_bind().dialect.name == "postgresql"
