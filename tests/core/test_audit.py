"""The audit trail read endpoint: newest first, per record or type, paged, and private."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.core import audit
from rapport.core.context import Context
from rapport.core.errors import Forbidden
from rapport.core.events import record
from rapport.core.topics import NoPayload, Topic
from tests.conftest import Cast

WIDGET_UPDATED = Topic("widget.updated", NoPayload, "The tests' own record type.")

Api = Callable[[str], TestClient]
URL = "/api/v1/audit"


def make_company(api: TestClient, name: str = "Initech") -> dict[str, Any]:
    response = api.post("/api/v1/companies", json={"name": name, "industry": "Software"})
    assert response.status_code == 201, response.text
    return response.json()


class TestRead:
    def test_a_records_history_newest_first_with_old_and_new_values(
        self, api: TestClient, cast: Cast
    ) -> None:
        company = make_company(api)
        url = f"/api/v1/companies/{company['id']}"
        api.patch(url, json={"industry": "Hardware", "size": 10})
        api.delete(url)
        response = api.get(URL, params={"record": company["id"]})
        assert response.status_code == 200
        entries = response.json()["items"]
        assert [e["action"] for e in entries] == [
            "company.deleted", "company.updated", "company.created",
        ]  # fmt: skip
        updated = entries[1]
        assert updated["changes"] == {
            "industry": {"old": "Software", "new": "Hardware"},
            "size": {"old": None, "new": 10},
        }
        assert updated["record_type"] == "company"
        assert (updated["actor_type"], updated["actor_id"]) == ("token", str(cast.ada.user_id))
        assert entries[0]["changes"]["deleted_at"]["old"] is None

    def test_filter_by_record_type(self, api: TestClient) -> None:
        make_company(api)
        api.post("/api/v1/tags", json={"name": "VIP"})
        entries = api.get(URL, params={"record_type": "tag"}).json()["items"]
        assert [e["action"] for e in entries] == ["tag.created"]

    def test_pages_follow_the_cursor_without_repeats(self, api: TestClient) -> None:
        company = make_company(api)
        for size in range(1, 6):
            api.patch(f"/api/v1/companies/{company['id']}", json={"size": size})
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"record": company["id"], "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = api.get(URL, params=params).json()
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        assert len(seen) == len(set(seen)) == 6

    def test_bad_cursor_is_400_and_bad_record_is_422(self, api: TestClient) -> None:
        assert api.get(URL, params={"cursor": "nope"}).status_code == 400
        assert api.get(URL, params={"record": "not-a-uuid"}).status_code == 422

    def test_service_reads_what_record_wrote(self, ada_ctx: Context) -> None:
        record_id = uuid.uuid4()
        record(ada_ctx, WIDGET_UPDATED, record_id, {"colour": ("red", "blue")})
        page = audit.list_entries(ada_ctx, record_id=record_id)
        assert [(e.action, e.changes) for e in page.items] == [
            ("widget.updated", {"colour": {"old": "red", "new": "blue"}})
        ]


class TestWhoMayRead:
    def test_managers_and_up_may_read_members_and_read_only_may_not(self, api_as: Api) -> None:
        assert api_as("max").get(URL).status_code == 200
        assert api_as("ann").get(URL).status_code == 200
        for name in ("ben", "cleo"):
            response = api_as(name).get(URL)
            assert response.status_code == 403
            assert response.headers["content-type"] == "application/problem+json"

    def test_service_refuses_a_member(self, ben_ctx: Context) -> None:
        with pytest.raises(Forbidden):
            audit.list_entries(ben_ctx)

    def test_another_workspace_sees_none_of_it(self, api: TestClient, api_as: Api) -> None:
        company = make_company(api)
        dev = api_as("dev")
        assert dev.get(URL, params={"record": company["id"]}).json()["items"] == []
        assert all(e["record_id"] != company["id"] for e in dev.get(URL).json()["items"])

    def test_anonymous_gets_401(self, anon: TestClient) -> None:
        assert anon.get(URL).status_code == 401
