"""Bulk actions on people and companies: tag, untag, assign, delete, restore; all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rapport.core.context import Context
from rapport.core.errors import Forbidden, Invalid, NotFound
from rapport.core.events import AuditEntry, OutboxEvent
from rapport.core.search import SearchDocument
from rapport.hub.schemas import CompanyIn, PersonIn
from rapport.hub.service import bulk_actions, companies, people
from tests.conftest import Cast

Api = Callable[[str], TestClient]


def person(api: TestClient, name: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/people", json={"first_name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def company(api: TestClient, name: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/companies", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def bulk(client: TestClient, kind: str, ids: list[str], action: str, **extra: Any) -> Any:
    return client.post(f"/api/v1/{kind}/bulk-actions", json={"ids": ids, "action": action, **extra})


class TestPeopleApi:
    def test_tag_then_untag_two_people(self, api: TestClient) -> None:
        a, b = person(api, "Ann"), person(api, "Bob", tags=["vip"])
        response = bulk(api, "people", [a["id"], b["id"]], "tag", tags=["VIP", "Q3"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == 2 and body["action"] == "tag"
        got = api.get(f"/api/v1/people/{a['id']}").json()
        assert sorted(t["name"] for t in got["tags"]) == ["Q3", "vip"]
        assert got["version"] == a["version"] + 1
        response = bulk(api, "people", [a["id"], b["id"]], "untag", tags=["q3"])
        assert response.json()["count"] == 2
        got = api.get(f"/api/v1/people/{b['id']}").json()
        assert [t["name"] for t in got["tags"]] == ["vip"]

    def test_tag_needs_a_name(self, api: TestClient) -> None:
        a = person(api, "Ann")
        response = bulk(api, "people", [a["id"]], "tag", tags=[" "])
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "tags"

    def test_assign_and_unassign_owner(self, api: TestClient, cast: Cast) -> None:
        a, b = person(api, "Ann"), person(api, "Bob", owner_id=str(cast.ben.user_id))
        response = bulk(api, "people", [a["id"], b["id"]], "assign", owner_id=str(cast.ben.user_id))
        body = response.json()
        assert (body["changed"], body["unchanged"]) == ([a["id"]], [b["id"]])
        assert api.get(f"/api/v1/people/{a['id']}").json()["owner_id"] == str(cast.ben.user_id)
        response = bulk(api, "people", [a["id"], b["id"]], "assign", owner_id=None)
        assert response.json()["count"] == 2
        assert api.get(f"/api/v1/people/{b['id']}").json()["owner_id"] is None

    def test_assign_to_someone_outside_the_workspace_is_422(
        self, api: TestClient, cast: Cast
    ) -> None:
        a = person(api, "Ann")
        response = bulk(api, "people", [a["id"]], "assign", owner_id=str(cast.dev.user_id))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "owner_id"
        assert api.get(f"/api/v1/people/{a['id']}").json()["owner_id"] is None

    def test_delete_then_restore(self, api: TestClient) -> None:
        a, b = person(api, "Ann", email="ann@x.org"), person(api, "Bob")
        response = bulk(api, "people", [a["id"], b["id"]], "delete")
        assert response.json()["count"] == 2
        assert api.get(f"/api/v1/people/{a['id']}").status_code == 404
        response = bulk(api, "people", [a["id"], b["id"]], "restore")
        assert response.json()["count"] == 2
        assert api.get(f"/api/v1/people/{a['id']}").status_code == 200

    def test_member_may_tag_but_not_delete(self, api: TestClient, api_as: Api) -> None:
        a = person(api, "Ann")
        ben = api_as("ben")
        assert bulk(ben, "people", [a["id"]], "tag", tags=["x"]).status_code == 200
        assert bulk(ben, "people", [a["id"]], "delete").status_code == 403
        assert bulk(ben, "people", [a["id"]], "restore").status_code == 403
        assert api.get(f"/api/v1/people/{a['id']}").status_code == 200

    def test_read_only_is_refused_every_action(self, api: TestClient, api_as: Api) -> None:
        a = person(api, "Ann")
        cleo = api_as("cleo")
        for action, extra in (("tag", {"tags": ["x"]}), ("untag", {"tags": ["x"]}),
                              ("assign", {}), ("delete", {}), ("restore", {})):  # fmt: skip
            assert bulk(cleo, "people", [a["id"]], action, **extra).status_code == 403, action

    def test_ids_of_another_workspace_are_404_and_nothing_is_written(
        self, api: TestClient, api_as: Api
    ) -> None:
        mine = person(api, "Ann")
        theirs = person(api_as("dev"), "Globex Gus")
        response = bulk(api, "people", [mine["id"], theirs["id"]], "delete")
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "ids.1"
        assert api.get(f"/api/v1/people/{mine['id']}").status_code == 200
        assert api_as("dev").get(f"/api/v1/people/{theirs['id']}").status_code == 200
        response = bulk(api_as("dev"), "people", [mine["id"]], "tag", tags=["x"])
        assert response.status_code == 404

    def test_the_batch_size_is_capped_with_a_clear_message(self, api: TestClient) -> None:
        ids = [str(uuid.uuid4()) for _ in range(bulk_actions.MAX_RECORDS + 1)]
        response = bulk(api, "people", ids, "tag", tags=["x"])
        assert response.status_code == 422
        assert "at most 1,000 records at once" in response.json()["errors"][0]["message"]

    def test_unknown_action_and_empty_selection_are_422(self, api: TestClient) -> None:
        a = person(api, "Ann")
        assert bulk(api, "people", [a["id"]], "explode").status_code == 422
        response = bulk(api, "people", [], "delete")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "ids"


class TestCompaniesApi:
    def test_tag_assign_delete_restore(self, api: TestClient, cast: Cast) -> None:
        a, b = company(api, "Acme Labs", domain="acmelabs.io"), company(api, "Beta")
        ids = [a["id"], b["id"]]
        assert bulk(api, "companies", ids, "tag", tags=["partner"]).json()["count"] == 2
        response = bulk(api, "companies", ids, "assign", owner_id=str(cast.max.user_id))
        assert response.json()["count"] == 2
        got = api.get(f"/api/v1/companies/{a['id']}").json()
        assert [t["name"] for t in got["tags"]] == ["partner"]
        assert got["owner_id"] == str(cast.max.user_id)
        assert bulk(api, "companies", ids, "delete").json()["count"] == 2
        assert api.get(f"/api/v1/companies/{b['id']}").status_code == 404
        assert bulk(api, "companies", ids, "restore").json()["count"] == 2
        assert api.get(f"/api/v1/companies/{b['id']}").status_code == 200

    def test_restore_refused_when_a_live_company_took_the_domain(self, api: TestClient) -> None:
        a = company(api, "Old", domain="taken.io")
        bulk(api, "companies", [a["id"]], "delete")
        company(api, "New", domain="taken.io")
        response = bulk(api, "companies", [a["id"]], "restore")
        assert response.status_code == 409
        assert api.get(f"/api/v1/companies/{a['id']}").status_code == 404

    def test_other_workspace_ids_are_404(self, api: TestClient, api_as: Api) -> None:
        theirs = company(api_as("dev"), "Globex")
        assert bulk(api, "companies", [theirs["id"]], "delete").status_code == 404


class TestService:
    def test_one_audit_row_and_one_outbox_event_per_record(self, ada_ctx: Context) -> None:
        ids = [people.create(ada_ctx, PersonIn(first_name=n)).id for n in ("A", "B", "C")]
        result = bulk_actions.run(ada_ctx, "person", "delete", ids)
        assert sorted(result.changed) == sorted(ids)
        session = ada_ctx.session
        for topic, model in (("person.deleted", AuditEntry), ("person.deleted", OutboxEvent)):
            column = model.action if model is AuditEntry else model.topic  # type: ignore[attr-defined]
            rows = session.scalars(select(model.record_id).where(column == topic)).all()
            assert sorted(rows) == sorted(ids)
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.record_id == ids[0], AuditEntry.action == topic)
        ).one()
        assert audit.actor_id == ada_ctx.user_id and audit.changes["deleted_at"]["old"] is None
        docs = session.scalar(
            select(func.count())
            .select_from(SearchDocument)
            .where(SearchDocument.record_id.in_(ids))
        )
        assert docs == 0
        bulk_actions.run(ada_ctx, "person", "restore", ids)
        restored = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == "person.restored")
        )
        assert len(restored.all()) == 3
        docs = session.scalar(
            select(func.count())
            .select_from(SearchDocument)
            .where(SearchDocument.record_id.in_(ids))
        )
        assert docs == 3

    def test_assign_audits_old_and_new_owner(self, ada_ctx: Context, cast: Cast) -> None:
        c = companies.create(ada_ctx, CompanyIn(name="Owned"))
        bulk_actions.run(ada_ctx, "company", "assign", [c.id], owner_id=cast.ann.user_id)
        audit = ada_ctx.session.scalars(
            select(AuditEntry).where(
                AuditEntry.record_id == c.id, AuditEntry.action == "company.updated"
            )
        ).one()
        assert audit.changes["owner_id"] == {"old": None, "new": str(cast.ann.user_id)}

    def test_permission_is_checked_before_ids(self, cleo_ctx: Context) -> None:
        with pytest.raises(Forbidden):
            bulk_actions.run(cleo_ctx, "person", "tag", [uuid.uuid4()], tag_names=["x"])

    def test_unknown_ids_are_not_found(self, ada_ctx: Context) -> None:
        with pytest.raises(NotFound):
            bulk_actions.run(ada_ctx, "company", "delete", [uuid.uuid4()])

    def test_cap(self, ada_ctx: Context) -> None:
        ids = [uuid.uuid4() for _ in range(bulk_actions.MAX_RECORDS + 1)]
        with pytest.raises(Invalid, match="at most"):
            bulk_actions.run(ada_ctx, "person", "delete", ids)
