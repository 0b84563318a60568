"""Bulk actions from the people and companies lists, and their Undo."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.core import security
from rapport.web.render import FLASH_COOKIE
from tests.conftest import Cast
from tests.web.conftest import csrf_from
from tests.web.test_people import add

UNDO = re.compile(r'action="(/(?:people|companies)/bulk/undo/[0-9a-f]+)"')


def add_company(api: TestClient, name: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/companies", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def post_bulk(client: TestClient, path: str, ids: list[str], action: str, **extra: str) -> Any:
    token = csrf_from(client.get(path.rsplit("/", 1)[0]).text)
    data: dict[str, Any] = {"csrf_token": token, "ids": ids, "action": action, **extra}
    return client.post(path, data=data)


def flash_text(client: TestClient) -> str:
    """The toasts waiting in the flash cookie, as the next page would show them."""
    data = security.read_session(client.cookies[FLASH_COOKIE])
    assert data is not None
    return " ".join(str(item) for item in data["toasts"])


@pytest.fixture
def two(api: TestClient) -> list[dict[str, Any]]:
    return [add(api, "Grace", "Hopper"), add(api, "Alan", "Turing")]


class TestListMarkup:
    def test_rows_have_labelled_checkboxes_and_the_bar(
        self, signed_in: TestClient, two: list[dict[str, Any]]
    ) -> None:
        html = signed_in.get("/people").text
        assert 'form id="people-bulk"' in html and "data-bulk-bar" in html
        assert f'value="{two[0]["id"]}" data-bulk-row aria-label="Select Grace Hopper"' in html
        assert 'aria-label="Select all loaded rows"' in html
        assert 'value="delete"' in html  # Ada (owner) may delete

    def test_read_only_gets_no_checkboxes(
        self, signed_in_as: Callable[[str], TestClient], two: list[dict[str, Any]]
    ) -> None:
        html = signed_in_as("cleo").get("/people").text
        assert "data-bulk-row" not in html and "people-bulk" not in html

    def test_member_gets_the_bar_without_delete(
        self, signed_in_as: Callable[[str], TestClient], two: list[dict[str, Any]]
    ) -> None:
        html = signed_in_as("ben").get("/people").text
        assert "data-bulk-row" in html and 'value="delete"' not in html

    def test_companies_list_has_the_bar_too(self, signed_in: TestClient, api: TestClient) -> None:
        labs = add_company(api, "Labs")
        html = signed_in.get("/companies").text
        assert 'form id="company-bulk"' in html
        assert f'value="{labs["id"]}" data-bulk-row aria-label="Select Labs"' in html


class TestPeople:
    def test_bulk_tag_two_people(
        self, signed_in: TestClient, api: TestClient, two: list[dict[str, Any]]
    ) -> None:
        ids = [p["id"] for p in two]
        response = post_bulk(signed_in, "/people/bulk", ids, "tag", tags="vip, q3",
                             next="/people?stage=lead")  # fmt: skip
        assert response.status_code == 303
        assert response.headers["location"] == "/people?stage=lead"
        assert "Tagged 2 people" in flash_text(signed_in)
        for person_id in ids:
            tags = {t["name"] for t in api.get(f"/api/v1/people/{person_id}").json()["tags"]}
            assert tags == {"vip", "q3"}
        post_bulk(signed_in, "/people/bulk", ids[:1], "untag", tags="q3")
        assert [t["name"] for t in api.get(f"/api/v1/people/{ids[0]}").json()["tags"]] == ["vip"]

    def test_bulk_assign(
        self, signed_in: TestClient, api: TestClient, cast: Cast, two: list[dict[str, Any]]
    ) -> None:
        ids = [p["id"] for p in two]
        post_bulk(signed_in, "/people/bulk", ids, "assign", owner_id=str(cast.ben.user_id))
        assert "now owned by Ben" in flash_text(signed_in)
        assert api.get(f"/api/v1/people/{ids[1]}").json()["owner_id"] == str(cast.ben.user_id)

    def test_bulk_delete_then_undo(
        self, signed_in: TestClient, api: TestClient, two: list[dict[str, Any]]
    ) -> None:
        ids = [p["id"] for p in two]
        response = post_bulk(signed_in, "/people/bulk", ids, "delete")
        assert response.status_code == 303
        page = signed_in.get("/people").text
        assert "2 people moved to the bin." in page
        assert "Grace Hopper" not in page.split('id="people-results"')[1]
        assert api.get(f"/api/v1/people/{ids[0]}").status_code == 404
        undo = UNDO.search(page)
        assert undo, "the toast offers Undo"
        response = signed_in.post(undo.group(1), data={"csrf_token": csrf_from(page)})
        assert response.status_code == 303
        assert "2 people restored." in flash_text(signed_in)
        assert api.get(f"/api/v1/people/{ids[0]}").status_code == 200

    def test_undo_of_someone_elses_delete_restores_nothing(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient], api: TestClient,
        two: list[dict[str, Any]],
    ) -> None:  # fmt: skip
        post_bulk(signed_in, "/people/bulk", [two[0]["id"]], "delete")
        undo = UNDO.search(signed_in.get("/people").text)
        assert undo
        max_ = signed_in_as("max")  # a manager, who may restore, but did not delete these
        max_.post(undo.group(1), data={"csrf_token": csrf_from(max_.get("/people").text)})
        assert "It could not be undone" in flash_text(max_)
        assert api.get(f"/api/v1/people/{two[0]['id']}").status_code == 404

    def test_no_selection_or_bad_tag_is_a_clear_message_and_writes_nothing(
        self, signed_in: TestClient, api: TestClient, two: list[dict[str, Any]]
    ) -> None:
        post_bulk(signed_in, "/people/bulk", [], "tag", tags="x")
        assert "Select at least one row" in flash_text(signed_in)
        post_bulk(signed_in, "/people/bulk", [two[0]["id"]], "tag", tags=" ")
        assert "Nothing was changed" in flash_text(signed_in)
        assert api.get(f"/api/v1/people/{two[0]['id']}").json()["tags"] == []

    def test_another_workspaces_ids_change_nothing(
        self, signed_in: TestClient, api_as: Callable[[str], TestClient],
        two: list[dict[str, Any]],
    ) -> None:  # fmt: skip
        theirs = add(api_as("dev"), "Globex", "Gus")
        post_bulk(signed_in, "/people/bulk", [two[0]["id"], theirs["id"]], "delete")
        assert "Nothing was changed" in flash_text(signed_in)
        assert api_as("ada").get(f"/api/v1/people/{two[0]['id']}").status_code == 200
        assert api_as("dev").get(f"/api/v1/people/{theirs['id']}").status_code == 200

    def test_next_never_leaves_the_list(
        self, signed_in: TestClient, two: list[dict[str, Any]]
    ) -> None:
        response = post_bulk(signed_in, "/people/bulk", [two[0]["id"]], "tag", tags="x",
                             next="https://evil.example/people")  # fmt: skip
        assert response.headers["location"] == "/people"

    def test_member_may_tag_but_not_delete(
        self, signed_in_as: Callable[[str], TestClient], api: TestClient,
        two: list[dict[str, Any]],
    ) -> None:  # fmt: skip
        ben = signed_in_as("ben")
        assert post_bulk(ben, "/people/bulk", [two[0]["id"]], "tag", tags="x").status_code == 303
        response = post_bulk(ben, "/people/bulk", [two[0]["id"]], "delete")
        assert response.status_code == 403
        assert "Not allowed" in response.text
        assert api.get(f"/api/v1/people/{two[0]['id']}").status_code == 200

    def test_read_only_is_refused(
        self, signed_in_as: Callable[[str], TestClient], api: TestClient,
        two: list[dict[str, Any]],
    ) -> None:  # fmt: skip
        cleo = signed_in_as("cleo")
        response = post_bulk(cleo, "/people/bulk", [two[0]["id"]], "tag", tags="x")
        assert response.status_code == 403
        assert api.get(f"/api/v1/people/{two[0]['id']}").json()["tags"] == []

    def test_without_csrf_token_is_rejected(
        self, signed_in: TestClient, api: TestClient, two: list[dict[str, Any]]
    ) -> None:
        response = signed_in.post("/people/bulk", data={"ids": [two[0]["id"]], "action": "delete"})
        assert response.status_code == 403
        assert api.get(f"/api/v1/people/{two[0]['id']}").status_code == 200
        response = signed_in.post("/people/bulk/undo/abc")
        assert response.status_code == 403


class TestCompanies:
    def test_bulk_tag_assign_delete_undo(
        self, signed_in: TestClient, api: TestClient, cast: Cast
    ) -> None:
        ids = [add_company(api, "Labs")["id"], add_company(api, "Works")["id"]]
        post_bulk(signed_in, "/companies/bulk", ids, "tag", tags="partner")
        assert "Tagged 2 companies" in flash_text(signed_in)
        post_bulk(signed_in, "/companies/bulk", ids, "assign", owner_id=str(cast.max.user_id))
        got = api.get(f"/api/v1/companies/{ids[0]}").json()
        assert got["owner_id"] == str(cast.max.user_id)
        assert [t["name"] for t in got["tags"]] == ["partner"]
        post_bulk(signed_in, "/companies/bulk", ids, "delete")
        page = signed_in.get("/companies").text
        assert "2 companies moved to the bin." in page
        undo = UNDO.search(page)
        assert undo
        signed_in.post(undo.group(1), data={"csrf_token": csrf_from(page)})
        assert api.get(f"/api/v1/companies/{ids[1]}").status_code == 200

    def test_read_only_is_refused(
        self, signed_in_as: Callable[[str], TestClient], api: TestClient
    ) -> None:
        labs = add_company(api, "Labs")
        cleo = signed_in_as("cleo")
        assert post_bulk(cleo, "/companies/bulk", [labs["id"]], "delete").status_code == 403
        assert api.get(f"/api/v1/companies/{labs['id']}").status_code == 200
