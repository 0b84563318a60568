"""The timeline: one idempotent ingest path, pages newest first, and the 360° summary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rapport.core.context import Context
from rapport.core.errors import Invalid
from rapport.core.events import AuditEntry
from rapport.hub.models import Activity
from rapport.hub.schemas import ActivityIn, CompanyIn, PersonIn
from rapport.hub.service import companies, people, timeline, timeline_read

PROBLEM = "application/problem+json"
Api = Callable[[str], TestClient]
T0 = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat()


@pytest.fixture
def company(api: TestClient) -> dict[str, Any]:
    response = api.post("/api/v1/companies", json={"name": "Initech", "domain": "initech.com"})
    return response.json()


@pytest.fixture
def person(api: TestClient, company: dict[str, Any]) -> dict[str, Any]:
    response = api.post(
        "/api/v1/people",
        json={"first_name": "Peter", "last_name": "Gibbons", "email": "peter@initech.com",
              "company_id": company["id"]},
    )  # fmt: skip
    return response.json()


def log(api: TestClient, person: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"kind": "email", "person_id": person["id"], "occurred_at": at(0), **fields}
    response = api.post("/api/v1/activities", json=body)
    assert response.status_code == 201, response.text
    return response.json()


class TestLog:
    @pytest.mark.parametrize(
        ("kind", "channel"),
        [("email", "email"), ("call", "phone"), ("meeting", "meeting"), ("chat", "chat"),
         ("social", "social"), ("visit", "in_store"), ("note", "internal")],
    )  # fmt: skip
    def test_channel_defaults_from_kind(
        self, api: TestClient, person: dict[str, Any], kind: str, channel: str
    ) -> None:
        assert log(api, person, kind=kind)["channel"] == channel

    def test_answers_201_with_etag_location_and_the_persons_company(
        self, api: TestClient, person: dict[str, Any], company: dict[str, Any]
    ) -> None:
        response = api.post(
            "/api/v1/activities",
            json={"kind": "purchase", "person_id": person["id"], "amount": "19.99",
                  "currency": "eur", "occurred_at": "2025-01-10T10:00:00+01:00"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"/api/v1/activities/{body['id']}"
        assert body["company_id"] == company["id"]
        assert (body["channel"], body["currency"], body["amount"]) == ("commerce", "EUR", "19.99")
        assert body["occurred_at"].startswith("2025-01-10T09:00:00")

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"occurred_at": "2025-01-10T09:00:00"}, "occurred_at"),
            ({"kind": "purchase", "currency": "EUR"}, "amount"),
            ({"kind": "purchase", "amount": "-1", "currency": "EUR"}, "amount"),
            ({"kind": "purchase", "amount": "10"}, "currency"),
            ({"kind": "purchase", "amount": "10", "currency": "XYZ"}, "currency"),
            ({"channel": "pigeon"}, "channel"),
            ({"kind": "telepathy"}, "kind"),
            ({"external_id": "m-1"}, "source"),
            ({"person_id": None}, "person_id"),
            ({"person_id": "01960000-0000-7000-8000-000000000000"}, "person_id"),
            ({"company_id": "01960000-0000-7000-8000-000000000000"}, "company_id"),
        ],
    )
    def test_bad_input_is_422_naming_the_field(
        self, api: TestClient, person: dict[str, Any], fields: dict[str, Any], field: str
    ) -> None:
        body = {"kind": "email", "person_id": person["id"], **fields}
        response = api.post("/api/v1/activities", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert field in {e["field"] for e in response.json()["errors"]}

    def test_nothing_is_written_on_422(self, api: TestClient, person: dict[str, Any]) -> None:
        api.post("/api/v1/activities", json={"kind": "purchase", "person_id": person["id"]})
        page = api.get(f"/api/v1/people/{person['id']}/timeline").json()
        assert page["items"] == []

    def test_a_company_alone_can_be_the_link(
        self, api: TestClient, company: dict[str, Any]
    ) -> None:
        response = api.post(
            "/api/v1/activities", json={"kind": "meeting", "company_id": company["id"]}
        )
        assert response.status_code == 201
        assert response.json()["person_id"] is None

    def test_read_only_cannot_log(self, api_as: Api, person: dict[str, Any]) -> None:
        response = api_as("cleo").post(
            "/api/v1/activities", json={"kind": "note", "person_id": person["id"]}
        )
        assert response.status_code == 403


class TestIdempotentIngest:
    def test_same_source_and_external_id_answers_the_first_activity(
        self, api: TestClient, person: dict[str, Any]
    ) -> None:
        first = log(api, person, source="gmail", external_id="<abc@mail>", subject="Hello")
        again = api.post(
            "/api/v1/activities",
            json={"kind": "email", "person_id": person["id"], "source": "gmail",
                  "external_id": "<abc@mail>", "subject": "Changed?"},
        )  # fmt: skip
        assert again.status_code == 200
        assert again.json()["id"] == first["id"]
        assert again.json()["subject"] == "Hello"
        assert len(api.get(f"/api/v1/people/{person['id']}/timeline").json()["items"]) == 1
        entries = api.get("/api/v1/audit", params={"record": first["id"]}).json()["items"]
        assert [e["action"] for e in entries] == ["activity.created"]

    def test_another_source_with_the_same_id_is_another_activity(
        self, api: TestClient, person: dict[str, Any]
    ) -> None:
        first = log(api, person, source="shopify", external_id="1001")
        second = log(api, person, source="woocommerce", external_id="1001")
        assert first["id"] != second["id"]

    def test_a_binned_activity_is_not_resurrected_by_a_replay(
        self, api: TestClient, person: dict[str, Any]
    ) -> None:
        first = log(api, person, source="gmail", external_id="m-9")
        api.delete(f"/api/v1/activities/{first['id']}")
        again = api.post(
            "/api/v1/activities",
            json={"kind": "email", "person_id": person["id"], "source": "gmail",
                  "external_id": "m-9"},
        )  # fmt: skip
        assert again.status_code == 200
        assert again.json()["deleted_at"] is not None

    def test_bulk_reports_created_replayed_and_errors(
        self, api: TestClient, person: dict[str, Any]
    ) -> None:
        log(api, person, source="shop", external_id="order-1")
        items = [
            {"kind": "purchase", "person_id": person["id"], "amount": "10", "currency": "EUR",
             "source": "shop", "external_id": "order-1"},
            {"kind": "purchase", "person_id": person["id"], "amount": "20", "currency": "EUR",
             "source": "shop", "external_id": "order-2"},
            {"kind": "purchase", "person_id": person["id"], "amount": "20", "currency": "EUR",
             "source": "shop", "external_id": "order-2"},
            {"kind": "purchase", "person_id": person["id"], "amount": "-5", "currency": "EUR"},
            {"kind": "call", "person_id": "01960000-0000-7000-8000-000000000000"},
        ]  # fmt: skip
        response = api.post("/api/v1/activities/bulk", json={"items": items})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["created"], body["replayed"], body["failed"]) == (1, 2, 2)
        statuses = [r["status"] for r in body["results"]]
        assert statuses == ["replayed", "created", "replayed", "error", "error"]
        assert body["results"][2]["id"] == body["results"][1]["id"]
        assert body["results"][3]["errors"][0]["field"] == "amount"
        assert body["results"][4]["errors"][0]["field"] == "person_id"
        assert len(api.get(f"/api/v1/people/{person['id']}/timeline").json()["items"]) == 2

    def test_service_ingest_many_writes_rows_audit_and_fills_companies(
        self, ada_ctx: Context
    ) -> None:
        company = companies.create(ada_ctx, CompanyIn(name="Acme Corp"))
        someone = people.create(ada_ctx, PersonIn(first_name="Wile", company_id=company.id))
        items: list[ActivityIn | dict[str, Any]] = [
            {"kind": "visit", "person_id": str(someone.id), "occurred_at": at(i),
             "source": "pos", "external_id": f"v{i}"}
            for i in range(1200)
        ]  # fmt: skip
        outcome = timeline.ingest_many(ada_ctx, items)
        assert outcome.count("created") == 1200
        session = ada_ctx.session
        rows = session.scalar(
            select(func.count()).select_from(Activity).where(Activity.company_id == company.id)
        )
        assert rows == 1200
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "activity.created")
        )
        assert audits == 1200
        assert timeline.ingest_many(ada_ctx, items).count("replayed") == 1200

    def test_service_log_says_it_was_a_replay(self, ada_ctx: Context) -> None:
        someone = people.create(ada_ctx, PersonIn(first_name="Road", last_name="Runner"))
        data = ActivityIn(kind="chat", person_id=someone.id, source="intercom", external_id="c1")
        first = timeline.ingest(ada_ctx, data)
        again = timeline.ingest(ada_ctx, data)
        assert (first.is_replay, again.is_replay) == (False, True)
        assert again.activity.id == first.activity.id
        assert timeline.log(ada_ctx, data).id == first.activity.id


class TestIngestRace:
    """Two deliveries of one event can both miss the lookup; the unique constraint decides and
    the loser answers the winner's activity (simulated by hiding the first lookup)."""

    def test_log_that_loses_the_race_is_a_replay(
        self, ada_ctx: Context, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        someone = people.create(ada_ctx, PersonIn(first_name="Racer"))
        data = ActivityIn(kind="email", person_id=someone.id, source="imap", external_id="<r@1>")
        winner = timeline.log(ada_ctx, data)
        real_find = timeline._find
        calls: list[int] = []

        def blind_once(*args: Any) -> Activity | None:
            calls.append(1)
            return None if len(calls) == 1 else real_find(*args)

        monkeypatch.setattr(timeline, "_find", blind_once)
        loser = timeline.ingest(ada_ctx, data)
        assert (loser.is_replay, loser.activity.id) == (True, winner.id)
        timeline.log(ada_ctx, ActivityIn(kind="note", person_id=someone.id))  # session still fine
        count = select(func.count()).select_from(Activity).where(Activity.person_id == someone.id)
        assert ada_ctx.session.scalar(count) == 2

    def test_bulk_chunk_that_loses_the_race_is_retried_item_by_item(
        self, ada_ctx: Context, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        someone = people.create(ada_ctx, PersonIn(first_name="Racer"))
        first = timeline.log(
            ada_ctx, ActivityIn(kind="chat", person_id=someone.id, source="s", external_id="1")
        )
        monkeypatch.setattr(timeline, "_find_many", lambda *_: {})
        items: list[ActivityIn | dict[str, Any]] = [
            ActivityIn(kind="chat", person_id=someone.id, source="s", external_id=str(i))
            for i in (1, 2)
        ]
        outcome = timeline.ingest_many(ada_ctx, items)
        assert [(r.status, r.id == first.id) for r in outcome.results] == [
            ("replayed", True),
            ("created", False),
        ]


class TestCorrectAndBin:
    def test_update_is_versioned_and_audited(self, api: TestClient, person: dict[str, Any]) -> None:
        activity = log(api, person, subject="Hi")
        url = f"/api/v1/activities/{activity['id']}"
        response = api.patch(url, json={"subject": "Hello"}, headers={"If-Match": '"1"'})
        assert response.status_code == 200
        assert response.headers["etag"] == '"2"'
        assert api.patch(url, json={"subject": "X"}, headers={"If-Match": '"1"'}).status_code == 412
        entry = api.get("/api/v1/audit", params={"record": activity["id"]}).json()["items"][0]
        assert entry["changes"] == {"subject": {"old": "Hi", "new": "Hello"}}

    def test_update_checks_money_and_time(self, api: TestClient, person: dict[str, Any]) -> None:
        activity = log(api, person, kind="purchase", amount="10", currency="USD")
        url = f"/api/v1/activities/{activity['id']}"
        for body, field in (
            ({"amount": "-3"}, "amount"),
            ({"amount": None}, "amount"),
            ({"currency": "ZZZ"}, "currency"),
            ({"occurred_at": "2025-01-01T00:00:00"}, "occurred_at"),
            ({"occurred_at": None}, "occurred_at"),
        ):
            response = api.patch(url, json=body)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == field
        assert api.patch(url, json={"amount": "12.50"}).json()["amount"] == "12.50"

    def test_delete_and_restore(self, api: TestClient, api_as: Api, person: dict[str, Any]) -> None:
        activity = log(api, person)
        url = f"/api/v1/activities/{activity['id']}"
        assert api_as("ben").delete(url).status_code == 403
        assert api.delete(url, headers={"If-Match": '"1"'}).status_code == 200
        assert api.get(url).status_code == 404
        assert api.get(f"/api/v1/people/{person['id']}/timeline").json()["items"] == []
        assert api.post(f"{url}/restore").status_code == 200
        assert api.get(url).status_code == 200

    def test_read_only_cannot_change(
        self, api: TestClient, api_as: Api, person: dict[str, Any]
    ) -> None:
        activity = log(api, person)
        url = f"/api/v1/activities/{activity['id']}"
        cleo = api_as("cleo")
        assert cleo.get(url).status_code == 200
        assert cleo.patch(url, json={"subject": "x"}).status_code == 403
        assert cleo.delete(url).status_code == 403


class TestTimeline:
    def test_newest_first_with_ties_broken_by_id_across_pages(
        self, api: TestClient, person: dict[str, Any]
    ) -> None:
        made = [log(api, person, subject=f"s{i}", occurred_at=at(i // 2)) for i in range(7)]
        expected = sorted(made, key=lambda a: (a["occurred_at"], a["id"]), reverse=True)
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = api.get(f"/api/v1/people/{person['id']}/timeline", params=params).json()
            seen += [a["id"] for a in page["items"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        assert seen == [a["id"] for a in expected]

    def test_filters_by_kind_channel_and_window(
        self, api: TestClient, person: dict[str, Any]
    ) -> None:
        log(api, person, kind="email", occurred_at=at(1), subject="e1")
        log(api, person, kind="call", occurred_at=at(2), subject="c1")
        log(api, person, kind="note", occurred_at=at(3), subject="n1")
        log(api, person, kind="email", occurred_at=at(4), subject="e2")
        url = f"/api/v1/people/{person['id']}/timeline"

        def subjects(**params: Any) -> list[str]:
            response = api.get(url, params=params)
            assert response.status_code == 200, response.text
            return [a["subject"] for a in response.json()["items"]]

        assert subjects(kind="email") == ["e2", "e1"]
        assert subjects(kind="email,call") == ["e2", "c1", "e1"]
        assert subjects(kind=["note", "call"]) == ["n1", "c1"]
        assert subjects(channel="phone") == ["c1"]
        assert subjects(after=at(2), before=at(4)) == ["n1", "c1"]

    def test_bad_filters_are_422(self, api: TestClient, person: dict[str, Any]) -> None:
        url = f"/api/v1/people/{person['id']}/timeline"
        for params, field in (
            ({"kind": "fax"}, "kind"),
            ({"channel": "pigeon"}, "channel"),
            ({"before": "2025-01-01T00:00:00"}, "before"),
        ):
            response = api.get(url, params=params)
            assert response.status_code == 422
            assert response.json()["errors"][0]["field"] == field
        assert api.get(url, params={"cursor": "garbage"}).status_code == 400

    def test_company_timeline_holds_its_peoples_activities(
        self, api: TestClient, person: dict[str, Any], company: dict[str, Any]
    ) -> None:
        mine = log(api, person, subject="to Peter")
        direct = api.post(
            "/api/v1/activities",
            json={"kind": "meeting", "company_id": company["id"], "occurred_at": at(5)},
        ).json()
        page = api.get(f"/api/v1/companies/{company['id']}/timeline").json()
        assert [a["id"] for a in page["items"]] == [direct["id"], mine["id"]]

    def test_workspace_list_of_activities(self, api: TestClient, person: dict[str, Any]) -> None:
        log(api, person, kind="call", occurred_at=at(1))
        log(api, person, kind="email", occurred_at=at(2))
        page = api.get("/api/v1/activities", params={"kind": "call"}).json()
        assert [a["kind"] for a in page["items"]] == ["call"]

    def test_unknown_person_is_404(self, api: TestClient) -> None:
        url = "/api/v1/people/01960000-0000-7000-8000-000000000000/timeline"
        assert api.get(url).status_code == 404


class TestSummary:
    def test_figures_match_a_hand_count(
        self, api: TestClient, person: dict[str, Any], company: dict[str, Any]
    ) -> None:
        log(api, person, kind="email", occurred_at=at(0))
        log(api, person, kind="email", occurred_at=at(22))
        log(api, person, kind="call", occurred_at=at(5))
        log(api, person, kind="note", occurred_at=at(50))  # internal: not a contact
        log(api, person, kind="purchase", occurred_at=at(10), amount="19.99", currency="EUR")
        log(api, person, kind="purchase", occurred_at=at(31), amount="5.01", currency="eur")
        log(api, person, kind="purchase", occurred_at=at(36), amount="100", currency="USD")
        future = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        log(api, person, kind="meeting", occurred_at=future)  # booked, not yet a contact
        binned = log(api, person, kind="email", occurred_at=at(40))
        api.delete(f"/api/v1/activities/{binned['id']}")
        other = api.post("/api/v1/people", json={"first_name": "Milton"}).json()
        log(api, other, kind="purchase", occurred_at=at(45), amount="999", currency="EUR")

        response = api.get(f"/api/v1/people/{person['id']}/summary")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["person"]["id"] == person["id"]
        assert body["company"]["name"] == "Initech"
        channels = {c["channel"]: (c["count"], c["last_at"]) for c in body["channels"]}
        assert {k: v[0] for k, v in channels.items()} == {
            "commerce": 3, "email": 2, "internal": 1, "meeting": 1, "phone": 1,
        }  # fmt: skip
        assert channels["email"][1].startswith(at(22)[:19])
        assert channels["meeting"][1] is None
        assert body["total_activities"] == 8
        assert body["last_contact_at"].startswith(at(36)[:19])
        spend = {s["currency"]: (Decimal(s["total"]), s["orders"]) for s in body["spend"]}
        assert spend == {"EUR": (Decimal("25.00"), 2), "USD": (Decimal("100.00"), 1)}
        assert body["first_purchase_at"].startswith(at(10)[:19])
        assert body["last_purchase_at"].startswith(at(36)[:19])

    def test_a_person_with_no_history(self, api: TestClient) -> None:
        someone = api.post("/api/v1/people", json={"first_name": "New"}).json()
        body = api.get(f"/api/v1/people/{someone['id']}/summary").json()
        assert body["company"] is None
        assert (body["channels"], body["spend"], body["total_activities"]) == ([], [], 0)
        assert body["last_contact_at"] is None

    def test_service_summary(self, ada_ctx: Context) -> None:
        someone = people.create(ada_ctx, PersonIn(first_name="Sam"))
        for amount in ("0.10", "0.20", "0.30"):
            timeline.log(
                ada_ctx,
                ActivityIn(kind="purchase", person_id=someone.id, amount=Decimal(amount),
                           currency="GBP"),
            )  # fmt: skip
        result = timeline_read.summary(ada_ctx, someone.id)
        assert [(s.currency, s.total, s.orders) for s in result.spend] == [
            ("GBP", Decimal("0.60"), 3)
        ]


class TestIsolation:
    def test_other_workspace_gets_404_on_every_timeline_endpoint(
        self, api: TestClient, api_as: Api, person: dict[str, Any], company: dict[str, Any]
    ) -> None:
        activity = log(api, person)
        dev = api_as("dev")
        url = f"/api/v1/activities/{activity['id']}"
        answers = [
            dev.get(url),
            dev.patch(url, json={"subject": "Pwned"}),
            dev.delete(url),
            dev.post(f"{url}/restore"),
            dev.get(f"/api/v1/people/{person['id']}/timeline"),
            dev.get(f"/api/v1/people/{person['id']}/summary"),
            dev.get(f"/api/v1/companies/{company['id']}/timeline"),
        ]
        assert [r.status_code for r in answers] == [404] * len(answers)
        assert dev.get("/api/v1/activities").json()["items"] == []
        assert api.get(url).json()["subject"] is None

    def test_cannot_log_against_another_workspaces_person(
        self, api_as: Api, person: dict[str, Any], company: dict[str, Any]
    ) -> None:
        dev = api_as("dev")
        for link in ({"person_id": person["id"]}, {"company_id": company["id"]}):
            response = dev.post("/api/v1/activities", json={"kind": "note", **link})
            assert response.status_code == 422
            assert response.json()["errors"][0]["field"] == next(iter(link))

    def test_the_same_external_id_in_two_workspaces_is_two_activities(
        self, api: TestClient, api_as: Api, person: dict[str, Any]
    ) -> None:
        mine = log(api, person, source="gmail", external_id="<same@id>")
        dev = api_as("dev")
        theirs_person = dev.post("/api/v1/people", json={"first_name": "Dev's"}).json()
        theirs = dev.post(
            "/api/v1/activities",
            json={"kind": "email", "person_id": theirs_person["id"], "source": "gmail",
                  "external_id": "<same@id>"},
        )  # fmt: skip
        assert theirs.status_code == 201
        assert theirs.json()["id"] != mine["id"]

    def test_service_refuses_a_naive_time(self, ada_ctx: Context) -> None:
        someone = people.create(ada_ctx, PersonIn(first_name="Tz"))
        with pytest.raises(Invalid):
            timeline.log(
                ada_ctx,
                ActivityIn(kind="note", person_id=someone.id, occurred_at=datetime(2025, 1, 1)),
            )
