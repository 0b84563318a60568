"""Saved views of the deal list: any registered record type has them, and the deal list page
saves, reopens and deletes them like the people list."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from rapport.core.context import Context
from rapport.core.errors import Forbidden, Invalid
from rapport.sales.views.deals import VIEW_PARAMS
from rapport.web import saved_views
from tests.sales.factories import make_deal, make_pipeline
from tests.web.conftest import csrf_from

TITLES = re.compile(r'<a href="/deals/[0-9a-f-]{36}">([^<]+)</a></td>')


class TestService:
    def test_deal_views_are_kept_apart_from_people_views(self, ada_ctx: Context) -> None:
        saved_views.save_view(ada_ctx, "deal", name="Won", query="status=won", allowed=VIEW_PARAMS)
        assert [v.name for v in saved_views.list_views(ada_ctx, "deal")] == ["Won"]
        assert saved_views.list_views(ada_ctx, "person") == []

    def test_the_deal_permissions_decide(self, cleo_ctx: Context) -> None:
        view = saved_views.save_view(
            cleo_ctx, "deal", name="Mine", query="status=open", allowed=VIEW_PARAMS
        )
        assert view.query == "status=open"
        with pytest.raises(Forbidden):  # sharing needs deals:write
            saved_views.save_view(
                cleo_ctx, "deal", name="All", query="", allowed=VIEW_PARAMS, shared=True
            )

    def test_a_type_nobody_registers_has_no_views(self, ada_ctx: Context) -> None:
        with pytest.raises(Invalid, match="no saved views for 'invoice'"):
            saved_views.list_views(ada_ctx, "invoice")


class TestPage:
    def test_save_the_deal_list_reopen_it_from_its_tab_and_delete_it(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        pipeline = make_pipeline(api, name="Viewed")
        won = make_deal(api, pipeline, title="Won deal")
        make_deal(api, pipeline, title="Open deal")
        assert api.post(f"/api/v1/deals/{won['id']}/won", json={}).status_code == 200
        page = signed_in.get("/deals/list", params={"status": "won", "sort": "amount"})
        assert 'action="/deals/list/views"' in page.text
        response = signed_in.post(
            "/deals/list/views",
            data={"csrf_token": csrf_from(page.text), "name": "Won deals",
                  "query": "status=won&sort=amount&cursor=zzz&evil=1"},
        )  # fmt: skip
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/deals/list?status=won&sort=amount&view=")
        html = signed_in.get(location).text
        assert "View “Won deals” saved." in html
        assert re.search(r'aria-current="page">\s*Won deals', html)
        assert TITLES.findall(html) == ["Won deal"]
        view_id = location.rsplit("view=", 1)[1]
        token = csrf_from(html)
        deleted = signed_in.post(f"/deals/list/views/{view_id}/delete", data={"csrf_token": token})
        assert (deleted.status_code, deleted.headers["location"]) == (303, "/deals/list")
        after = signed_in.get("/deals/list").text
        assert "“Won deals” deleted" in after and "view=" + view_id not in after

    def test_the_default_order_stays_out_of_the_saved_query(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        make_deal(api, make_pipeline(api))
        html = signed_in.get("/deals/list", params={"status": "open"}).text
        assert 'name="query" value="status=open"' in html
        assert 'aria-sort="descending"' in html  # created_at, newest first, all the same
