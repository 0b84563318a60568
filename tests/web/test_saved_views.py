"""Saved views: private by default, shared on request, reopened from the list's tabs."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from rapport.core.context import Context
from rapport.core.errors import Forbidden, Invalid, NotFound
from rapport.hub.views.people import VIEW_PARAMS
from rapport.web import saved_views
from tests.web.conftest import csrf_from


def _save(ctx: Context, name: str, query: str = "stage=lead", *, shared: bool = False):  # type: ignore[no-untyped-def]
    return saved_views.save_view(
        ctx, "person", name=name, query=query, allowed=VIEW_PARAMS, shared=shared
    )


class TestService:
    def test_a_view_is_private_until_shared(self, ada_ctx: Context, ben_ctx: Context) -> None:
        _save(ada_ctx, "Mine")
        _save(ada_ctx, "Ours", shared=True)
        assert [v.name for v in saved_views.list_views(ada_ctx, "person")] == ["Mine", "Ours"]
        assert [v.name for v in saved_views.list_views(ben_ctx, "person")] == ["Ours"]

    def test_another_workspace_never_sees_them(self, ada_ctx: Context, dev_ctx: Context) -> None:
        view = _save(ada_ctx, "Ours", shared=True)
        assert saved_views.list_views(dev_ctx, "person") == []
        with pytest.raises(NotFound):
            saved_views.get_view(dev_ctx, view.id)

    def test_saving_under_the_same_name_replaces(self, ada_ctx: Context) -> None:
        first = _save(ada_ctx, "Leads", "stage=lead")
        second = _save(ada_ctx, "Leads", "stage=customer")
        assert first.id == second.id and second.query == "stage=customer"

    def test_paging_and_unknown_parameters_are_not_kept(self, ada_ctx: Context) -> None:
        view = _save(ada_ctx, "Clean", "q=ada&cursor=abc&part=rows&evil=1&cols=email&cols=phone")
        assert view.query == "q=ada&cols=email&cols=phone"

    def test_a_name_is_needed(self, ada_ctx: Context) -> None:
        with pytest.raises(Invalid):
            _save(ada_ctx, "   ")

    def test_read_only_members_keep_views_private(self, cleo_ctx: Context) -> None:
        _save(cleo_ctx, "Just mine")
        with pytest.raises(Forbidden):
            _save(cleo_ctx, "For everyone", shared=True)

    def test_only_the_author_or_an_admin_deletes_a_shared_view(
        self,
        ada_ctx: Context,
        ben_ctx: Context,
        database,
        cast,  # type: ignore[no-untyped-def]
    ) -> None:
        view = _save(ada_ctx, "Ours", shared=True)
        with pytest.raises(NotFound):
            saved_views.delete_view(ben_ctx, view.id)
        session = database.session(cast.acme)
        ann = Context(
            session=session, workspace_id=cast.acme, user_id=cast.ann.user_id, role=cast.ann.role
        )
        saved_views.delete_view(ann, view.id)
        session.flush()
        assert saved_views.list_views(ann, "person") == []
        session.close()


class TestPages:
    def test_save_the_list_and_reopen_it_from_its_tab(self, signed_in: TestClient) -> None:
        page = signed_in.get("/people", params={"stage": "customer", "sort": "-updated_at"})
        response = signed_in.post(
            "/people/views",
            data={"csrf_token": csrf_from(page.text), "name": "Customers",
                  "query": "stage=customer&sort=-updated_at&cursor=zzz"},
        )  # fmt: skip
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/people?stage=customer&sort=-updated_at&view=")
        html = signed_in.get(location).text
        assert "View “Customers” saved." in html
        assert re.search(r'aria-current="page">\s*Customers', html)
        assert '<option value="customer" selected>' in html

    def test_a_nameless_view_is_refused_with_a_message(self, signed_in: TestClient) -> None:
        page = signed_in.get("/people")
        response = signed_in.post(
            "/people/views",
            data={"csrf_token": csrf_from(page.text), "name": " ", "query": "stage=lead"},
        )
        assert response.headers["location"] == "/people?stage=lead"
        assert "Give the view a name" in signed_in.get(response.headers["location"]).text

    def test_delete_a_view(self, signed_in: TestClient, ada_ctx: Context) -> None:
        view = _save(ada_ctx, "Old")
        ada_ctx.session.commit()
        token = csrf_from(signed_in.get("/people").text)
        response = signed_in.post(f"/people/views/{view.id}/delete", data={"csrf_token": token})
        assert response.status_code == 303
        assert "“Old” deleted" in signed_in.get("/people").text

    def test_deleting_an_unknown_view_is_404(self, signed_in: TestClient) -> None:
        token = csrf_from(signed_in.get("/people").text)
        response = signed_in.post(
            f"/people/views/{uuid.uuid4()}/delete", data={"csrf_token": token}
        )
        assert response.status_code == 404

    def test_saving_needs_the_csrf_token(self, signed_in: TestClient) -> None:
        assert signed_in.post("/people/views", data={"name": "x"}).status_code == 403
