"""The global search: the dropdown fragment for HTMX, a whole page otherwise."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from rapport.core.db import Database
from rapport.core.search import Document, Hit, index_documents
from rapport.web.search_views import group_hits
from tests.conftest import Cast
from tests.sales.factories import make_deal, make_pipeline
from tests.web.conftest import sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture
def indexed(database: Database, cast: Cast) -> dict[str, uuid.UUID]:
    """Grace (a person) and Hopper Labs (a company) in Acme; Gideon (a person) in Globex."""
    ids = {"grace": uuid.uuid4(), "labs": uuid.uuid4(), "gideon": uuid.uuid4()}
    with database.session(cast.acme) as session:
        index_documents(
            session,
            cast.acme,
            [
                Document("person", ids["grace"], "Grace Hopper", "grace@navy.example.com", []),
                Document("company", ids["labs"], "Hopper Labs", "hopperlabs.example.com", []),
            ],
        )
        session.commit()
    with database.session(cast.globex) as session:
        index_documents(
            session, cast.globex, [Document("person", ids["gideon"], "Gideon Hopper", None, [])]
        )
        session.commit()
    return ids


class TestDropdown:
    def test_results_are_grouped_by_type_and_link_to_records(
        self, signed_in: TestClient, indexed: dict[str, uuid.UUID]
    ) -> None:
        response = signed_in.get("/search", params={"q": "hoper"}, headers=HTMX)
        assert response.status_code == 200
        html = response.text
        assert "<html" not in html  # a fragment, not a page
        assert ">People</div>" in html and ">Companies</div>" in html
        assert f'href="/people/{indexed["grace"]}"' in html
        assert f'href="/companies/{indexed["labs"]}"' in html
        assert html.count('role="option"') == 2

    def test_another_workspace_is_never_searched(
        self, signed_in: TestClient, indexed: dict[str, uuid.UUID]
    ) -> None:
        html = signed_in.get("/search", params={"q": "gideon"}, headers=HTMX).text
        assert "Gideon" not in html
        assert "No matches for “gideon”" in html

    def test_an_empty_query_gives_an_empty_fragment(self, signed_in: TestClient) -> None:
        assert signed_in.get("/search", params={"q": "  "}, headers=HTMX).text.strip() == ""

    def test_user_input_is_escaped(self, signed_in: TestClient) -> None:
        html = signed_in.get("/search", params={"q": "<script>x</script>"}, headers=HTMX).text
        assert "<script>x" not in html
        assert "&lt;script&gt;" in html

    def test_globex_sees_its_own_records(
        self, browser: TestClient, cast: Cast, indexed: dict[str, uuid.UUID]
    ) -> None:
        sign_in(browser, cast.dev.email)
        html = browser.get("/search", params={"q": "hopper"}, headers=HTMX).text
        assert f"/people/{indexed['gideon']}" in html
        assert "Grace" not in html


class TestPage:
    def test_without_htmx_the_results_are_a_whole_page(
        self, signed_in: TestClient, indexed: dict[str, uuid.UUID]
    ) -> None:
        response = signed_in.get("/search", params={"q": "grace"})
        assert response.status_code == 200
        assert "<html" in response.text
        assert "Results for “grace”" in response.text
        assert f'href="/people/{indexed["grace"]}"' in response.text
        assert 'value="grace"' in response.text  # the search box keeps the query

    def test_long_queries_are_refused(self, signed_in: TestClient) -> None:
        assert signed_in.get("/search", params={"q": "x" * 201}).status_code == 422


def test_groups_follow_the_best_hit_and_unknown_types_get_no_link() -> None:
    hits = [
        Hit("ticket", uuid.uuid4(), "Big ticket", None, 99.0),
        Hit("person", uuid.uuid4(), "Ann", None, 90.0),
        Hit("ticket", uuid.uuid4(), "Small ticket", None, 80.0),
    ]
    groups = group_hits(hits)
    assert [g.label for g in groups] == ["Tickets", "People"]
    assert [r.hit.title for r in groups[0].results] == ["Big ticket", "Small ticket"]
    assert groups[0].results[0].url is None


def test_the_dropdown_shows_deals_with_stage_and_amount(
    signed_in: TestClient, api: TestClient
) -> None:
    made = make_deal(api, make_pipeline(api), title="Zeppelin renewal", amount="12500")
    html = signed_in.get("/search", params={"q": "zepelin"}, headers=HTMX).text
    assert ">Deals</div>" in html
    assert f'href="/deals/{made["id"]}"' in html
    assert "Lead · 12,500 EUR" in html
    page = signed_in.get("/search", params={"q": "zeppelin"}).text
    assert f'href="/deals/{made["id"]}"' in page
