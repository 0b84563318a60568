"""The prefix index (core/dispatch.py) chooses, for every route of the app, the route FastAPI's
own router would choose, or leaves the choice to it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.routing import (
    _FASTAPI_INCLUDED_ROUTER_KEY,
    _FASTAPI_SCOPE_KEY,
    APIRouter,
    _EffectiveRouteContext,
    _IncludedRouter,
)
from fastapi.testclient import TestClient
from starlette.convertors import IntegerConvertor, PathConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Match

from rapport.core.context import Context
from rapport.core.dispatch import PrefixDispatch, leaves
from rapport.hub.schemas import PersonIn
from rapport.hub.service import people

SAMPLE_ID = str(uuid.UUID(int=7))


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _fastapi_choice(router: APIRouter, scope: dict[str, Any]) -> object | None:
    """What FastAPI's router hands the request to: the effective route context of a FastAPI
    route inside an included router, another route, or None (404, 405, redirect)."""
    for route in router.routes:
        match, _ = route.matches(scope)
        if match is not Match.FULL:
            continue
        chosen: BaseRoute | _EffectiveRouteContext | None = route
        while isinstance(chosen, _IncludedRouter):
            scope.setdefault(_FASTAPI_SCOPE_KEY, {})[_FASTAPI_INCLUDED_ROUTER_KEY] = chosen
            _, _, inner, context = chosen._match(scope)
            chosen = inner if isinstance(inner, _IncludedRouter) else context or inner
        return chosen
    return None


def _concrete(context: _EffectiveRouteContext) -> str:
    """A path the route matches: each parameter filled with a value its convertor accepts."""
    path = context.path_format
    for name, convertor in context.param_convertors.items():
        if isinstance(convertor, IntegerConvertor):
            value = "7"
        elif isinstance(convertor, PathConvertor):
            value = "a/b.txt"
        elif isinstance(convertor, UUIDConvertor):
            value = SAMPLE_ID
        else:
            value = SAMPLE_ID if name.endswith("id") else "sample"
        path = path.replace("{" + name + "}", value)
    return path


@pytest.fixture
def dispatch(app) -> PrefixDispatch:  # type: ignore[no-untyped-def]
    installed = app.router.middleware_stack
    assert isinstance(installed, PrefixDispatch), "create_app installs the prefix index"
    return installed


def test_every_route_is_dispatched_as_fastapi_would(dispatch: PrefixDispatch) -> None:
    fast = 0
    routes = [leaf for leaf in leaves(dispatch.router) if leaf.context is not None]
    assert len(routes) > 200
    for leaf in routes:
        assert leaf.context is not None
        path = _concrete(leaf.context)
        for method in sorted(leaf.context.methods or {"GET"}):
            expected = _fastapi_choice(dispatch.router, _scope(method, path))
            chosen = dispatch.select(_scope(method, path))
            if chosen is None:
                assert not isinstance(expected, _EffectiveRouteContext), (method, path)
                continue
            assert chosen[0].context is expected, (method, path, expected)
            fast += 1
    assert fast >= 0.95 * len(routes)  # the index is not a no-op


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/no-such-thing"),  # 404
        ("PUT", "/api/v1/people"),  # 405: FastAPI answers it
        ("GET", "/api/v1/people/"),  # trailing slash: FastAPI's redirect
        ("GET", "/static/app.js"),  # a mount
        ("GET", "/"),
    ],
)
def test_what_is_not_a_full_match_is_left_to_fastapi(
    dispatch: PrefixDispatch, method: str, path: str
) -> None:
    expected = _fastapi_choice(dispatch.router, _scope(method, path))
    chosen = dispatch.select(_scope(method, path))
    if isinstance(expected, _EffectiveRouteContext):
        assert chosen is not None and chosen[0].context is expected
    else:
        assert chosen is None


def test_answers_through_the_index_are_the_routes_answers(
    api: TestClient, ada_ctx: Context
) -> None:
    """A dispatched route gets its path parameter, and a non-match still gets its status."""
    ada = people.create(ada_ctx, PersonIn(first_name="Ada", last_name="Lovelace"))
    ada_ctx.session.flush()
    assert api.get(f"/api/v1/people/{ada.id}").json()["first_name"] == "Ada"
    assert api.get("/api/v1/no-such-thing").status_code == 404
    assert api.put("/api/v1/people").status_code == 405
