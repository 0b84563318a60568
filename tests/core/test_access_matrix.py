"""Every endpoint, every role, and the other workspace: who may do what, read off the
OpenAPI document so a new endpoint cannot slip past these checks unnoticed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

Api = Callable[[str], TestClient]
ROLES = ("ada", "ann", "max", "ben", "cleo")  # owner, admin, manager, member, read-only
EVERYONE = set(ROLES)
WRITERS = {"ada", "ann", "max", "ben"}
MANAGERS = {"ada", "ann", "max"}
ADMINS = {"ada", "ann"}

# Which cast members may call each operation (everyone else must get 403).
MATRIX: dict[tuple[str, str], set[str]] = {
    ("get", "/api/v1/me"): EVERYONE,
    ("get", "/api/v1/tokens"): EVERYONE,
    ("post", "/api/v1/tokens"): EVERYONE,
    ("delete", "/api/v1/tokens/{token_id}"): EVERYONE,
    ("get", "/api/v1/people"): EVERYONE,
    ("post", "/api/v1/people"): WRITERS,
    ("post", "/api/v1/people/bulk"): WRITERS,
    ("get", "/api/v1/people/{person_id}"): EVERYONE,
    ("patch", "/api/v1/people/{person_id}"): WRITERS,
    ("delete", "/api/v1/people/{person_id}"): MANAGERS,
    ("post", "/api/v1/people/{person_id}/restore"): MANAGERS,
    ("get", "/api/v1/people/{person_id}/timeline"): EVERYONE,
    ("get", "/api/v1/people/{person_id}/summary"): EVERYONE,
    ("get", "/api/v1/companies"): EVERYONE,
    ("post", "/api/v1/companies"): WRITERS,
    ("get", "/api/v1/companies/{company_id}"): EVERYONE,
    ("patch", "/api/v1/companies/{company_id}"): WRITERS,
    ("delete", "/api/v1/companies/{company_id}"): MANAGERS,
    ("post", "/api/v1/companies/{company_id}/restore"): MANAGERS,
    ("get", "/api/v1/companies/{company_id}/people"): EVERYONE,
    ("get", "/api/v1/companies/{company_id}/timeline"): EVERYONE,
    ("get", "/api/v1/tags"): EVERYONE,
    ("post", "/api/v1/tags"): WRITERS,
    ("post", "/api/v1/tags/add"): WRITERS,
    ("post", "/api/v1/tags/remove"): WRITERS,
    ("get", "/api/v1/tags/{tag_id}"): EVERYONE,
    ("patch", "/api/v1/tags/{tag_id}"): WRITERS,
    ("delete", "/api/v1/tags/{tag_id}"): MANAGERS,
    ("get", "/api/v1/custom-fields"): EVERYONE,
    ("post", "/api/v1/custom-fields"): ADMINS,
    ("get", "/api/v1/custom-fields/{field_id}"): EVERYONE,
    ("patch", "/api/v1/custom-fields/{field_id}"): ADMINS,
    ("delete", "/api/v1/custom-fields/{field_id}"): ADMINS,
    ("get", "/api/v1/activities"): EVERYONE,
    ("post", "/api/v1/activities"): WRITERS,
    ("post", "/api/v1/activities/bulk"): WRITERS,
    ("get", "/api/v1/activities/{activity_id}"): EVERYONE,
    ("patch", "/api/v1/activities/{activity_id}"): WRITERS,
    ("delete", "/api/v1/activities/{activity_id}"): MANAGERS,
    ("post", "/api/v1/activities/{activity_id}/restore"): MANAGERS,
    ("get", "/api/v1/audit"): MANAGERS,
}
PUBLIC = {("get", "/healthz"), ("get", "/readyz")}


def operations(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, ops in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in ops
    }


def test_every_api_operation_is_in_the_matrix(app: FastAPI) -> None:
    missing = operations(app) - set(MATRIX)
    assert not missing, f"add these operations to MATRIX: {sorted(missing)}"


@pytest.fixture
def records(api: TestClient, api_as: Api) -> dict[str, str]:
    """One of each record in Acme, made by Ada; ids by path parameter name."""
    person = api.post("/api/v1/people", json={"first_name": "Matrix", "email": "m@x.org"}).json()
    company = api.post("/api/v1/companies", json={"name": "Matrix Co"}).json()
    tag = api.post("/api/v1/tags", json={"name": "matrix"}).json()
    field = api.post(
        "/api/v1/custom-fields",
        json={"object_type": "person", "key": "matrix", "label": "M", "field_type": "text"},
    ).json()
    activity = api.post(
        "/api/v1/activities", json={"kind": "note", "subject": "n", "person_id": person["id"]}
    ).json()
    token = api.post("/api/v1/tokens", json={"name": "m", "scopes": ["read"]}).json()
    for record in (person, company, tag, field, activity, token):
        assert "id" in record, record
    return {
        "person_id": person["id"],
        "company_id": company["id"],
        "tag_id": tag["id"],
        "field_id": field["id"],
        "activity_id": activity["id"],
        "token_id": token["id"],
    }


BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/tokens"): {"name": "t", "scopes": ["read"]},
    ("post", "/api/v1/people"): {"first_name": "New"},
    ("post", "/api/v1/people/bulk"): {"items": [{"first_name": "Bulk"}]},
    ("post", "/api/v1/companies"): {"name": "New Co"},
    ("post", "/api/v1/tags"): {"name": "new-tag"},
    ("post", "/api/v1/custom-fields"): {
        "object_type": "company",
        "key": "new_field",
        "label": "N",
        "field_type": "text",
    },
    ("post", "/api/v1/activities"): {"kind": "note", "subject": "x"},
    ("post", "/api/v1/activities/bulk"): {"items": [{"kind": "note", "subject": "x"}]},
}


def _call(client: TestClient, method: str, path: str, ids: dict[str, str]) -> int:
    url = path.format(**ids)
    body = BODIES.get((method, path))
    if path.startswith("/api/v1/tags/") and path.endswith(("add", "remove")):
        body = {"record_type": "person", "ids": [ids["person_id"]], "names": ["x"]}
    if method == "patch":
        body = {}
    response = client.request(method.upper(), url, json=body)
    return response.status_code


@pytest.mark.parametrize("operation", sorted(MATRIX), ids=lambda op: f"{op[0]} {op[1]}")
def test_role_matrix(operation: tuple[str, str], api_as: Api, records: dict[str, str]) -> None:
    method, path = operation
    for name in ROLES:
        status = _call(api_as(name), method, path, records)
        if name in MATRIX[operation]:
            assert status != 403, f"{name} should be allowed {method} {path}"
            assert status < 500
        else:
            assert status == 403, f"{name} must be refused {method} {path}, got {status}"


ID_OPERATIONS = sorted(op for op in MATRIX if "{" in op[1])


@pytest.mark.parametrize("operation", ID_OPERATIONS, ids=lambda op: f"{op[0]} {op[1]}")
def test_other_workspace_gets_404_for_every_record_endpoint(
    operation: tuple[str, str], api_as: Api, records: dict[str, str]
) -> None:
    method, path = operation
    status = _call(api_as("dev"), method, path, records)
    assert status == 404, f"Dev (Globex) got {status} for {method} {path} on Acme's record"


def test_other_workspace_lists_show_nothing_of_acme(api_as: Api, records: dict[str, str]) -> None:
    dev = api_as("dev")
    for path in (
        "/api/v1/people",
        "/api/v1/companies",
        "/api/v1/tags",
        "/api/v1/activities",
        "/api/v1/custom-fields",
    ):
        body = dev.get(path).json()
        items = body["items"] if isinstance(body, dict) else body
        assert not {str(i.get("id")) for i in items} & set(records.values()), path
    audit = dev.get("/api/v1/audit", params={"record": records["person_id"]}).json()
    assert audit["items"] == []
