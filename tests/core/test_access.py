"""The route declaration on its own: it refuses, it honours token scopes, and it is published.

The routes here make no service call at all, so whatever they refuse is the declaration's
doing (the real routes are checked against ROLE_PERMISSIONS in test_access_matrix.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from rapport.accounts import service as accounts
from rapport.core.access import DeclaredRoute, public, requires, signed_in
from rapport.core.context import Context
from rapport.core.deps import Ctx
from rapport.core.errors import PROBLEM_BASE, PROBLEM_JSON, install_handlers
from tests.conftest import Cast

NOTE = "members: their own only"


def _app() -> FastAPI:
    app = FastAPI()
    install_handlers(app)
    router = APIRouter(route_class=DeclaredRoute)

    @router.post("/guarded", dependencies=[requires("pipelines:write", note=NOTE)])
    def guarded(ctx: Ctx) -> dict[str, Any]:
        """Nothing but the declaration guards this."""
        return {"role": ctx.role.value}

    @router.get("/whoami", dependencies=[signed_in()])
    def whoami(ctx: Ctx) -> dict[str, Any]:
        return {"role": ctx.role.value}

    @router.get("/open", dependencies=[public()])
    def open_() -> dict[str, Any]:
        return {"open": True}

    @router.get("/forgotten")
    def forgotten() -> dict[str, Any]:
        return {}

    app.include_router(router, prefix="/t")
    return app


@pytest.fixture
def client(connection: Connection) -> TestClient:
    return TestClient(_app(), raise_server_exceptions=False)


def _as(client: TestClient, token: str | None) -> TestClient:
    client.headers.pop("Authorization", None)
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_a_role_without_the_permission_gets_the_usual_403_problem(
    client: TestClient, cast: Cast
) -> None:
    response = _as(client, cast.ben.token).post("/t/guarded")
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == PROBLEM_BASE + "forbidden" and body["status"] == 403
    assert body["detail"] == "role member lacks the permission 'pipelines:write'"
    assert body["instance"] == "/t/guarded"
    assert _as(client, cast.ann.token).post("/t/guarded").json() == {"role": "admin"}


def test_a_token_scope_narrows_the_declared_permission(
    client: TestClient, ada_ctx: Context
) -> None:
    """Ada owns the workspace, but this token of hers carries only deals:write."""
    _row, secret = accounts.create_token(ada_ctx, name="narrow", scopes=["deals:write"])
    ada_ctx.session.flush()
    response = _as(client, secret).post("/t/guarded")
    assert response.status_code == 403
    assert response.json()["detail"] == "this token lacks the permission 'pipelines:write'"
    assert _as(client, secret).get("/t/whoami").json() == {"role": "owner"}  # any scope


def test_signed_in_and_public(client: TestClient, cast: Cast) -> None:
    anonymous = _as(client, None)
    assert anonymous.post("/t/guarded").status_code == 401
    assert anonymous.get("/t/whoami").status_code == 401
    assert anonymous.get("/t/open").json() == {"open": True}
    assert _as(client, cast.cleo.token).get("/t/whoami").json() == {"role": "read_only"}


def test_the_declaration_is_published_in_the_openapi_document() -> None:
    paths = _app().openapi()["paths"]
    guarded = paths["/t/guarded"]["post"]
    assert guarded["x-permission"] == "pipelines:write"
    assert guarded["x-permission-note"] == NOTE
    assert guarded["description"] == (
        f"Nothing but the declaration guards this.\n\nRequires pipelines:write ({NOTE})."
    )
    assert paths["/t/whoami"]["get"]["x-permission"] == "signed-in"
    assert paths["/t/open"]["get"]["x-permission"] == "public"
    assert "x-permission" not in paths["/t/forgotten"]["get"]  # the matrix test catches this


def test_a_route_declares_its_access_once() -> None:
    router = APIRouter(route_class=DeclaredRoute)
    with pytest.raises(ValueError, match="declares its access 2 times"):

        @router.get("/twice", dependencies=[requires("people:read"), public()])
        def twice() -> None:
            return None


def test_an_unknown_permission_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        requires("pipelines:configure")
