"""Pipelines and deals through the API: CRUD, validation, stage moves, history, access."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.sales.factories import make_deal, make_pipeline, stage_id

Api = Callable[[str], TestClient]
PROBLEM = "application/problem+json"


class TestPipelines:
    def test_default_pipeline_is_created_lazily_by_the_first_deal(self, api: TestClient) -> None:
        assert api.get("/api/v1/pipelines").json() == []
        deal = api.post(
            "/api/v1/deals", json={"title": "First", "amount": "10", "currency": "usd"}
        ).json()
        pipelines = api.get("/api/v1/pipelines").json()
        assert len(pipelines) == 1 and pipelines[0]["is_default"]
        assert [s["name"] for s in pipelines[0]["stages"]][:2] == ["Qualification", "Discovery"]
        assert deal["stage_id"] == pipelines[0]["stages"][0]["id"]
        assert deal["currency"] == "USD"

    def test_stages_are_ordered_and_can_be_inserted(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        url = f"/api/v1/pipelines/{pipeline['id']}/stages"
        added = api.post(url, json={"name": "Demo", "probability": 30, "position": 1})
        assert added.status_code == 201
        assert [s["name"] for s in api.get(url).json()] == [
            "Lead", "Demo", "Proposal", "Won", "Lost"
        ]  # fmt: skip

    def test_probability_must_be_0_to_100(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        url = f"/api/v1/pipelines/{pipeline['id']}/stages"
        assert api.post(url, json={"name": "X", "probability": 101}).status_code == 422

    def test_stage_with_deals_cannot_be_deleted(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        make_deal(api, pipeline)
        lead = stage_id(pipeline, "Lead")
        response = api.delete(f"/api/v1/pipelines/{pipeline['id']}/stages/{lead}")
        assert response.status_code == 409
        assert api.delete(f"/api/v1/pipelines/{pipeline['id']}").status_code == 409

    def test_member_cannot_configure_pipelines(self, api_as: Api) -> None:
        response = api_as("ben").post("/api/v1/pipelines", json={"name": "Mine"})
        assert response.status_code == 403

    def test_only_admins_make_the_default_pipeline(self, api_as: Api) -> None:
        """Whichever door: POST /pipelines/default, or a first deal made before any pipeline."""
        ben, first = api_as("ben"), {"title": "First", "currency": "EUR"}
        refused = ben.post("/api/v1/pipelines/default")
        assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
        assert refused.json()["detail"] == "role member lacks the permission 'pipelines:write'"
        assert ben.post("/api/v1/deals", json=first).status_code == 403
        assert ben.get("/api/v1/pipelines").json() == []
        made = api_as("ann").post("/api/v1/pipelines/default")
        assert made.status_code == 200 and made.json()["is_default"]
        deal = ben.post("/api/v1/deals", json=first)
        assert deal.status_code == 201 and deal.json()["pipeline_id"] == made.json()["id"]
        assert ben.post("/api/v1/pipelines/default").status_code == 403  # even once it exists


class TestCreateDeal:
    def test_created_with_owner_and_history(self, api: TestClient, cast) -> None:  # type: ignore[no-untyped-def]
        pipeline = make_pipeline(api)
        deal = make_deal(api, pipeline, expected_close_date="2027-01-31")
        assert deal["owner_id"] == str(cast.ada.user_id)
        assert deal["status"] == "open" and deal["amount"] == "1000.00"
        history = api.get(f"/api/v1/deals/{deal['id']}/history").json()
        assert [h["stage_id"] for h in history] == [stage_id(pipeline, "Lead")]
        assert history[0]["left_at"] is None

    def test_negative_amount_is_422_and_writes_nothing(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        response = api.post(
            "/api/v1/deals",
            json={"title": "Bad", "amount": "-5", "currency": "EUR", "pipeline_id": pipeline["id"]},
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"][0]["code"] == "negative-amount"
        assert api.get("/api/v1/deals").json()["items"] == []

    def test_currency_must_match_the_pipeline(self, api: TestClient) -> None:
        pipeline = make_pipeline(api, currency="EUR")
        body = {"title": "T", "amount": "5", "currency": "USD", "pipeline_id": pipeline["id"]}
        response = api.post("/api/v1/deals", json=body)
        assert response.status_code == 422
        assert "currency mismatch" in response.json()["detail"]
        assert response.json()["errors"][0]["code"] == "currency-mismatch"

    def test_not_a_currency_code(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        body = {"title": "T", "currency": "E1R", "pipeline_id": pipeline["id"]}
        assert api.post("/api/v1/deals", json=body).status_code == 422

    def test_links_must_exist_in_the_workspace(self, api: TestClient, api_as: Api) -> None:
        theirs = api_as("dev").post("/api/v1/people", json={"first_name": "G"}).json()
        pipeline = make_pipeline(api)
        body = {"title": "T", "currency": "EUR", "pipeline_id": pipeline["id"]}
        response = api.post(
            "/api/v1/deals",
            json=body | {"person_id": theirs["id"], "owner_id": theirs["id"]},
        )
        assert response.status_code == 422
        codes = {e["code"] for e in response.json()["errors"]}
        assert codes == {"unknown-person_id", "unknown-owner"}

    def test_stage_of_another_pipeline_is_refused(self, api: TestClient) -> None:
        one, two = make_pipeline(api), make_pipeline(api, name="Other")
        body = {"title": "T", "currency": "EUR", "pipeline_id": one["id"]}
        response = api.post("/api/v1/deals", json=body | {"stage_id": stage_id(two, "Lead")})
        assert response.status_code == 422


class TestUpdateDeal:
    def test_stale_version_is_rejected_with_412(self, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api))
        url = f"/api/v1/deals/{deal['id']}"
        ok = api.patch(url, json={"amount": "2000"}, headers={"If-Match": '"1"'})
        assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
        stale = api.patch(url, json={"amount": "3000"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert api.get(url).json()["amount"] == "2000.00"

    def test_changes_are_audited(self, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api))
        api.patch(f"/api/v1/deals/{deal['id']}", json={"title": "Bigger"})
        audit = api.get("/api/v1/audit", params={"record": deal["id"]}).json()["items"]
        updated = next(a for a in audit if a["action"] == "deal.updated")
        assert updated["changes"]["title"] == {"old": "Acme renewal", "new": "Bigger"}

    def test_an_external_id_names_one_deal_even_from_the_bin(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        first = make_deal(api, pipeline, external_id="  CRM-7 ")
        assert first["external_id"] == "CRM-7"
        api.delete(f"/api/v1/deals/{first['id']}")
        body = {"title": "Twin", "currency": "EUR", "pipeline_id": pipeline["id"]}
        taken = api.post("/api/v1/deals", json=body | {"external_id": "CRM-7"})
        assert taken.status_code == 409
        assert taken.json()["type"].endswith("/duplicate-external-id")
        assert taken.json()["errors"][0]["loc"] == ["external_id"]
        other = make_deal(api, pipeline, external_id="CRM-8")
        url = f"/api/v1/deals/{other['id']}"
        assert api.patch(url, json={"external_id": "CRM-7"}).status_code == 409
        assert api.patch(url, json={"external_id": " "}).json()["external_id"] is None
        assert make_deal(api, pipeline)["external_id"] is None  # any number of deals have none

    def test_delete_and_restore(self, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api))
        url = f"/api/v1/deals/{deal['id']}"
        assert api.delete(url).status_code == 200
        assert api.get(url).status_code == 404
        assert api.post(f"{url}/restore").status_code == 200
        assert api.get(url).status_code == 200


class TestMoves:
    def test_move_records_entered_and_left(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        deal = make_deal(api, pipeline)
        url = f"/api/v1/deals/{deal['id']}"
        moved = api.post(f"{url}/move", json={"stage_id": stage_id(pipeline, "Proposal")})
        assert moved.status_code == 200
        history = api.get(f"{url}/history").json()
        assert [h["stage_id"] for h in history] == [
            stage_id(pipeline, "Lead"), stage_id(pipeline, "Proposal")
        ]  # fmt: skip
        assert history[0]["left_at"] == history[1]["entered_at"]
        assert history[1]["left_at"] is None

    def test_unknown_stage_is_422_and_nothing_moves(self, api: TestClient) -> None:
        pipeline, other = make_pipeline(api), make_pipeline(api, name="Other")
        deal = make_deal(api, pipeline)
        url = f"/api/v1/deals/{deal['id']}"
        response = api.post(f"{url}/move", json={"stage_id": stage_id(other, "Proposal")})
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "unknown-stage"
        assert len(api.get(f"{url}/history").json()) == 1

    def test_won_with_reason_then_moving_is_409_until_reopened(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        deal = make_deal(api, pipeline)
        url = f"/api/v1/deals/{deal['id']}"
        api.post(f"{url}/move", json={"stage_id": stage_id(pipeline, "Proposal")})
        won = api.post(f"{url}/won", json={"reason": "Best price"}).json()
        assert won["status"] == "won" and won["close_reason"] == "Best price"
        assert won["closed_at"] is not None and won["stage_id"] == stage_id(pipeline, "Won")
        refused = api.post(f"{url}/move", json={"stage_id": stage_id(pipeline, "Lead")})
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("deal-closed")
        assert api.post(f"{url}/lost", json={}).status_code == 409
        reopened = api.post(f"{url}/reopen", json={}).json()
        assert reopened["status"] == "open"
        assert reopened["stage_id"] == stage_id(pipeline, "Proposal")
        assert reopened["closed_at"] is None

    def test_lost_records_reason(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        deal = make_deal(api, pipeline)
        lost = api.post(f"/api/v1/deals/{deal['id']}/lost", json={"reason": "No budget"}).json()
        assert (lost["status"], lost["close_reason"]) == ("lost", "No budget")

    def test_reopening_an_open_deal_is_409(self, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api))
        assert api.post(f"/api/v1/deals/{deal['id']}/reopen", json={}).status_code == 409


class TestList:
    def test_filters_and_sorting_with_pages(self, api: TestClient, api_as: Api, cast) -> None:  # type: ignore[no-untyped-def]
        pipeline = make_pipeline(api)
        for amount in ("300", "100", "200"):
            make_deal(api, pipeline, amount=amount)
        make_deal(api_as("ben"), pipeline, amount="50")
        first = api.get("/api/v1/deals", params={"sort": "amount", "limit": 2}).json()
        assert [d["amount"] for d in first["items"]] == ["50.00", "100.00"]
        rest = api.get(
            "/api/v1/deals", params={"sort": "amount", "limit": 2, "cursor": first["next_cursor"]}
        ).json()
        assert [d["amount"] for d in rest["items"]] == ["200.00", "300.00"]
        mine = api.get("/api/v1/deals", params={"owner_id": str(cast.ben.user_id)}).json()
        assert [d["amount"] for d in mine["items"]] == ["50.00"]
        big = api.get("/api/v1/deals", params={"amount[gte]": "200", "status": "open"}).json()
        assert len(big["items"]) == 2

    def test_unknown_filter_field_is_422(self, api: TestClient) -> None:
        assert api.get("/api/v1/deals", params={"colour": "red"}).status_code == 422

    def test_search_finds_a_deal_with_a_typo(self, api: TestClient) -> None:
        make_deal(api, make_pipeline(api), title="Globex expansion")
        found = api.get("/api/v1/deals", params={"q": "globx expansion"}).json()["items"]
        assert [d["title"] for d in found] == ["Globex expansion"]


class TestAccess:
    def test_read_only_cannot_write(self, api: TestClient, api_as: Api) -> None:
        pipeline = make_pipeline(api)
        deal = make_deal(api, pipeline)
        cleo = api_as("cleo")
        assert cleo.get(f"/api/v1/deals/{deal['id']}").status_code == 200
        body = {"title": "x", "currency": "EUR"}
        assert cleo.post("/api/v1/deals", json=body).status_code == 403
        assert cleo.patch(f"/api/v1/deals/{deal['id']}", json={"title": "y"}).status_code == 403
        move = {"stage_id": stage_id(pipeline, "Proposal")}
        assert cleo.post(f"/api/v1/deals/{deal['id']}/move", json=move).status_code == 403

    def test_other_workspace_gets_404(self, api: TestClient, api_as: Api) -> None:
        pipeline = make_pipeline(api)
        deal = make_deal(api, pipeline)
        dev = api_as("dev")
        assert dev.get(f"/api/v1/deals/{deal['id']}").status_code == 404
        assert dev.get(f"/api/v1/pipelines/{pipeline['id']}").status_code == 404
        assert dev.get("/api/v1/deals").json()["items"] == []
        move = {"stage_id": stage_id(pipeline, "Proposal")}
        assert dev.post(f"/api/v1/deals/{deal['id']}/move", json=move).status_code == 404
