"""Tags: unique names whatever the case, rename and recolour, delete, and bulk tagging."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rapport.core.context import Context
from rapport.core.errors import NotFound
from rapport.core.events import AuditEntry
from rapport.hub.schemas import CompanyIn, PersonIn, TagIn
from rapport.hub.service import companies, people, tags

PROBLEM = "application/problem+json"
Api = Callable[[str], TestClient]


def make_tag(api: TestClient, name: str = "VIP", **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/tags", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def make_person(api: TestClient, first_name: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/people", json={"first_name": first_name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


class TestCreate:
    def test_answers_201_with_etag_location_and_clean_values(self, api: TestClient) -> None:
        response = api.post("/api/v1/tags", json={"name": "  Key   account ", "color": "#FFAA00"})
        assert response.status_code == 201
        body = response.json()
        assert (body["name"], body["color"], body["version"]) == ("Key account", "#ffaa00", 1)
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"/api/v1/tags/{body['id']}"

    def test_same_name_in_another_case_is_409(self, api: TestClient) -> None:
        make_tag(api, "VIP")
        response = api.post("/api/v1/tags", json={"name": "vip"})
        assert response.status_code == 409
        assert response.json()["type"].endswith("/duplicate-tag")
        assert response.json()["errors"][0]["field"] == "name"

    def test_bad_colour_and_empty_name_are_422(self, api: TestClient) -> None:
        response = api.post("/api/v1/tags", json={"name": "X", "color": "#12"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "color"
        response = api.post("/api/v1/tags", json={"name": ""})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "name"

    def test_read_only_cannot_create(self, api_as: Api) -> None:
        assert api_as("cleo").post("/api/v1/tags", json={"name": "X"}).status_code == 403
        assert api_as("ben").post("/api/v1/tags", json={"name": "X"}).status_code == 201


class TestRenameAndRecolour:
    def test_rename_and_recolour_are_audited(self, api: TestClient) -> None:
        tag = make_tag(api, "Hot", color="red")
        url = f"/api/v1/tags/{tag['id']}"
        response = api.patch(url, json={"name": "Warm", "color": None}, headers={"If-Match": '"1"'})
        assert response.status_code == 200
        assert (response.json()["name"], response.json()["color"]) == ("Warm", None)
        assert response.headers["etag"] == '"2"'
        entry = api.get("/api/v1/audit", params={"record": tag["id"]}).json()["items"][0]
        assert entry["action"] == "tag.updated"
        assert entry["changes"] == {
            "name": {"old": "Hot", "new": "Warm"},
            "color": {"old": "red", "new": None},
        }

    def test_renaming_onto_another_tag_is_409_but_a_case_change_is_fine(
        self, api: TestClient
    ) -> None:
        make_tag(api, "VIP")
        other = make_tag(api, "Partner")
        url = f"/api/v1/tags/{other['id']}"
        assert api.patch(url, json={"name": "vip"}).status_code == 409
        response = api.patch(url, json={"name": "PARTNER"})
        assert response.status_code == 200
        assert response.json()["name"] == "PARTNER"

    def test_stale_if_match_is_412(self, api: TestClient) -> None:
        tag = make_tag(api)
        url = f"/api/v1/tags/{tag['id']}"
        api.patch(url, json={"color": "blue"})
        response = api.patch(url, json={"color": "green"}, headers={"If-Match": '"1"'})
        assert response.status_code == 412
        assert api.get(url).json()["color"] == "blue"

    def test_null_name_is_422(self, api: TestClient) -> None:
        tag = make_tag(api)
        response = api.patch(f"/api/v1/tags/{tag['id']}", json={"name": None})
        assert response.status_code == 422


class TestDelete:
    def test_delete_untags_every_record(self, api: TestClient) -> None:
        person = make_person(api, "Ada", tags=["VIP", "Partner"])
        vip = next(t for t in person["tags"] if t["name"] == "VIP")
        response = api.delete(f"/api/v1/tags/{vip['id']}", headers={"If-Match": '"1"'})
        assert response.status_code == 204
        assert api.get(f"/api/v1/tags/{vip['id']}").status_code == 404
        tags_now = api.get(f"/api/v1/people/{person['id']}").json()["tags"]
        assert [t["name"] for t in tags_now] == ["Partner"]
        entry = api.get("/api/v1/audit", params={"record": vip["id"]}).json()["items"][0]
        assert entry["action"] == "tag.deleted"

    def test_member_cannot_delete(self, api: TestClient, api_as: Api) -> None:
        tag = make_tag(api)
        assert api_as("ben").delete(f"/api/v1/tags/{tag['id']}").status_code == 403
        assert api_as("max").delete(f"/api/v1/tags/{tag['id']}").status_code == 204


class TestList:
    def test_pages_by_name_and_filters_by_prefix(self, api: TestClient) -> None:
        for name in ("Delta", "Alpha", "Charlie", "Bravo", "Alps"):
            make_tag(api, name)
        first = api.get("/api/v1/tags", params={"limit": 3}).json()
        assert [t["name"] for t in first["items"]] == ["Alpha", "Alps", "Bravo"]
        rest = api.get("/api/v1/tags", params={"limit": 3, "cursor": first["next_cursor"]}).json()
        assert [t["name"] for t in rest["items"]] == ["Charlie", "Delta"]
        assert rest["has_more"] is False
        page = api.get("/api/v1/tags", params={"prefix": "al"}).json()
        assert [t["name"] for t in page["items"]] == ["Alpha", "Alps"]

    def test_read_only_can_read(self, api: TestClient, api_as: Api) -> None:
        make_tag(api)
        assert len(api_as("cleo").get("/api/v1/tags").json()["items"]) == 1


class TestBulkTagging:
    def test_adds_tags_to_many_people_and_reports_unchanged(self, api: TestClient) -> None:
        ada = make_person(api, "Ada", tags=["vip"])
        bob = make_person(api, "Bob")
        response = api.post(
            "/api/v1/tags/add",
            json={"record_type": "person", "ids": [ada["id"], bob["id"]], "names": ["VIP"]},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["changed"] == [bob["id"]]
        assert body["unchanged"] == [ada["id"]]
        assert [t["name"] for t in body["tags"]] == ["vip"]
        bob_now = api.get(f"/api/v1/people/{bob['id']}")
        assert [t["name"] for t in bob_now.json()["tags"]] == ["vip"]
        assert bob_now.headers["etag"] == '"2"'
        assert api.get(f"/api/v1/people/{ada['id']}").headers["etag"] == '"1"'

    def test_tagging_is_audited_as_an_update(self, api: TestClient) -> None:
        bob = make_person(api, "Bob", tags=["Partner"])
        api.post(
            "/api/v1/tags/add",
            json={"record_type": "person", "ids": [bob["id"]], "names": ["VIP", "Hot"]},
        )
        entry = api.get("/api/v1/audit", params={"record": bob["id"]}).json()["items"][0]
        assert entry["action"] == "person.updated"
        assert entry["changes"] == {"tags": {"old": ["Partner"], "new": ["Hot", "Partner", "VIP"]}}

    def test_a_stale_etag_is_refused_after_tagging(self, api: TestClient) -> None:
        bob = make_person(api, "Bob")
        api.post("/api/v1/tags/add", json={"record_type": "person", "ids": [bob["id"]],
                                           "names": ["VIP"]})  # fmt: skip
        response = api.patch(
            f"/api/v1/people/{bob['id']}", json={"job_title": "CTO"}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 412

    def test_removes_tags_from_companies(self, api: TestClient) -> None:
        ids = []
        for name in ("Initech", "Hooli"):
            response = api.post("/api/v1/companies", json={"name": name, "tags": ["VIP", "Old"]})
            ids.append(response.json()["id"])
        response = api.post(
            "/api/v1/tags/remove",
            json={"record_type": "company", "ids": ids, "names": ["old", "never-existed"]},
        )
        assert response.status_code == 200, response.text
        assert sorted(response.json()["changed"]) == sorted(ids)
        for company_id in ids:
            company = api.get(f"/api/v1/companies/{company_id}").json()
            assert [t["name"] for t in company["tags"]] == ["VIP"]
            assert company["version"] == 2
        page = api.get("/api/v1/companies", params={"tag": "old"}).json()
        assert page["items"] == []

    def test_unknown_ids_are_404_naming_the_index(self, api: TestClient) -> None:
        bob = make_person(api, "Bob")
        response = api.post(
            "/api/v1/tags/add",
            json={"record_type": "person", "ids": [bob["id"], str(uuid.uuid4())], "names": ["x"]},
        )
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "ids.1"
        assert api.get(f"/api/v1/people/{bob['id']}").json()["tags"] == []

    def test_read_only_cannot_tag(self, api: TestClient, api_as: Api) -> None:
        bob = make_person(api, "Bob")
        body = {"record_type": "person", "ids": [bob["id"]], "names": ["x"]}
        assert api_as("cleo").post("/api/v1/tags/add", json=body).status_code == 403
        assert api_as("cleo").post("/api/v1/tags/remove", json=body).status_code == 403

    def test_service_tags_people_in_one_call(self, ada_ctx: Context) -> None:
        made = [
            people.create(ada_ctx, PersonIn(first_name=f"P{i}", email=f"p{i}@x.org"))
            for i in range(3)
        ]
        outcome = tags.add_tags(ada_ctx, "person", [p.id for p in made], ["Newsletter"])
        assert sorted(outcome.changed) == sorted(p.id for p in made)
        entries = ada_ctx.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "person.updated")
        ).all()
        assert len(entries) == 3
        outcome = tags.remove_tags(ada_ctx, "person", [made[0].id], ["newsletter"])
        assert outcome.changed == [made[0].id]

    def test_service_refuses_a_deleted_company(self, ada_ctx: Context) -> None:
        company = companies.create(ada_ctx, CompanyIn(name="Gone"))
        companies.delete(ada_ctx, company.id)
        with pytest.raises(NotFound):
            tags.add_tags(ada_ctx, "company", [company.id], ["x"])


class TestIsolation:
    def test_other_workspace_gets_404_on_every_tag_endpoint(
        self, api: TestClient, api_as: Api
    ) -> None:
        tag = make_tag(api)
        bob = make_person(api, "Bob")
        dev = api_as("dev")
        url = f"/api/v1/tags/{tag['id']}"
        body = {"record_type": "person", "ids": [bob["id"]], "names": ["pwned"]}
        answers = [
            dev.get(url),
            dev.patch(url, json={"name": "Pwned"}),
            dev.delete(url),
            dev.post("/api/v1/tags/add", json=body),
            dev.post("/api/v1/tags/remove", json=body),
        ]
        assert [r.status_code for r in answers] == [404] * len(answers)
        assert dev.get("/api/v1/tags").json()["items"] == []
        assert api.get(url).json()["name"] == "VIP"
        assert api.get(f"/api/v1/people/{bob['id']}").json()["tags"] == []

    def test_tag_names_are_per_workspace(self, api: TestClient, api_as: Api) -> None:
        make_tag(api, "VIP")
        assert api_as("dev").post("/api/v1/tags", json={"name": "VIP"}).status_code == 201

    def test_service_cannot_create_a_tag_twice(self, ada_ctx: Context) -> None:
        tags.create(ada_ctx, TagIn(name="Once"))
        with pytest.raises(Exception, match="already exists"):
            tags.create(ada_ctx, TagIn(name="ONCE"))
