"""The deals pages: the kanban board, moving a deal, the deal page and the new-deal form."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.core.db import Database
from tests.conftest import Cast
from tests.web.conftest import csrf_from, sign_in
from tests.web.test_auth import give_password

HTMX = {"HX-Request": "true"}


def stages(api: TestClient) -> dict[str, str]:
    """The default pipeline's stages by name (the pipeline is made on first use)."""
    listed = api.get("/api/v1/pipelines").json()
    items = listed["items"] if isinstance(listed, dict) else listed
    default = next(p for p in items if p["is_default"])
    return {s["name"]: s["id"] for s in default["stages"]}


def add_deal(api: TestClient, title: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/deals", json={"title": title, "currency": "EUR", **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def two(api: TestClient) -> dict[str, dict[str, Any]]:
    return {
        "big": add_deal(api, "Big deal", amount="1000"),
        "small": add_deal(api, "Small deal", amount="250.50"),
    }


def column_html(html: str, stage_id: str) -> str:
    """The markup of one column of the board."""
    start = html.index(f'data-stage-id="{stage_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def move(client: TestClient, deal: dict[str, Any], stage_id: str, **extra: Any):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/deals").text)
    data = {"csrf_token": token, "stage_id": stage_id, "version": deal["version"], **extra}
    return client.post(f"/deals/{deal['id']}/move", data=data, headers=HTMX)


class TestBoard:
    def test_signed_out_goes_to_login(self, browser: TestClient) -> None:
        response = browser.get("/deals")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2Fdeals")

    def test_columns_show_counts_and_totals(
        self, signed_in: TestClient, api: TestClient, two: dict[str, Any]
    ) -> None:
        response = signed_in.get("/deals")
        assert response.status_code == 200
        first = stages(api)["Qualification"]
        column = column_html(response.text, first)
        assert "Big deal" in column and "Small deal" in column
        assert re.search(r"data-count[^>]*>2<", column)
        assert "1,250.50 EUR" in column
        assert 'href="/deals"' in response.text  # the nav entry is a link now
        assert "sortable.min.js" in response.text and "kanban.js" in response.text

    def test_a_full_stage_shows_its_first_cards_and_counts_them_all(
        self, signed_in: TestClient, api: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from rapport.sales.views import deals as deal_views

        monkeypatch.setattr(deal_views, "COLUMN_CARDS", 2)
        for i in range(5):
            add_deal(api, f"Stacked {i}", amount="100")
        first = stages(api)["Qualification"]
        column = column_html(signed_in.get("/deals").text, first)
        assert column.count('class="deal-card') == 2  # the first two waiting
        assert "Stacked 0" in column and "Stacked 1" in column and "Stacked 4" not in column
        assert re.search(r"data-count[^>]*>5<", column)  # all five are counted
        assert "500 EUR" in column  # and summed
        more = re.search(r'class="column-more" href="([^"]+)">3 more in the list<', column)
        assert more is not None
        listed = signed_in.get(more.group(1).replace("&amp;", "&")).text
        assert all(f"Stacked {i}" in listed for i in range(5))

    def test_filter_by_owner(
        self, signed_in: TestClient, api: TestClient, cast: Cast, two: dict[str, Any]
    ) -> None:
        add_deal(api, "Ben's deal", owner_id=str(cast.ben.user_id))
        html = signed_in.get("/deals", params={"owner": str(cast.ben.user_id)}).text
        assert "Ben&#39;s deal" in html and "Big deal" not in html

    def test_htmx_gets_only_the_board(self, signed_in: TestClient, two: dict[str, Any]) -> None:
        html = signed_in.get("/deals", headers=HTMX).text
        assert 'id="board"' in html and "<html" not in html

    def test_a_workspace_without_pipeline_gets_a_button(self, signed_in: TestClient) -> None:
        html = signed_in.get("/deals").text
        if "No pipeline yet" not in html:  # another test's data may have made one
            pytest.skip("the workspace already has a pipeline")
        response = signed_in.post("/deals/pipelines/default", data={"csrf_token": csrf_from(html)})
        assert response.status_code == 303
        assert "Qualification" in signed_in.get("/deals").text

    def test_a_member_cannot_create_the_pipeline(  # type: ignore[no-untyped-def]
        self, signed_in_as, api: TestClient
    ) -> None:
        """The page's button goes through the service check the API route declares."""
        ben = signed_in_as("ben")
        html = ben.get("/deals").text
        assert "No pipeline yet" in html and "An admin of this workspace sets it up" in html
        assert 'action="/deals/pipelines/default"' not in html
        response = ben.post("/deals/pipelines/default", data={"csrf_token": csrf_from(html)})
        assert response.status_code == 403
        assert ben.get("/deals/new").status_code == 403  # the form would make it, too
        assert api.get("/api/v1/pipelines").json() == []


class TestMove:
    def test_moving_changes_stage_and_totals(
        self, signed_in: TestClient, api: TestClient, two: dict[str, Any]
    ) -> None:
        ids = stages(api)
        response = move(signed_in, two["big"], ids["Proposal"])
        assert response.status_code == 200, response.text
        assert "<html" not in response.text and "moved to Proposal" in response.text
        assert "x-rapport-refused" not in response.headers
        assert "1,000 EUR" in column_html(response.text, ids["Proposal"])
        assert "250.50 EUR" in column_html(response.text, ids["Qualification"])
        assert api.get(f"/api/v1/deals/{two['big']['id']}").json()["stage_id"] == ids["Proposal"]
        history = api.get(f"/api/v1/deals/{two['big']['id']}/history").json()
        assert [h["stage_id"] for h in history] == [ids["Qualification"], ids["Proposal"]]

    def test_a_stale_card_is_refused(
        self, signed_in: TestClient, api: TestClient, two: dict[str, Any]
    ) -> None:
        ids = stages(api)
        api.patch(f"/api/v1/deals/{two['big']['id']}", json={"title": "Bigger deal"})
        response = move(signed_in, two["big"], ids["Proposal"])
        assert response.status_code == 200
        assert response.headers["x-rapport-refused"] == "stale"
        assert "nothing was moved" in response.text and 'id="board"' in response.text
        deal = api.get(f"/api/v1/deals/{two['big']['id']}").json()
        assert deal["stage_id"] == ids["Qualification"]

    def test_a_closed_deal_is_refused(
        self, signed_in: TestClient, api: TestClient, two: dict[str, Any]
    ) -> None:
        ids = stages(api)
        won = api.post(f"/api/v1/deals/{two['big']['id']}/won", json={}).json()
        response = move(signed_in, won, ids["Proposal"])
        assert response.status_code == 200
        assert response.headers["x-rapport-refused"] == "closed"
        assert "reopen it" in response.text

    def test_without_js_the_form_redirects_to_the_board(
        self, signed_in: TestClient, api: TestClient, two: dict[str, Any]
    ) -> None:
        ids = stages(api)
        token = csrf_from(signed_in.get("/deals").text)
        response = signed_in.post(
            f"/deals/{two['small']['id']}/move",
            data={"csrf_token": token, "stage_id": ids["Discovery"], "version": 1},
        )
        assert response.status_code == 303 and response.headers["location"].startswith("/deals")
        assert api.get(f"/api/v1/deals/{two['small']['id']}").json()["stage_id"] == ids["Discovery"]

    def test_without_csrf_token_nothing_moves(
        self, signed_in: TestClient, api: TestClient, two: dict[str, Any]
    ) -> None:
        ids = stages(api)
        response = signed_in.post(
            f"/deals/{two['big']['id']}/move", data={"stage_id": ids["Proposal"]}, headers=HTMX
        )
        assert response.status_code == 403
        deal = api.get(f"/api/v1/deals/{two['big']['id']}").json()
        assert deal["stage_id"] == ids["Qualification"]

    def test_a_read_only_member_cannot_move(
        self,
        browser: TestClient,
        database: Database,
        cast: Cast,
        api: TestClient,
        two: dict[str, Any],
    ) -> None:
        give_password(database, cast.cleo.user_id)
        sign_in(browser, cast.cleo.email)
        html = browser.get("/deals").text
        assert "Move to…" not in html and "data-can-move" not in html
        ids = stages(api)
        response = move(browser, two["big"], ids["Proposal"])
        assert response.status_code == 403
        deal = api.get(f"/api/v1/deals/{two['big']['id']}").json()
        assert deal["stage_id"] == ids["Qualification"]

    def test_another_workspace_deal_is_not_found(
        self, browser: TestClient, cast: Cast, api: TestClient, two: dict[str, Any]
    ) -> None:
        sign_in(browser, cast.dev.email)
        assert browser.get(f"/deals/{two['big']['id']}").status_code == 404
        token = csrf_from(browser.get("/deals").text)
        response = browser.post(
            f"/deals/{two['big']['id']}/move",
            data={"csrf_token": token, "stage_id": stages(api)["Proposal"]},
        )
        assert response.status_code == 404


class TestDealPage:
    def test_shows_the_deal_and_its_history(
        self, signed_in: TestClient, two: dict[str, Any]
    ) -> None:
        response = signed_in.get(f"/deals/{two['big']['id']}")
        assert response.status_code == 200
        html = response.text
        assert "<h1>Big deal</h1>" in html and "1,000 EUR" in html
        assert "Stage history" in html and "Qualification" in html
        assert "Mark won" in html and "Mark lost" in html

    def test_mark_lost_with_reason_then_reopen(
        self, signed_in: TestClient, api: TestClient, two: dict[str, Any]
    ) -> None:
        url = f"/deals/{two['big']['id']}"
        token = csrf_from(signed_in.get(url).text)
        data = {"csrf_token": token, "outcome": "lost", "reason": "Too pricey", "version": 1}
        assert signed_in.post(f"{url}/close", data=data).status_code == 303
        html = signed_in.get(url).text
        assert "Too pricey" in html and "Reopen" in html
        assert api.get(f"/api/v1/deals/{two['big']['id']}").json()["status"] == "lost"
        data = {"csrf_token": token, "outcome": "reopen"}
        assert signed_in.post(f"{url}/close", data=data).status_code == 303
        assert api.get(f"/api/v1/deals/{two['big']['id']}").json()["status"] == "open"

    def test_unknown_deal_is_404(self, signed_in: TestClient) -> None:
        assert signed_in.get("/deals/00000000-0000-0000-0000-000000000000").status_code == 404


class TestNewDeal:
    def _post(self, client: TestClient, **fields: str):  # type: ignore[no-untyped-def]
        token = csrf_from(client.get("/deals/new").text)
        data = {"title": "", "amount": "", "currency": "EUR", **fields, "csrf_token": token}
        return client.post("/deals/new", data=data)

    def test_the_form_adds_a_deal(self, signed_in: TestClient, api: TestClient) -> None:
        assert signed_in.get("/deals/new").status_code == 200
        ids = stages(api)
        response = self._post(
            signed_in,
            title="Fresh deal",
            amount="1,500.25",
            stage_id=ids["Discovery"],
            expected_close_date="2030-01-31",
        )
        assert response.status_code == 303
        page = signed_in.get(response.headers["location"]).text
        assert "Fresh deal" in page and "1,500.25 EUR" in page and "31 Jan 2030" in page
        assert "was added" in page

    def test_errors_come_back_next_to_the_fields(self, signed_in: TestClient) -> None:
        response = self._post(signed_in, title="", amount="lots")
        assert response.status_code == 200
        assert 'id="title-error"' in response.text and 'id="amount-error"' in response.text
        response = self._post(signed_in, title="Negative", amount="-5", currency="EURO")
        assert response.status_code == 200
        assert 'id="currency-error"' in response.text or 'id="amount-error"' in response.text
        response = self._post(signed_in, title="Negative", amount="-5")
        assert response.status_code == 200 and "must be zero or more" in response.text

    def test_read_only_cannot_open_the_form(
        self, browser: TestClient, database: Database, cast: Cast
    ) -> None:
        give_password(database, cast.cleo.user_id)
        sign_in(browser, cast.cleo.email)
        assert browser.get("/deals/new").status_code == 403
