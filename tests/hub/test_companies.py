"""Companies through the API and the service: CRUD, validation, concurrency, bin, lists."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rapport.core.context import Context
from rapport.core.errors import Forbidden
from rapport.core.events import AuditEntry, OutboxEvent
from rapport.core.search import SearchDocument
from rapport.hub.schemas import CompanyIn, CompanyPatch
from rapport.hub.service import companies
from tests.conftest import Cast

PROBLEM = "application/problem+json"
Api = Callable[[str], TestClient]


def make(api: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Initech", "domain": "initech.com", **fields}
    response = api.post("/api/v1/companies", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def define(api: TestClient, key: str, field_type: str, **extra: Any) -> None:
    body = {"object_type": "company", "key": key, "label": key.title(), "field_type": field_type}
    response = api.post("/api/v1/custom-fields", json={**body, **extra})
    assert response.status_code == 201, response.text


class TestCreate:
    def test_normalises_domain_phone_and_country(self, api: TestClient) -> None:
        company = make(
            api,
            name="  Initech   Corp ",
            domain="https://www.InitTech.COM/about",
            phone="(415) 555-2671",
            address={"city": "Austin", "country": "United States"},
            industry="Software",
            size=120,
        )
        assert company["name"] == "Initech Corp"
        assert company["domain"] == "inittech.com"
        assert company["phone"] == "+14155552671"
        assert company["address"] == {"city": "Austin", "country": "US"}
        assert company["size"] == 120
        assert company["version"] == 1

    def test_answers_201_with_etag_and_location(self, api: TestClient) -> None:
        response = api.post("/api/v1/companies", json={"name": "Hooli"})
        assert response.status_code == 201
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"/api/v1/companies/{response.json()['id']}"

    def test_invalid_values_are_reported_per_field(self, api: TestClient) -> None:
        response = api.post(
            "/api/v1/companies",
            json={"name": "X", "domain": "not a domain", "phone": "12",
                  "address": {"country": "Atlantis"}, "owner_id": str(uuid.uuid4())},
        )  # fmt: skip
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"domain", "phone", "address.country", "owner_id"}

    def test_unknown_field_empty_name_and_negative_size_are_422(self, api: TestClient) -> None:
        for body, field in (
            ({"name": "X", "employees": 3}, "employees"),
            ({"name": "   "}, "name"),
            ({"name": "X", "size": -1}, "size"),
            ({"name": "X", "custom": {"tier": "gold"}}, "custom.tier"),
        ):
            response = api.post("/api/v1/companies", json=body)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == field

    def test_duplicate_domain_is_409_and_writes_nothing(self, api: TestClient) -> None:
        make(api)
        response = api.post(
            "/api/v1/companies", json={"name": "Other", "domain": "WWW.initech.com"}
        )
        assert response.status_code == 409
        assert response.json()["type"].endswith("/duplicate-domain")
        assert response.json()["errors"][0]["field"] == "domain"
        names = [c["name"] for c in api.get("/api/v1/companies").json()["items"]]
        assert names == ["Initech"]

    def test_a_binned_company_frees_its_domain(self, api: TestClient) -> None:
        first = make(api)
        assert api.delete(f"/api/v1/companies/{first['id']}").status_code == 200
        make(api, name="Initech Reborn")

    def test_tags_are_created_once_case_insensitively(self, api: TestClient) -> None:
        company = make(api, tags=["VIP", "vip", "Partner"])
        assert sorted(t["name"] for t in company["tags"]) == ["Partner", "VIP"]
        other = make(api, name="Hooli", domain="hooli.com", tags=["vip"])
        assert [t["id"] for t in other["tags"]] == [
            t["id"] for t in company["tags"] if t["name"] == "VIP"
        ]

    def test_tags_with_accented_capitals_are_found_again_whatever_their_case(
        self, api: TestClient
    ) -> None:
        # SQLite's built-in lower() folds ASCII only: the second company made a twin tag
        # (and broke the unique name) before lower() folded every letter on both databases.
        company = make(api, tags=["Économie"])
        other = make(api, name="Hooli", domain="hooli.com", tags=["économie", "ÉCONOMIE"])
        assert [t["id"] for t in other["tags"]] == [company["tags"][0]["id"]]

    def test_member_may_create_read_only_may_not(self, api_as: Api) -> None:
        assert api_as("ben").post("/api/v1/companies", json={"name": "Ben Co"}).status_code == 201
        response = api_as("cleo").post("/api/v1/companies", json={"name": "Cleo Co"})
        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM

    def test_service_writes_audit_outbox_and_search_document(self, ada_ctx: Context) -> None:
        company = companies.create(ada_ctx, CompanyIn(name="Globo Gym", domain="globogym.com"))
        session = ada_ctx.session
        audit = session.scalars(select(AuditEntry).where(AuditEntry.record_id == company.id)).one()
        assert audit.action == "company.created"
        assert audit.changes["domain"] == {"old": None, "new": "globogym.com"}
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.record_id == company.id))
        assert event.one().topic == "company.created"
        doc = session.scalars(
            select(SearchDocument).where(SearchDocument.record_id == company.id)
        ).one()
        assert doc.title == "Globo Gym"
        assert "globogym.com" in doc.content

    def test_service_refuses_read_only(self, cleo_ctx: Context) -> None:
        with pytest.raises(Forbidden):
            companies.create(cleo_ctx, CompanyIn(name="Nope"))


class TestUpdate:
    def test_changes_fields_and_bumps_the_etag(self, api: TestClient) -> None:
        company = make(api)
        response = api.patch(
            f"/api/v1/companies/{company['id']}",
            json={"industry": "Consulting", "domain": "initech.io"},
            headers={"If-Match": '"1"'},
        )
        assert response.status_code == 200, response.text
        assert response.json()["domain"] == "initech.io"
        assert response.headers["etag"] == '"2"'

    def test_stale_if_match_is_412_and_changes_nothing(self, api: TestClient) -> None:
        company = make(api)
        url = f"/api/v1/companies/{company['id']}"
        assert (
            api.patch(url, json={"industry": "A"}, headers={"If-Match": '"1"'}).status_code == 200
        )
        response = api.patch(url, json={"industry": "B"}, headers={"If-Match": '"1"'})
        assert response.status_code == 412
        assert response.json()["type"].endswith("/stale-write")
        assert api.get(url).json()["industry"] == "A"

    def test_nothing_changed_keeps_the_version(self, api: TestClient) -> None:
        company = make(api, industry="Software")
        response = api.patch(f"/api/v1/companies/{company['id']}", json={"industry": "Software"})
        assert response.json()["version"] == 1

    def test_a_tag_change_alone_is_a_new_version(self, api: TestClient) -> None:
        company = make(api)
        response = api.patch(f"/api/v1/companies/{company['id']}", json={"tags": ["Key account"]})
        assert response.json()["version"] == 2
        assert [t["name"] for t in response.json()["tags"]] == ["Key account"]
        response = api.patch(f"/api/v1/companies/{company['id']}", json={"tags": []})
        assert response.json()["tags"] == []
        assert response.json()["version"] == 3

    def test_taking_another_companys_domain_is_409(self, api: TestClient) -> None:
        make(api)
        other = make(api, name="Hooli", domain="hooli.com")
        response = api.patch(f"/api/v1/companies/{other['id']}", json={"domain": "initech.com"})
        assert response.status_code == 409

    def test_name_cannot_be_cleared_other_fields_can(self, api: TestClient) -> None:
        company = make(api, industry="Software", phone="+14155552671")
        url = f"/api/v1/companies/{company['id']}"
        response = api.patch(url, json={"name": None})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "name"
        response = api.patch(url, json={"industry": None, "phone": None, "domain": None})
        assert response.status_code == 200
        body = response.json()
        assert (body["industry"], body["phone"], body["domain"]) == (None, None, None)

    def test_changes_are_audited_with_old_and_new_values(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        company = make(api, industry="Software")
        api.patch(f"/api/v1/companies/{company['id']}", json={"industry": "Hardware"})
        entries = api.get("/api/v1/audit", params={"record": company["id"]}).json()["items"]
        assert [e["action"] for e in entries] == ["company.updated", "company.created"]
        assert entries[0]["changes"] == {"industry": {"old": "Software", "new": "Hardware"}}

    def test_renaming_reindexes_the_companys_people(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        company = make(api)
        person = api.post(
            "/api/v1/people",
            json={"first_name": "Peter", "last_name": "Gibbons", "company_id": company["id"]},
        ).json()
        api.patch(f"/api/v1/companies/{company['id']}", json={"name": "Initrode"})
        doc = ada_ctx.session.scalars(
            select(SearchDocument).where(SearchDocument.record_id == uuid.UUID(person["id"]))
        ).one()
        assert "Initrode" in (doc.subtitle or "")
        assert "initrode" in doc.content

    def test_service_update_with_stale_version(self, ada_ctx: Context) -> None:
        company = companies.create(ada_ctx, CompanyIn(name="Vandelay"))
        companies.update(ada_ctx, company.id, CompanyPatch(industry="Import"), expected_version=1)
        assert company.version == 2
        with pytest.raises(Exception, match="version"):
            companies.update(
                ada_ctx, company.id, CompanyPatch(industry="Export"), expected_version=1
            )


class TestBin:
    def test_delete_hides_restore_brings_back(self, api: TestClient) -> None:
        company = make(api)
        url = f"/api/v1/companies/{company['id']}"
        response = api.delete(url, headers={"If-Match": '"1"'})
        assert response.status_code == 200
        assert response.json()["deleted_at"] is not None
        assert api.get(url).status_code == 404
        assert api.get("/api/v1/companies").json()["items"] == []
        binned = api.get("/api/v1/companies", params={"deleted": "true"}).json()["items"]
        assert [c["id"] for c in binned] == [company["id"]]
        restored = api.post(f"{url}/restore")
        assert restored.status_code == 200
        assert restored.json()["deleted_at"] is None
        assert api.get(url).status_code == 200

    def test_stale_delete_is_412(self, api: TestClient) -> None:
        company = make(api)
        url = f"/api/v1/companies/{company['id']}"
        api.patch(url, json={"industry": "X"})
        assert api.delete(url, headers={"If-Match": '"1"'}).status_code == 412

    def test_restore_refuses_when_the_domain_was_taken_meanwhile(self, api: TestClient) -> None:
        company = make(api)
        api.delete(f"/api/v1/companies/{company['id']}")
        make(api, name="Initech 2")
        response = api.post(f"/api/v1/companies/{company['id']}/restore")
        assert response.status_code == 409

    def test_member_cannot_delete_read_only_cannot_update(
        self, api: TestClient, api_as: Api
    ) -> None:
        company = make(api)
        url = f"/api/v1/companies/{company['id']}"
        assert api_as("ben").delete(url).status_code == 403
        assert api_as("cleo").patch(url, json={"industry": "X"}).status_code == 403
        assert api_as("cleo").post(f"{url}/restore").status_code == 403
        assert api_as("cleo").get(url).status_code == 200


class TestList:
    def test_sorted_by_name_and_paged_by_cursor(self, api: TestClient) -> None:
        for name in ("Delta", "Alpha Co", "Charlie", "Bravo", "Echo"):
            make(api, name=name, domain=None)
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = api.get("/api/v1/companies", params=params).json()
            seen += [c["name"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        assert seen == ["Alpha Co", "Bravo", "Charlie", "Delta", "Echo"]

    def test_newest_first_and_unknown_sort_is_422(self, api: TestClient) -> None:
        for name in ("First", "Second", "Third"):
            make(api, name=name, domain=None)
        page = api.get("/api/v1/companies", params={"sort": "-created_at"}).json()
        assert [c["name"] for c in page["items"]] == ["Third", "Second", "First"]
        response = api.get("/api/v1/companies", params={"sort": "website"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "sort"

    def test_filters_by_field_size_tag_and_custom_field(self, api: TestClient) -> None:
        define(api, "tier", "select", options=["gold", "silver"])
        make(api, name="Big", domain="big.com", industry="Retail", size=5000, tags=["vip"],
             custom={"tier": "gold"})  # fmt: skip
        make(api, name="Small", domain="small.com", industry="Retail", size=10,
             custom={"tier": "silver"})  # fmt: skip
        make(api, name="Other", domain="other.com", industry="Software", size=300, tags=["VIP"])

        def names(**params: Any) -> list[str]:
            response = api.get("/api/v1/companies", params=params)
            assert response.status_code == 200, response.text
            return [c["name"] for c in response.json()["items"]]

        assert names(industry="Retail") == ["Big", "Small"]
        assert names(**{"size[gte]": "300"}) == ["Big", "Other"]
        assert names(tag="Vip") == ["Big", "Other"]
        assert names(**{"cf.tier": "gold"}) == ["Big"]
        assert names(filter='{"not": {"field": "tag", "op": "eq", "value": "vip"}}') == ["Small"]
        assert names(domain="small.com") == ["Small"]

    def test_bad_filters_are_422_with_a_hint(self, api: TestClient) -> None:
        response = api.get("/api/v1/companies", params={"industy": "Retail"})
        assert response.status_code == 422
        assert "industry" in response.json()["errors"][0]["message"]
        assert api.get("/api/v1/companies", params={"size": "many"}).status_code == 422

    def test_search_tolerates_a_typo(self, api: TestClient) -> None:
        make(api, name="Umbrella Corporation", domain="umbrella.com")
        make(api, name="Cyberdyne Systems", domain="cyberdyne.com")
        page = api.get("/api/v1/companies", params={"q": "umbrela"}).json()
        assert [c["name"] for c in page["items"]][:1] == ["Umbrella Corporation"]


class TestPeopleOfACompany:
    def test_lists_only_its_people(self, api: TestClient) -> None:
        initech = make(api)
        hooli = make(api, name="Hooli", domain="hooli.com")
        for first, company in (("Peter", initech), ("Milton", initech), ("Gavin", hooli)):
            api.post("/api/v1/people", json={"first_name": first, "company_id": company["id"]})
        page = api.get(f"/api/v1/companies/{initech['id']}/people").json()
        assert [p["first_name"] for p in page["items"]] == ["Milton", "Peter"]
        page = api.get(f"/api/v1/companies/{initech['id']}/people", params={"limit": 1}).json()
        assert page["has_more"] is True
        assert len(page["items"]) == 1

    def test_binned_company_is_404(self, api: TestClient) -> None:
        company = make(api)
        api.delete(f"/api/v1/companies/{company['id']}")
        assert api.get(f"/api/v1/companies/{company['id']}/people").status_code == 404


class TestIsolation:
    def test_other_workspace_gets_404_on_every_company_endpoint(
        self, api: TestClient, api_as: Api
    ) -> None:
        company = make(api)
        dev = api_as("dev")
        url = f"/api/v1/companies/{company['id']}"
        answers = [
            dev.get(url),
            dev.patch(url, json={"name": "Pwned"}),
            dev.delete(url),
            dev.post(f"{url}/restore"),
            dev.get(f"{url}/people"),
            dev.get(f"{url}/timeline"),
        ]
        assert [r.status_code for r in answers] == [404] * len(answers)
        assert all(r.headers["content-type"] == PROBLEM for r in answers)
        assert dev.get("/api/v1/companies").json()["items"] == []
        assert api.get(url).json()["name"] == "Initech"

    def test_domains_are_unique_per_workspace_only(self, api: TestClient, api_as: Api) -> None:
        make(api)
        response = api_as("dev").post(
            "/api/v1/companies", json={"name": "Initech", "domain": "initech.com"}
        )
        assert response.status_code == 201

    def test_a_person_cannot_link_another_workspaces_company(
        self, api: TestClient, api_as: Api, cast: Cast
    ) -> None:
        company = make(api)
        response = api_as("dev").post(
            "/api/v1/people", json={"first_name": "Eve", "company_id": company["id"]}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "company_id"
