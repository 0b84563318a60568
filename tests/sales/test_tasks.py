"""Tasks: create on any record, tick done, the list's filters (assignee=me, overdue, due before,
record), who may change whose task, workspace isolation and bad input."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Cast
from tests.sales.factories import make_deal, make_pipeline

Api = Callable[[str], TestClient]
NOW = datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def task(api: TestClient, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/tasks", json={"title": "Call back", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def titles(api: TestClient, **params: Any) -> list[str]:
    response = api.get("/api/v1/tasks", params=params)
    assert response.status_code == 200, response.text
    return [t["title"] for t in response.json()["items"]]


class TestCrud:
    def test_create_on_a_deal_defaults_to_me_and_normal_priority(
        self, api: TestClient, cast: Cast
    ) -> None:
        deal = make_deal(api, make_pipeline(api))
        made = task(api, deal_id=deal["id"], due_at=iso(NOW + timedelta(days=1)))
        assert made["assignee_id"] == str(cast.ada.user_id)
        assert made["created_by_id"] == str(cast.ada.user_id)
        assert (made["priority"], made["done"], made["source"]) == ("normal", False, "manual")
        fetched = api.get(f"/api/v1/tasks/{made['id']}")
        assert fetched.json()["deal_id"] == deal["id"] and fetched.headers["etag"] == '"1"'

    def test_tick_done_and_undone(self, api: TestClient) -> None:
        made = task(api)
        done = api.patch(f"/api/v1/tasks/{made['id']}", json={"done": True})
        assert done.status_code == 200 and done.json()["done"] is True
        assert done.json()["done_at"] is not None
        again = api.patch(f"/api/v1/tasks/{made['id']}", json={"done": False}).json()
        assert again["done"] is False and again["done_at"] is None

    def test_edit_delete_and_restore(self, api: TestClient) -> None:
        made = task(api)
        edited = api.patch(f"/api/v1/tasks/{made['id']}", json={"title": "Send the quote",
                                                                "priority": "high"})  # fmt: skip
        assert edited.json()["title"] == "Send the quote" and edited.json()["priority"] == "high"
        assert api.delete(f"/api/v1/tasks/{made['id']}").status_code == 200
        assert api.get(f"/api/v1/tasks/{made['id']}").status_code == 404
        assert "Send the quote" not in titles(api)
        assert api.post(f"/api/v1/tasks/{made['id']}/restore").status_code == 200
        assert "Send the quote" in titles(api)

    def test_changes_are_audited(self, api: TestClient) -> None:
        made = task(api)
        api.patch(f"/api/v1/tasks/{made['id']}", json={"done": True})
        audit = api.get("/api/v1/audit", params={"record": made["id"]}).json()["items"]
        assert [e["action"] for e in audit] == ["task.updated", "task.created"]
        assert audit[0]["changes"]["done_at"]["old"] is None


class TestFilters:
    def test_assignee_me_status_overdue_and_due_before(self, api_as: Api, cast: Cast) -> None:
        ada, ben = api_as("ada"), api_as("ben")
        task(ada, title="Ada late", due_at=iso(NOW - timedelta(days=2)))
        task(ada, title="Ada soon", due_at=iso(NOW + timedelta(hours=5)))
        task(ada, title="Ada later", due_at=iso(NOW + timedelta(days=9)))
        task(ada, title="Ada someday")
        done = task(ada, title="Ada done", due_at=iso(NOW - timedelta(days=1)))
        ada.patch(f"/api/v1/tasks/{done['id']}", json={"done": True})
        task(ben, title="Ben late", due_at=iso(NOW - timedelta(days=1)))
        task(ada, title="For Ben", assignee_id=str(cast.ben.user_id))
        # soonest due first, no due time last
        assert titles(ada, assignee="me") == [
            "Ada late", "Ada done", "Ada soon", "Ada later", "Ada someday"
        ]  # fmt: skip
        assert titles(ada, assignee="me", status="open") == [
            "Ada late", "Ada soon", "Ada later", "Ada someday"
        ]  # fmt: skip
        assert titles(ada, assignee="me", overdue="true") == ["Ada late"]
        assert titles(ada, overdue="true") == ["Ada late", "Ben late"]
        before = iso(NOW + timedelta(days=1))
        assert titles(ada, assignee="me", status="open", due_before=before) == [
            "Ada late", "Ada soon"
        ]  # fmt: skip
        assert titles(ben, assignee="me") == ["Ben late", "For Ben"]
        assert titles(ada, assignee=str(cast.ben.user_id)) == ["Ben late", "For Ben"]

    def test_by_record(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        deal, other = make_deal(api, pipeline), make_deal(api, pipeline, title="Other")
        person = api.post("/api/v1/people", json={"first_name": "Pat"}).json()
        task(api, title="On deal", deal_id=deal["id"])
        task(api, title="On other deal", deal_id=other["id"])
        task(api, title="On person", person_id=person["id"])
        assert titles(api, deal_id=deal["id"]) == ["On deal"]
        assert titles(api, person_id=person["id"]) == ["On person"]

    def test_cursor_pages_cover_every_task_once(self, api: TestClient) -> None:
        for i in range(7):
            task(api, title=f"T{i}", due_at=iso(NOW + timedelta(hours=i % 3)))
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = api.get("/api/v1/tasks", params=params).json()
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 7


class TestPermissions:
    def test_read_only_reads_but_cannot_write(self, api_as: Api) -> None:
        made = task(api_as("ada"))
        cleo = api_as("cleo")
        assert cleo.get(f"/api/v1/tasks/{made['id']}").status_code == 200
        assert cleo.post("/api/v1/tasks", json={"title": "No"}).status_code == 403
        assert cleo.patch(f"/api/v1/tasks/{made['id']}", json={"done": True}).status_code == 403

    def test_member_changes_own_and_assigned_tasks_only(self, api_as: Api, cast: Cast) -> None:
        ada, ben = api_as("ada"), api_as("ben")
        adas = task(ada, title="Ada's")
        for_ben = task(ada, title="For Ben", assignee_id=str(cast.ben.user_id))
        bens = task(ben, title="Ben's", assignee_id=str(cast.max.user_id))
        assert ben.patch(f"/api/v1/tasks/{adas['id']}", json={"done": True}).status_code == 403
        assert ben.delete(f"/api/v1/tasks/{adas['id']}").status_code == 403
        assert ben.patch(f"/api/v1/tasks/{for_ben['id']}", json={"done": True}).status_code == 200
        assert ben.patch(f"/api/v1/tasks/{bens['id']}", json={"title": "Mine"}).status_code == 200
        # a manager may change anyone's
        assert (
            api_as("max").patch(f"/api/v1/tasks/{adas['id']}", json={"done": True}).json()["done"]
        )
        assert ada.get(f"/api/v1/tasks/{adas['id']}").json()["done"] is True


class TestIsolation:
    def test_other_workspace_cannot_see_or_link(self, api_as: Api) -> None:
        ada, dev = api_as("ada"), api_as("dev")
        deal = make_deal(ada, make_pipeline(ada))
        made = task(ada, deal_id=deal["id"])
        assert dev.get(f"/api/v1/tasks/{made['id']}").status_code == 404
        assert dev.patch(f"/api/v1/tasks/{made['id']}", json={"done": True}).status_code == 404
        assert dev.get("/api/v1/tasks").json()["items"] == []
        linked = dev.post("/api/v1/tasks", json={"title": "Spy", "deal_id": deal["id"]})
        assert linked.status_code == 422
        assert linked.json()["errors"][0]["code"] == "unknown-deal_id"


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"title": ""}, "title"),
            ({"title": "x", "priority": "urgent"}, "priority"),
            ({"title": "x", "due_at": "2030-01-01T09:00:00"}, "due_at"),
            ({"title": "x", "due_at": "tomorrow"}, "due_at"),
            ({"title": "x", "deal_id": str(uuid.uuid4())}, "deal_id"),
            ({"title": "x", "person_id": str(uuid.uuid4())}, "person_id"),
            ({"title": "x", "company_id": str(uuid.uuid4())}, "company_id"),
            ({"title": "x", "assignee_id": str(uuid.uuid4())}, "assignee_id"),
            ({"title": "x", "colour": "red"}, "colour"),
        ],
    )
    def test_invalid_task_is_422_and_stores_nothing(
        self, api: TestClient, body: dict[str, Any], field: str
    ) -> None:
        response = api.post("/api/v1/tasks", json=body)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]]
        assert api.get("/api/v1/tasks").json()["items"] == []

    def test_stale_write_is_412(self, api: TestClient) -> None:
        made = task(api)
        api.patch(f"/api/v1/tasks/{made['id']}", json={"title": "v2"})
        stale = api.patch(
            f"/api/v1/tasks/{made['id']}", json={"done": True}, headers={"If-Match": '"1"'}
        )
        assert stale.status_code == 412
        assert api.get(f"/api/v1/tasks/{made['id']}").json()["done"] is False

    def test_bad_list_parameters_are_4xx(self, api: TestClient) -> None:
        assert api.get("/api/v1/tasks", params={"assignee": "someone"}).status_code == 422
        assert api.get("/api/v1/tasks", params={"status": "maybe"}).status_code == 422
        assert api.get("/api/v1/tasks", params={"due_before": "2030-01-01T00:00"}).status_code == (
            422
        )
        assert api.get("/api/v1/tasks", params={"sort": "title"}).status_code == 422
        assert api.get("/api/v1/tasks", params={"cursor": "garbage"}).status_code == 400

    def test_null_title_is_422(self, api: TestClient) -> None:
        made = task(api)
        assert api.patch(f"/api/v1/tasks/{made['id']}", json={"title": None}).status_code == 422
