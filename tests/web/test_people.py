"""The people list and the form that adds a person."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.hub.views import people as people_views
from tests.conftest import Cast
from tests.web.conftest import csrf_from

HTMX = {"HX-Request": "true"}


def add(api: TestClient, first: str, last: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/people", json={"first_name": first, "last_name": last, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def trio(api: TestClient) -> dict[str, dict[str, Any]]:
    return {
        "ada": add(api, "Ada", "Lovelace", email="ada@analytical.example.com",
                   lifecycle_stage="customer", tags=["VIP"]),
        "alan": add(api, "Alan", "Turing", email="alan@bletchley.example.com"),
        "grace": add(api, "Grace", "Hopper", lifecycle_stage="customer"),
    }  # fmt: skip


def names_in(html: str, people: dict[str, dict[str, Any]]) -> list[str]:
    found = [(html.find(f'/people/{p["id"]}"'), key) for key, p in people.items()]
    return [key for pos, key in sorted(found) if pos >= 0]


class TestList:
    def test_people_are_listed_by_name(self, signed_in: TestClient, trio: dict) -> None:  # type: ignore[type-arg]
        html = signed_in.get("/people").text
        assert names_in(html, trio) == ["ada", "alan", "grace"]
        assert 'aria-sort="ascending"' in html
        assert "ada@analytical.example.com" in html

    def test_a_column_header_sorts_the_other_way(self, signed_in: TestClient, trio: dict) -> None:  # type: ignore[type-arg]
        html = signed_in.get("/people", params={"sort": "-full_name"}).text
        assert names_in(html, trio) == ["grace", "alan", "ada"]
        assert 'aria-sort="descending"' in html

    def test_filters_by_stage_and_tag(self, signed_in: TestClient, trio: dict) -> None:  # type: ignore[type-arg]
        assert names_in(signed_in.get("/people?stage=customer").text, trio) == ["ada", "grace"]
        assert names_in(signed_in.get("/people?tag=VIP").text, trio) == ["ada"]

    def test_filters_by_owner(self, signed_in: TestClient, api: TestClient, cast: Cast) -> None:
        mine = add(api, "Owned", "Byben", owner_id=str(cast.ben.user_id))
        other = add(api, "Not", "Owned")
        html = signed_in.get("/people", params={"owner": str(cast.ben.user_id)}).text
        assert f"/people/{mine['id']}" in html and f"/people/{other['id']}" not in html

    def test_search_tolerates_a_typo(self, signed_in: TestClient, trio: dict) -> None:  # type: ignore[type-arg]
        assert names_in(signed_in.get("/people", params={"q": "grace hoper"}).text, trio) == [
            "grace"
        ]

    def test_chosen_columns_are_shown(self, signed_in: TestClient, trio: dict) -> None:  # type: ignore[type-arg]
        html = signed_in.get("/people", params={"cols": ["phone", "source"]}).text
        headers = re.findall(r"<th[^>]*>(.*?)</th>", html, flags=re.S)
        labels = [re.sub(r"<[^>]+>|[↑↓]", "", h).strip() for h in headers]
        assert labels == ["", "Name", "Phone", "Source"]  # the first column selects rows

    def test_htmx_gets_only_the_results(self, signed_in: TestClient, trio: dict) -> None:  # type: ignore[type-arg]
        html = signed_in.get("/people", params={"stage": "customer"}, headers=HTMX).text
        assert html.lstrip().startswith('<section id="people-results"')
        assert "<html" not in html

    def test_pages_continue_with_a_cursor(
        self,
        signed_in: TestClient,
        trio: dict,
        monkeypatch: pytest.MonkeyPatch,  # type: ignore[type-arg]
    ) -> None:
        monkeypatch.setattr(people_views, "PAGE_SIZE", 2)
        html = signed_in.get("/people").text
        assert names_in(html, trio) == ["ada", "alan"]
        more = html.split('class="load-more" hx-get="')[1].split('"')[0].replace("&amp;", "&")
        rows = signed_in.get(more, headers=HTMX).text
        assert rows.lstrip().startswith("<tr>")
        assert names_in(rows, trio) == ["grace"]
        assert "load-more" not in rows

    def test_a_bad_sort_is_explained_not_crashed(self, signed_in: TestClient) -> None:
        response = signed_in.get("/people", params={"sort": "shoe_size"})
        assert response.status_code == 200
        assert "cannot sort by" in response.text

    def test_no_match_offers_to_clear_filters(self, signed_in: TestClient, trio: dict) -> None:  # type: ignore[type-arg]
        html = signed_in.get("/people", params={"q": "zzqqxx"}).text
        assert "No people match" in html and "Clear filters" in html

    def test_empty_workspace_says_what_to_do(self, signed_in: TestClient) -> None:
        html = signed_in.get("/people").text
        assert "No people yet" in html and 'href="/people/new"' in html


class TestAddPerson:
    def test_the_form_adds_a_person_and_opens_their_page(self, signed_in: TestClient) -> None:
        token = csrf_from(signed_in.get("/people/new").text)
        response = signed_in.post(
            "/people/new",
            data={"csrf_token": token, "first_name": "Katherine", "last_name": "Johnson",
                  "email": "kj@nasa.example.com", "lifecycle_stage": "lead", "tags": "NASA, Math"},
        )  # fmt: skip
        assert response.status_code == 303
        page = signed_in.get(response.headers["location"])
        assert "Katherine Johnson" in page.text
        assert "Katherine Johnson was added." in page.text
        assert ">Math<" in page.text and ">NASA<" in page.text

    def test_field_errors_come_back_next_to_the_field(self, signed_in: TestClient) -> None:
        token = csrf_from(signed_in.get("/people/new").text)
        response = signed_in.post(
            "/people/new",
            data={"csrf_token": token, "first_name": "Kay", "email": "not an email"},
        )
        assert response.status_code == 200
        assert 'id="f-email-error"' in response.text
        assert 'value="Kay"' in response.text

    def test_a_taken_email_is_refused(self, signed_in: TestClient, trio: dict) -> None:  # type: ignore[type-arg]
        token = csrf_from(signed_in.get("/people/new").text)
        response = signed_in.post(
            "/people/new",
            data={"csrf_token": token, "first_name": "Ada", "email": "ada@analytical.example.com"},
        )
        assert response.status_code == 200
        assert "alert-error" in response.text

    def test_without_csrf_token_is_rejected(self, signed_in: TestClient) -> None:
        assert signed_in.post("/people/new", data={"first_name": "X"}).status_code == 403
