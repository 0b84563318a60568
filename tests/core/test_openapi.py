"""The OpenAPI document tells the truth about the server, and a client generator can use it."""

from __future__ import annotations

import json
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
READABLE_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/api/v1/forms/{form_key}/submit"),
    ("options", "/api/v1/forms/{form_key}/submit"),
}


@pytest.fixture(scope="module")
def spec(app: Any) -> dict[str, Any]:
    client = TestClient(app)
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_docs_page_loads_only_local_assets(anon: TestClient) -> None:
    page = anon.get("/api/docs")
    assert page.status_code == 200
    parser = _Links()
    parser.feed(page.text)
    assert len(parser.urls) >= 3  # script, stylesheet, icon
    for url in parser.urls:
        assert url.startswith("/"), f"{url} is not served by us"
        assert anon.get(url).status_code == 200, url
    assert "SwaggerUIBundle" in page.text
    assert "/api/v1/openapi.json" in page.text
    # nothing on the page reaches out to another host (a CDN, the validator badge)
    assert not re.search(r"https?://", page.text.replace("http://www.w3.org", ""))


def test_document_is_a_valid_openapi_31_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_validation_errors_are_documented_as_problems(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(spec)
    assert "ValidationError" not in spec["components"]["schemas"]
    for method, path, operation in operations(spec):
        invalid = operation["responses"].get("422")
        if operation.get("parameters") or "requestBody" in operation:
            assert invalid is not None, (method, path)
        if invalid is not None:
            assert invalid["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (method, path)


def test_operation_ids_are_readable_and_unique(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _m, _p, operation in operations(spec)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for operation_id in ids:
        assert READABLE_ID.match(operation_id), operation_id
        assert "api_v1" not in operation_id, operation_id
    assert {"people_list", "people_create", "people_get", "deals_move"} <= set(ids)


def test_authenticated_operations_declare_401_and_403_and_public_ones_no_security(
    spec: dict[str, Any],
) -> None:
    assert spec["security"] == [{"bearer": []}]
    public = set()
    for method, path, operation in operations(spec):
        if operation.get("security") == []:
            public.add((method, path))
            assert "401" not in operation["responses"], (method, path)
            continue
        responses = operation["responses"]
        assert {"401", "403"} <= set(responses), (method, path)
        assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
    assert public == PUBLIC


def test_idempotency_key_is_declared_on_idempotent_posts(spec: dict[str, Any]) -> None:
    posts = [(p, op) for m, p, op in operations(spec) if m == "post" and (m, p) not in PUBLIC]
    assert len(posts) > 30
    for path, operation in posts:
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, path
        assert headers["Idempotency-Key"]["required"] is False
        assert {"409", "422"} <= set(operation["responses"]), path


def test_record_headers_are_documented(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    for record in ("people/{person_id}", "deals/{deal_id}", "pipelines/{pipeline_id}"):
        for method in ("get", "patch"):
            headers = paths[f"/api/v1/{record}"][method]["responses"]["200"]["headers"]
            assert "ETag" in headers, (method, record)
    for collection in ("people", "companies", "deals", "tasks", "pipelines", "import-mappings"):
        created = paths[f"/api/v1/{collection}"]["post"]["responses"]["201"]
        assert "Location" in created["headers"], collection
    # no GET serves a team by id, so its 201 promises no Location
    assert "Location" not in paths["/api/v1/teams"]["post"]["responses"]["201"].get("headers", {})
    submit = paths["/api/v1/forms/{form_key}/submit"]["post"]["responses"]["429"]
    assert "Retry-After" in submit["headers"]


def test_server_sends_the_documented_record_headers(api: TestClient) -> None:
    """ETag and Location come from shared code, so routes that never set them send them too."""
    created = api.post("/api/v1/pipelines", json={"name": f"Pipe {uuid.uuid4().hex[:6]}"})
    assert created.status_code == 201, created.text
    pipeline = created.json()
    assert created.headers["Location"] == f"/api/v1/pipelines/{pipeline['id']}"
    assert created.headers["ETag"] == f'"{pipeline["version"]}"'
    read = api.get(created.headers["Location"])
    assert read.headers["ETag"] == f'"{read.json()["version"]}"'
    team = api.post("/api/v1/teams", json={"name": f"Team {uuid.uuid4().hex[:6]}"})
    assert team.status_code == 201, team.text
    assert "location" not in team.headers


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Bearer realm="rapport"'),
        ("Bearer not-a-token", 'Bearer realm="rapport", error="invalid_token"'),
        ("Basic b2xpdmlhOnNlY3JldA==", 'Bearer realm="rapport", error="invalid_request"'),
    ],
)
def test_every_401_carries_a_bearer_challenge(
    anon: TestClient, authorization: str | None, challenge: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = anon.get("/api/v1/people", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith(challenge)
    assert response.headers["content-type"] == "application/problem+json"


def test_operations_taking_a_record_id_document_404(spec: dict[str, Any]) -> None:
    """Fuzzing: ``?view=`` naming no saved view answered an undocumented 404 on every export."""
    for method, path, operation in operations(spec):
        ids = [
            p
            for p in operation.get("parameters", [])
            if p["schema"].get("format") == "uuid"
            or any(o.get("format") == "uuid" for o in p["schema"].get("anyOf", []))
        ]
        if ids:
            assert "404" in operation["responses"], (method, path)
    assert "404" in spec["paths"]["/api/v1/exports/people.csv"]["get"]["responses"]
