"""Custom field definitions through the API: CRUD, validation, roles, isolation, and use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
Api = Callable[[str], TestClient]
URL = "/api/v1/custom-fields"


def define(api: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"object_type": "company", "key": "tier", "label": "Tier", "field_type": "select",
            "options": ["gold", "silver"], **fields}  # fmt: skip
    response = api.post(URL, json=body)
    assert response.status_code == 201, response.text
    return response.json()


class TestCreate:
    def test_answers_201_with_etag_and_location(self, api: TestClient) -> None:
        response = api.post(
            URL,
            json={"object_type": "person", "key": "arr", "label": "ARR", "field_type": "money",
                  "currency": "eur"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["key"], body["field_type"], body["currency"]) == ("arr", "money", "EUR")
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"{URL}/{body['id']}"

    def test_same_key_on_the_same_object_is_409(self, api: TestClient) -> None:
        define(api)
        response = api.post(
            URL, json={"object_type": "company", "key": "tier", "label": "T", "field_type": "text"}
        )
        assert response.status_code == 409
        define(api, object_type="person")  # the same key on another object is fine

    def test_bad_definitions_are_422_naming_the_field(self, api: TestClient) -> None:
        base = {"object_type": "company", "key": "k", "label": "K", "field_type": "text"}
        for patch, field in (
            ({"field_type": "select"}, "options"),
            ({"field_type": "select", "options": ["a", "a"]}, "options"),
            ({"key": "Bad Key"}, "key"),
            ({"object_type": "ticket"}, "object_type"),
            ({"field_type": "colour"}, "field_type"),
            ({"field_type": "money", "currency": "XYZ"}, "currency"),
        ):
            response = api.post(URL, json={**base, **patch})
            assert response.status_code == 422, patch
            assert response.headers["content-type"] == PROBLEM
            assert response.json()["errors"][0]["field"] == field, patch

    def test_only_admins_define_fields(self, api_as: Api) -> None:
        body = {"object_type": "company", "key": "k", "label": "K", "field_type": "text"}
        assert api_as("ben").post(URL, json=body).status_code == 403
        assert api_as("max").post(URL, json=body).status_code == 403
        assert api_as("cleo").post(URL, json=body).status_code == 403
        assert api_as("ann").post(URL, json=body).status_code == 201


class TestReadUpdateDelete:
    def test_list_by_object_type(self, api: TestClient, api_as: Api) -> None:
        define(api)
        define(api, object_type="person", key="plan", label="Plan")
        everything = api_as("cleo").get(URL).json()
        assert sorted(f["key"] for f in everything) == ["plan", "tier"]
        companies = api.get(URL, params={"object_type": "company"}).json()
        assert [f["key"] for f in companies] == ["tier"]
        assert api.get(URL, params={"object_type": "ticket"}).status_code == 422

    def test_update_label_and_options_with_if_match(self, api: TestClient) -> None:
        field = define(api)
        url = f"{URL}/{field['id']}"
        response = api.patch(
            url, json={"label": "Customer tier", "options": ["gold", "silver", "bronze"]},
            headers={"If-Match": '"1"'},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"2"'
        assert response.json()["options"] == ["gold", "silver", "bronze"]
        stale = api.patch(url, json={"label": "X"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert api.get(url).json()["label"] == "Customer tier"

    def test_key_and_type_cannot_change(self, api: TestClient) -> None:
        field = define(api)
        response = api.patch(f"{URL}/{field['id']}", json={"key": "other"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "key"

    def test_select_options_cannot_be_emptied(self, api: TestClient) -> None:
        field = define(api)
        response = api.patch(f"{URL}/{field['id']}", json={"options": []})
        assert response.status_code == 422

    def test_delete_answers_204_then_404(self, api: TestClient) -> None:
        field = define(api)
        url = f"{URL}/{field['id']}"
        assert api.delete(url, headers={"If-Match": '"2"'}).status_code == 412
        assert api.delete(url, headers={"If-Match": '"1"'}).status_code == 204
        assert api.get(url).status_code == 404
        response = api.post("/api/v1/companies", json={"name": "X", "custom": {"tier": "gold"}})
        assert response.status_code == 422

    def test_changes_are_audited(self, api: TestClient) -> None:
        field = define(api)
        api.patch(f"{URL}/{field['id']}", json={"label": "Level"})
        entries = api.get("/api/v1/audit", params={"record": field["id"]}).json()["items"]
        assert [e["action"] for e in entries] == ["custom_field.updated", "custom_field.created"]
        assert entries[0]["changes"] == {"label": {"old": "Tier", "new": "Level"}}


class TestValuesOnRecords:
    def test_values_are_checked_against_the_definition(self, api: TestClient) -> None:
        define(api)
        define(api, key="seats", label="Seats", field_type="number", options=[])
        define(api, key="renewal", label="Renewal", field_type="date", options=[])
        response = api.post(
            "/api/v1/companies",
            json={"name": "X", "custom": {"tier": "platinum", "seats": "many", "renewal": "soon"}},
        )
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"custom.tier", "custom.seats", "custom.renewal"}
        ok = api.post(
            "/api/v1/companies",
            json={"name": "Y", "custom": {"tier": "gold", "seats": "12", "renewal": "2026-01-31"}},
        )
        assert ok.status_code == 201
        assert ok.json()["custom"] == {"tier": "gold", "seats": 12, "renewal": "2026-01-31"}

    def test_required_fields_are_enforced(self, api: TestClient) -> None:
        define(api, required=True)
        response = api.post("/api/v1/companies", json={"name": "X"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "custom.tier"

    def test_filters_on_number_and_date_fields(self, api: TestClient) -> None:
        define(api, key="seats", label="Seats", field_type="number", options=[])
        define(api, key="renewal", label="Renewal", field_type="date", options=[])
        for name, seats, renewal in (("A", 5, "2026-01-01"), ("B", 50, "2026-06-01"),
                                     ("C", 500, "2027-01-01")):  # fmt: skip
            api.post(
                "/api/v1/companies",
                json={"name": name, "custom": {"seats": seats, "renewal": renewal}},
            )

        def names(**params: Any) -> list[str]:
            response = api.get("/api/v1/companies", params=params)
            assert response.status_code == 200, response.text
            return [c["name"] for c in response.json()["items"]]

        assert names(**{"cf.seats[gt]": "10"}) == ["B", "C"]
        assert names(**{"cf.renewal[lt]": "2026-12-31"}) == ["A", "B"]
        assert names(**{"cf.seats": "50"}) == ["B"]


class TestIsolation:
    def test_other_workspace_gets_404_on_every_field_endpoint(
        self, api: TestClient, api_as: Api
    ) -> None:
        field = define(api)
        dev = api_as("dev")
        url = f"{URL}/{field['id']}"
        answers = [dev.get(url), dev.patch(url, json={"label": "Pwned"}), dev.delete(url)]
        assert [r.status_code for r in answers] == [404, 404, 404]
        assert dev.get(URL).json() == []
        assert api.get(url).json()["label"] == "Tier"

    def test_definitions_do_not_leak_into_another_workspace(
        self, api: TestClient, api_as: Api
    ) -> None:
        define(api)
        response = api_as("dev").post(
            "/api/v1/companies", json={"name": "X", "custom": {"tier": "gold"}}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "custom.tier"
