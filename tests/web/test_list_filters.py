"""Filters on custom fields (people and companies), company size, and saved company views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_from
from tests.web.test_people import add

HTMX = {"HX-Request": "true"}


def company(api: TestClient, name: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/companies", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def scored(api: TestClient) -> dict[str, dict[str, Any]]:
    for body in (
        {"object_type": "person", "key": "nps", "label": "Last NPS", "field_type": "number"},
        {"object_type": "person", "key": "plan", "label": "Plan", "field_type": "select",
         "options": ["free", "pro"]},
        {"object_type": "company", "key": "region", "label": "Region", "field_type": "text"},
    ):  # fmt: skip
        assert api.post("/api/v1/custom-fields", json=body).status_code == 201
    return {
        "fan": add(api, "Fan", "Person", custom={"nps": 10, "plan": "pro"}),
        "meh": add(api, "Meh", "Person", custom={"nps": 6, "plan": "free"}),
        "blank": add(api, "Blank", "Person"),
    }


def shown(html: str, people: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, p in people.items() if f"/people/{p['id']}" in html}


class TestPeopleCustomFieldFilter:
    def test_the_menu_offers_fields_with_their_operators(
        self, signed_in: TestClient, scored: dict[str, Any]
    ) -> None:
        html = signed_in.get("/people").text
        assert '<label for="people-cf">Field</label>' in html
        assert 'value="nps" data-ops="eq ne gt gte lt lte in is_null"' in html
        assert 'value="plan" data-ops="eq ne in is_null"' in html

    def test_number_at_least(self, signed_in: TestClient, scored: dict[str, Any]) -> None:
        params = {"cf": "nps", "cfop": "gte", "cfv": "9"}
        assert shown(signed_in.get("/people", params=params).text, scored) == {"fan"}

    def test_select_is_and_is_empty(self, signed_in: TestClient, scored: dict[str, Any]) -> None:
        params = {"cf": "plan", "cfop": "eq", "cfv": "free"}
        assert shown(signed_in.get("/people", params=params).text, scored) == {"meh"}
        params = {"cf": "plan", "cfop": "is_null"}
        assert shown(signed_in.get("/people", params=params).text, scored) == {"blank"}

    def test_no_value_yet_filters_nothing(
        self, signed_in: TestClient, scored: dict[str, Any]
    ) -> None:
        html = signed_in.get("/people", params={"cf": "nps", "cfop": "gt"}).text
        assert shown(html, scored) == {"fan", "meh", "blank"}

    def test_a_bad_value_or_operator_says_why(
        self, signed_in: TestClient, scored: dict[str, Any]
    ) -> None:
        html = signed_in.get("/people", params={"cf": "nps", "cfop": "gt", "cfv": "lots"}).text
        assert 'class="alert alert-error"' in html
        html = signed_in.get("/people", params={"cf": "plan", "cfop": "gt", "cfv": "a"}).text
        assert "cannot be filtered with" in html
        html = signed_in.get("/people", params={"cf": "nope", "cfv": "a"}).text
        assert "There is no custom field" in html

    def test_the_filter_is_in_the_urls_and_a_saved_view(
        self, signed_in: TestClient, scored: dict[str, Any]
    ) -> None:
        params = {"cf": "nps", "cfop": "gte", "cfv": "9"}
        page = signed_in.get("/people", params=params).text
        assert 'name="query" value="cf=nps&amp;cfop=gte&amp;cfv=9"' in page
        response = signed_in.post(
            "/people/views",
            data={"csrf_token": csrf_from(page), "name": "Promoters",
                  "query": "cf=nps&cfop=gte&cfv=9"},
        )  # fmt: skip
        assert response.status_code == 303
        opened = signed_in.get(response.headers["location"]).text
        assert shown(opened, scored) == {"fan"}


class TestCompanies:
    def test_custom_field_and_size_filters(self, signed_in: TestClient, api: TestClient) -> None:
        north = company(api, "North Co", size=40)
        south = company(api, "South Co", size=900)
        api.post(
            "/api/v1/custom-fields",
            json={"object_type": "company", "key": "region", "label": "Region",
                  "field_type": "text"},
        )  # fmt: skip
        api.patch(f"/api/v1/companies/{north['id']}", json={"custom": {"region": "Nordics"}})
        html = signed_in.get("/companies", params={"cf": "region", "cfop": "contains",
                                                   "cfv": "nord"}).text  # fmt: skip
        assert f"/companies/{north['id']}" in html and f"/companies/{south['id']}" not in html
        html = signed_in.get("/companies", params={"size_min": "100"}).text
        assert f"/companies/{south['id']}" in html and f"/companies/{north['id']}" not in html
        html = signed_in.get("/companies", params={"size_max": "100", "size_min": "10"}).text
        assert f"/companies/{north['id']}" in html and f"/companies/{south['id']}" not in html

    def test_a_bad_size_is_a_message_not_an_error(self, signed_in: TestClient) -> None:
        response = signed_in.get("/companies", params={"size_min": "many"})
        assert response.status_code == 200
        assert 'class="alert alert-error"' in response.text

    def test_saved_views_of_companies(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient], api: TestClient
    ) -> None:
        big = company(api, "Big Co", size=5000)
        small = company(api, "Small Co", size=5)
        page = signed_in.get("/companies", params={"size_min": "1000"}).text
        response = signed_in.post(
            "/companies/views",
            data={"csrf_token": csrf_from(page), "name": "Large accounts",
                  "query": "size_min=1000", "shared": "true"},
        )  # fmt: skip
        assert response.status_code == 303
        listing = signed_in.get(response.headers["location"]).text
        assert "Large accounts" in listing and 'aria-current="page"' in listing
        assert f"/companies/{big['id']}" in listing and f"/companies/{small['id']}" not in listing
        # Shared: Ben sees it in his tabs; only Ada (or an admin) may delete it.
        ben_page = signed_in_as("ben").get("/companies").text
        assert "Large accounts" in ben_page
        assert "Delete the view Large accounts" not in ben_page

    def test_saving_a_view_needs_csrf(self, signed_in: TestClient) -> None:
        response = signed_in.post("/companies/views", data={"name": "x", "query": ""})
        assert response.status_code == 403

    def test_read_only_may_keep_a_private_view(
        self, signed_in_as: Callable[[str], TestClient]
    ) -> None:
        cleo = signed_in_as("cleo")
        page = cleo.get("/companies").text
        mine = {"csrf_token": csrf_from(page), "name": "Mine", "query": ""}
        response = cleo.post("/companies/views", data=mine)
        assert response.status_code == 303
        assert "Mine" in cleo.get("/companies").text
        response = cleo.post("/companies/views",
                             data={"csrf_token": csrf_from(page), "name": "Ours", "query": "",
                                   "shared": "true"})  # fmt: skip
        assert response.status_code == 403
