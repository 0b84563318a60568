"""Input the database cannot store, or the record cannot hold, is a 422 naming the field — never
a 500, and alike on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rapport.accounts.models import Workspace
from rapport.core.context import Context
from rapport.core.schemas import Patch
from tests.live import Server


def fields_of(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


def json_post(client: Any, url: str, raw: str) -> Any:
    return client.post(url, content=raw.encode(), headers={"content-type": "application/json"})


class TestUnstorableText:
    def test_nul_in_a_query_parameter(self, api: TestClient) -> None:
        assert fields_of(api.get("/api/v1/people", params={"q": "a\x00b"})) == ["q"]

    def test_nul_in_a_path_parameter(self, api: TestClient) -> None:
        assert fields_of(api.get("/api/v1/imports/ab%00c")) == ["import_id"]

    def test_nul_and_surrogates_in_a_json_body_at_any_depth(self, api: TestClient) -> None:
        raw = (
            '{"first_name": "Ada\\u0000", "last_name": "L\\ud800x",'
            ' "custom": {"note\\u0000": "x", "ok": ["fine", "bad\\udfff"]}}'
        )
        fields = fields_of(json_post(api, "/api/v1/people", raw))
        assert fields == ["first_name", "last_name", "custom.note\\x00", "custom.ok.1"]

    def test_a_paired_surrogate_is_an_ordinary_character(self, api: TestClient) -> None:
        raw = '{"first_name": "Ada \\ud83d\\ude00", "email": "emoji@example.com"}'
        response = json_post(api, "/api/v1/people", raw)
        assert response.status_code == 201, response.text
        assert response.json()["first_name"] == "Ada \U0001f600"

    def test_nul_in_a_form_field(self, anon: TestClient) -> None:
        response = anon.post("/api/v1/forms/any-key/submit", data={"email": "a\x00@example.com"})
        assert fields_of(response) == ["email"]

    def test_nul_in_a_multipart_form_field(self, api: TestClient) -> None:
        response = api.post(
            "/api/v1/imports",
            data={"mapping": "people\x00"},
            files={"file": ("people.csv", b"email\nx@example.com\n", "text/csv")},
        )
        assert fields_of(response) == ["mapping"]


@pytest.mark.parametrize("object_type", ["person", "company"])
@pytest.mark.parametrize("fmt", ["x" * 300, "../../../escaped"])
def test_an_upload_format_never_becomes_a_path(
    api: TestClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, object_type: str, fmt: str
) -> None:
    """Fuzzing found a long ``format`` made the staged file's name (500: name too long); it
    could as well have named a path outside the upload folder."""
    uploads = tmp_path / "uploads"
    monkeypatch.setenv("RAPPORT_IMPORT_DIR", str(uploads))
    response = api.post(
        "/api/v1/imports",
        data={"format": fmt, "object": object_type},
        files={"file": ("people.csv", b"email\nx@example.com\n", "text/csv")},
    )
    assert response.status_code == 400, response.text
    assert "unknown format" in response.json()["detail"]
    assert not list(tmp_path.rglob("*escaped*"))
    assert not uploads.exists() or not list(uploads.iterdir())


class TestCurrency:
    @pytest.mark.parametrize("code", ["XYZ", "EU1", "eu"])
    def test_unknown_codes_are_422_on_the_currency_field(self, api: TestClient, code: str) -> None:
        response = api.post("/api/v1/pipelines", json={"name": "P", "currency": code})
        assert fields_of(response) == ["currency"]

    def test_codes_are_upper_cased(self, api: TestClient) -> None:
        response = api.post("/api/v1/pipelines", json={"name": "P", "currency": "chf"})
        assert response.status_code == 201, response.text
        assert response.json()["currency"] == "CHF"


class TestNullOnPatch:
    def test_null_where_the_record_cannot_hold_it_is_422(self, api: TestClient) -> None:
        body = {"object_type": "person", "key": "tier", "label": "Tier", "field_type": "text"}
        field = api.post("/api/v1/custom-fields", json=body).json()
        url = f"/api/v1/custom-fields/{field['id']}"
        for name in ("required", "label", "filterable", "options"):
            assert fields_of(api.patch(url, json={name: None})) == [name]
        pipeline = api.post("/api/v1/pipelines", json={"name": "P"}).json()
        response = api.patch(f"/api/v1/pipelines/{pipeline['id']}", json={"is_default": None})
        assert fields_of(response) == ["is_default"]
        response = api.patch("/api/v1/sales/settings", json={"follow_up_days_by_pipeline": None})
        assert fields_of(response) == ["follow_up_days_by_pipeline"]

    def test_null_still_clears_what_may_be_cleared(self, api: TestClient) -> None:
        pipeline = api.post("/api/v1/pipelines", json={"name": "P", "currency": "EUR"}).json()
        response = api.patch(f"/api/v1/pipelines/{pipeline['id']}", json={"currency": None})
        assert response.status_code == 200, response.text
        assert response.json()["currency"] is None
        response = api.patch("/api/v1/sales/settings", json={"follow_up_days": None})
        assert response.status_code == 200, response.text

    def test_the_document_shows_those_fields_without_null(self, api: TestClient) -> None:
        schemas = api.get("/api/v1/openapi.json").json()["components"]["schemas"]
        assert schemas["PipelinePatch"]["properties"]["is_default"]["type"] == "boolean"
        assert "anyOf" in schemas["PipelinePatch"]["properties"]["currency"]


def test_settings_stored_with_a_null_are_read_as_defaults(
    api: TestClient, ada_ctx: Context
) -> None:
    """A workspace an earlier release let a null into keeps working (read, write, reminders)."""
    workspace = ada_ctx.session.get(Workspace, ada_ctx.workspace_id)
    assert workspace is not None
    stored = {"follow_up_days": 7, "follow_up_days_by_pipeline": None}
    workspace.settings = {**(workspace.settings or {}), "sales": stored}
    ada_ctx.session.commit()
    response = api.get("/api/v1/sales/settings")
    assert response.status_code == 200, response.text
    assert response.json()["follow_up_days"] == 7
    assert response.json()["follow_up_days_by_pipeline"] == {}
    assert api.post("/api/v1/tasks/reminders/run").status_code == 200
    response = api.patch("/api/v1/sales/settings", json={"follow_up_days": 9})
    assert response.status_code == 200, response.text
    assert response.json()["follow_up_days_by_pipeline"] == {}


def test_through_a_real_server(live_server: Server) -> None:
    """The same refusals through ``rapport serve`` on its own database (SQLite or PostgreSQL):
    PostgreSQL cannot store a NUL, SQLite could; both answer 422 and store nothing."""
    headers = {"Authorization": f"Bearer {live_server.token()}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as client:
        email = f"nul-{uuid.uuid4().hex[:8]}@example.com"
        raw = json.dumps({"first_name": "Nul\x00", "email": email})  # "\u0000" in the JSON
        assert fields_of(json_post(client, "/api/v1/people", raw)) == ["first_name"]
        raw = json.dumps({"email": email, "custom": {"k": "v\x00"}})
        assert fields_of(json_post(client, "/api/v1/people", raw)) == ["custom.k"]
        assert client.get("/api/v1/people", params={"email": email}).json()["items"] == []
        body = {"object_type": "person", "key": f"k{uuid.uuid4().hex[:8]}", "label": "K",
                "field_type": "text"}  # fmt: skip
        field = client.post("/api/v1/custom-fields", json=body).json()
        response = client.patch(f"/api/v1/custom-fields/{field['id']}", json={"label": None})
        assert fields_of(response) == ["label"]
        response = client.patch("/api/v1/sales/settings", json={"follow_up_days_by_pipeline": None})
        assert fields_of(response) == ["follow_up_days_by_pipeline"]
        assert client.get("/api/v1/sales/settings").status_code == 200
        assert client.post("/api/v1/tasks/reminders/run").status_code == 200
        response = client.post("/api/v1/deals", json={"title": "D", "currency": "ZZZ"})
        assert "currency" in fields_of(response)


def test_a_patch_schema_must_name_its_record_shape() -> None:
    with pytest.raises(TypeError, match="record_shape"):

        class NamelessPatch(Patch):
            label: str | None = None
