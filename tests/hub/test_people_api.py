"""People through the HTTP API: CRUD, validation, concurrency, bin, bulk, lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Cast

PROBLEM = "application/problem+json"
Api = Callable[[str], TestClient]


def make(api: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.mil", **fields}
    response = api.post("/api/v1/people", json=body)
    assert response.status_code == 201, response.text
    return response.json()


class TestCreate:
    def test_normalises_email_phone_country_and_name(self, api: TestClient) -> None:
        person = make(
            api,
            first_name="  grace  ",
            email="Grace.Hopper@NAVY.mil",
            phone="(415) 555-2671",
            addresses=[{"city": "Arlington", "country": "United States"}],
        )
        assert person["first_name"] == "Grace"
        assert person["email"] == "grace.hopper@navy.mil"
        assert person["phone"] == "+14155552671"
        assert person["addresses"][0]["country"] == "US"
        assert person["full_name"] == "Grace Hopper"
        assert person["version"] == 1

    def test_answers_201_with_etag_and_location(self, api: TestClient) -> None:
        response = api.post("/api/v1/people", json={"first_name": "Ada"})
        assert response.status_code == 201
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"].endswith(response.json()["id"])

    def test_several_emails_one_primary(self, api: TestClient) -> None:
        person = make(
            api,
            email=None,
            emails=[{"email": "a@x.org", "label": "work"}, {"email": "b@x.org", "primary": True}],
        )
        assert person["email"] == "b@x.org"
        assert [e["email"] for e in person["emails"]] == ["b@x.org", "a@x.org"]
        assert [e["primary"] for e in person["emails"]] == [True, False]

    def test_invalid_email_and_phone_are_reported_per_field(self, api: TestClient) -> None:
        response = api.post(
            "/api/v1/people",
            json={"first_name": "X", "emails": [{"email": "not-an-email"}], "phone": "12"},
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"emails.0.email", "phone"}

    def test_unknown_field_and_wrong_type_are_422(self, api: TestClient) -> None:
        response = api.post("/api/v1/people", json={"first_name": "X", "shoe_size": 9})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "shoe_size"
        response = api.post("/api/v1/people", json={"first_name": ["X"]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "first_name"

    def test_needs_a_name_or_email(self, api: TestClient) -> None:
        response = api.post("/api/v1/people", json={"job_title": "CEO"})
        assert response.status_code == 422

    def test_duplicate_email_is_409_and_writes_nothing(self, api: TestClient) -> None:
        make(api)
        response = api.post(
            "/api/v1/people", json={"first_name": "Other", "email": "GRACE@navy.mil"}
        )
        assert response.status_code == 409
        assert response.json()["type"].endswith("/duplicate-email")
        listed = api.get("/api/v1/people", params={"first_name": "Other"}).json()
        assert listed["items"] == []

    def test_unknown_company_and_owner_are_field_errors(self, api: TestClient) -> None:
        response = api.post(
            "/api/v1/people",
            json={
                "first_name": "X",
                "company_id": "01900000-0000-7000-8000-000000000000",
                "owner_id": "01900000-0000-7000-8000-000000000001",
            },
        )
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"company_id", "owner_id"}

    def test_tags_are_created_once_case_insensitively(self, api: TestClient) -> None:
        first = make(api, tags=["VIP", "beta"])
        second = make(api, email="other@x.org", tags=["vip"])
        assert sorted(t["name"] for t in first["tags"]) == ["VIP", "beta"]
        assert second["tags"][0]["id"] == next(t["id"] for t in first["tags"] if t["name"] == "VIP")


class TestIdempotency:
    def test_retry_with_same_key_replays_the_first_answer(self, api: TestClient) -> None:
        headers = {"Idempotency-Key": "create-grace-1"}
        body = {"first_name": "Grace", "email": "g1@x.org"}
        first = api.post("/api/v1/people", json=body, headers=headers)
        second = api.post("/api/v1/people", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json()["id"] == first.json()["id"]
        assert second.headers["idempotent-replayed"] == "true"
        assert len(api.get("/api/v1/people", params={"email": "g1@x.org"}).json()["items"]) == 1

    def test_same_key_different_body_is_refused(self, api: TestClient) -> None:
        headers = {"Idempotency-Key": "k2"}
        api.post("/api/v1/people", json={"first_name": "A"}, headers=headers)
        response = api.post("/api/v1/people", json={"first_name": "B"}, headers=headers)
        assert response.status_code == 422

    def test_keys_are_private_to_the_credential(self, api_as: Api) -> None:
        headers = {"Idempotency-Key": "shared-key"}
        ada = api_as("ada").post("/api/v1/people", json={"first_name": "A"}, headers=headers)
        ben = api_as("ben").post("/api/v1/people", json={"first_name": "A"}, headers=headers)
        assert ada.status_code == ben.status_code == 201
        assert ada.json()["id"] != ben.json()["id"]


class TestUpdate:
    def test_patch_changes_only_sent_fields_and_bumps_version(self, api: TestClient) -> None:
        person = make(api, job_title="Rear Admiral")
        response = api.patch(f"/api/v1/people/{person['id']}", json={"last_name": "Murray"})
        assert response.status_code == 200
        body = response.json()
        assert (body["last_name"], body["job_title"], body["version"]) == (
            "Murray",
            "Rear Admiral",
            2,
        )
        assert body["full_name"] == "Grace Murray"
        assert response.headers["etag"] == '"2"'

    def test_stale_if_match_is_412_and_changes_nothing(self, api: TestClient) -> None:
        person = make(api)
        url = f"/api/v1/people/{person['id']}"
        assert (
            api.patch(url, json={"job_title": "A"}, headers={"If-Match": '"1"'}).status_code == 200
        )
        stale = api.patch(url, json={"job_title": "B"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert stale.headers["content-type"] == PROBLEM
        assert api.get(url).json()["job_title"] == "A"

    @pytest.mark.parametrize("header", ["abc", "3", '"abc"', '""', 'W/"x"'])
    def test_malformed_if_match_fails_the_precondition(self, api: TestClient, header: str) -> None:
        """RFC 9110: an If-Match that is no entity tag of ours can never match: 412, not 400."""
        person = make(api)
        url = f"/api/v1/people/{person['id']}"
        response = api.patch(url, json={"job_title": "A"}, headers={"If-Match": header})
        assert response.status_code == 412
        assert response.headers["content-type"] == PROBLEM
        assert api.get(url).json()["job_title"] != "A"

    def test_invalid_patch_writes_nothing(self, api: TestClient) -> None:
        person = make(api)
        url = f"/api/v1/people/{person['id']}"
        response = api.patch(url, json={"last_name": "New", "phone": "not a phone"})
        assert response.status_code == 422
        assert api.get(url).json()["last_name"] == "Hopper"

    def test_custom_values_merge_and_null_clears(self, api: TestClient) -> None:
        api.post(
            "/api/v1/custom-fields",
            json={"object_type": "person", "key": "plan", "label": "Plan", "field_type": "select",
                  "options": ["free", "pro"]},
        )  # fmt: skip
        api.post(
            "/api/v1/custom-fields",
            json={
                "object_type": "person",
                "key": "seats",
                "label": "Seats",
                "field_type": "number",
            },
        )
        person = make(api, custom={"plan": "pro", "seats": 5})
        url = f"/api/v1/people/{person['id']}"
        body = api.patch(url, json={"custom": {"seats": None}}).json()
        assert body["custom"] == {"plan": "pro"}

    def test_custom_value_must_match_its_definition(self, api: TestClient) -> None:
        api.post(
            "/api/v1/custom-fields",
            json={
                "object_type": "person",
                "key": "seats",
                "label": "Seats",
                "field_type": "number",
            },
        )
        response = api.post(
            "/api/v1/people", json={"first_name": "X", "custom": {"seats": "many", "nope": 1}}
        )
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"custom.seats", "custom.nope"}


class TestBin:
    def test_delete_hides_and_restore_brings_back(self, api: TestClient) -> None:
        person = make(api)
        url = f"/api/v1/people/{person['id']}"
        assert api.delete(url).status_code == 200
        assert api.get(url).status_code == 404
        binned = api.get("/api/v1/people", params={"deleted": "true"}).json()["items"]
        assert [p["id"] for p in binned] == [person["id"]]
        assert api.post(f"{url}/restore").status_code == 200
        assert api.get(url).status_code == 200


class TestBulk:
    def test_upserts_by_email_and_reports_bad_items(self, api: TestClient) -> None:
        make(api, email="known@x.org", job_title="Old")
        response = api.post(
            "/api/v1/people/bulk",
            json={
                "items": [
                    {"first_name": "New", "email": "new@x.org", "tags": ["imported"]},
                    {"email": "KNOWN@x.org", "job_title": "New title"},
                    {"first_name": "Bad", "email": "bad@@x"},
                    {"first_name": "Twin", "email": "new@x.org"},
                ]
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["created"], body["updated"], body["failed"]) == (1, 1, 2)
        statuses = [r["status"] for r in body["results"]]
        assert statuses == ["created", "updated", "error", "error"]
        assert body["results"][2]["errors"][0]["field"] == "email"
        known = api.get("/api/v1/people", params={"email": "known@x.org"}).json()["items"][0]
        assert known["job_title"] == "New title"
        created = api.get(f"/api/v1/people/{body['results'][0]['id']}").json()
        assert created["tags"][0]["name"] == "imported"

    def test_rerun_changes_nothing(self, api: TestClient) -> None:
        items = {"items": [{"first_name": "A", "email": "a@x.org"}]}
        api.post("/api/v1/people/bulk", json=items)
        again = api.post("/api/v1/people/bulk", json=items).json()
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)


class TestList:
    @pytest.fixture
    def crowd(self, api: TestClient) -> list[dict[str, Any]]:
        names = ["Zoe Zed", "Amy Adams", "Bob Brown", "Cid Cole", "Dee Dunn"]
        out = []
        for i, name in enumerate(names):
            first, last = name.split()
            stage = "customer" if i % 2 else "lead"
            out.append(
                make(api, first_name=first, last_name=last, email=f"p{i}@x.org",
                     lifecycle_stage=stage, tags=["vip"] if i < 2 else [])
            )  # fmt: skip
        return out

    def test_sorted_by_name_and_paged_by_cursor(self, api: TestClient, crowd: list[Any]) -> None:
        first = api.get("/api/v1/people", params={"limit": 2}).json()
        assert [p["full_name"] for p in first["items"]] == ["Amy Adams", "Bob Brown"]
        assert first["has_more"]
        second = api.get(
            "/api/v1/people", params={"limit": 2, "cursor": first["next_cursor"]}
        ).json()
        assert [p["full_name"] for p in second["items"]] == ["Cid Cole", "Dee Dunn"]

    def test_descending_sort(self, api: TestClient, crowd: list[Any]) -> None:
        page = api.get("/api/v1/people", params={"sort": "-full_name", "limit": 1}).json()
        assert page["items"][0]["full_name"] == "Zoe Zed"

    def test_filters_by_field_tag_and_expression(self, api: TestClient, crowd: list[Any]) -> None:
        leads = api.get("/api/v1/people", params={"lifecycle_stage": "lead"}).json()["items"]
        assert {p["full_name"] for p in leads} == {"Zoe Zed", "Bob Brown", "Dee Dunn"}
        vips = api.get("/api/v1/people", params={"tag": "vip"}).json()["items"]
        assert {p["full_name"] for p in vips} == {"Zoe Zed", "Amy Adams"}
        shouted = api.get("/api/v1/people", params={"tag": "VIP"}).json()["items"]
        assert {p["full_name"] for p in shouted} == {"Zoe Zed", "Amy Adams"}
        expr = json.dumps(
            {
                "and": [
                    {"field": "tag", "op": "eq", "value": "vip"},
                    {"field": "lifecycle_stage", "op": "eq", "value": "lead"},
                ]
            }
        )
        both = api.get("/api/v1/people", params={"filter": expr}).json()["items"]
        assert [p["full_name"] for p in both] == ["Zoe Zed"]

    def test_filter_on_custom_field(self, api: TestClient) -> None:
        api.post(
            "/api/v1/custom-fields",
            json={
                "object_type": "person",
                "key": "seats",
                "label": "Seats",
                "field_type": "number",
            },
        )
        make(api, email="s1@x.org", first_name="Small", custom={"seats": 3})
        make(api, email="s2@x.org", first_name="Large", custom={"seats": 300})
        found = api.get("/api/v1/people", params={"cf.seats[gte]": "100"}).json()["items"]
        assert [p["first_name"] for p in found] == ["Large"]

    def test_bad_sort_filter_and_cursor_are_clear_errors(self, api: TestClient) -> None:
        assert api.get("/api/v1/people", params={"sort": "shoe"}).status_code == 422
        bad = api.get("/api/v1/people", params={"lifecyle_stage": "lead"})
        assert bad.status_code == 422
        assert "lifecycle_stage" in bad.json()["errors"][0]["message"]
        assert api.get("/api/v1/people", params={"cursor": "garbage"}).status_code == 400

    def test_search_tolerates_a_typo(self, api: TestClient, crowd: list[Any]) -> None:
        make(api, first_name="Margaret", last_name="Hamilton", email="mh@x.org")
        hits = api.get("/api/v1/people", params={"q": "Margaert Hamilton"}).json()["items"]
        assert hits[0]["full_name"] == "Margaret Hamilton"


class TestIsolation:
    def test_other_workspace_cannot_read_or_write(self, api_as: Api, cast: Cast) -> None:
        person = make(api_as("ada"))
        dev = api_as("dev")
        url = f"/api/v1/people/{person['id']}"
        assert dev.get(url).status_code == 404
        assert dev.patch(url, json={"job_title": "spy"}).status_code == 404
        assert dev.delete(url).status_code == 404
        assert dev.post(f"{url}/restore").status_code == 404
        assert dev.get("/api/v1/people").json()["items"] == []
        assert dev.get("/api/v1/people", params={"q": "Grace Hopper"}).json()["items"] == []
        # The same email is free in another workspace.
        assert dev.post("/api/v1/people", json={"email": "grace@navy.mil"}).status_code == 201
        assert api_as("ada").get(url).json()["job_title"] is None
