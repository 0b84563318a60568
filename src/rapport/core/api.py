"""Helpers shared by every domain's JSON routes."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute

from rapport.core.access import DeclaredRoute
from rapport.core.deps import etag
from rapport.core.errors import PROBLEM_JSON
from rapport.core.idempotency import IdempotentRoute

_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or bad credentials",
    403: "Your role or token scope does not allow this",
    404: "No such record in your workspace",
    409: "Conflicts with existing data",
    412: "The record changed since you read it (If-Match)",
    413: "Body too large",
    422: "Validation failed; see errors[]",
    429: "Rate limited",
    503: "Service unavailable; retry later",
}


def describe(status: int) -> str:
    return _DESCRIPTIONS.get(status, "Error")


def problem_response_doc(status: int, description: str | None = None) -> dict[str, Any]:
    """One OpenAPI response entry for a problem document."""
    return {
        "description": description or describe(status),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entries for the problem documents a route can answer."""
    return {status: problem_response_doc(status) for status in statuses}


def _model_fields(route: APIRoute | RouteContext) -> dict[str, Any]:
    model = route.response_model
    if isinstance(model, type) and issubclass(model, BaseModel):
        return dict(model.model_fields)
    return {}


def versioned(route: APIRoute | RouteContext) -> bool:
    """Whether the route answers with one versioned record (so its 2xx carry an ETag)."""
    return "version" in _model_fields(route)


def creates_located(route: APIRoute | RouteContext) -> bool:
    """Whether the route creates (201) a record with an id, which may have a Location."""
    return (
        "POST" in (route.methods or ())
        and route.status_code == 201
        and "id" in _model_fields(route)
    )


def readable_at(path: str, routes: Sequence[BaseRoute]) -> bool:
    """Whether some GET route of the app serves ``path`` (a concrete path or a template)."""
    return any(
        "GET" in (context.methods or ())
        and isinstance(context.original_route, APIRoute)
        and (context.path_format == path or context.path_regex.match(path))
        for context in iter_route_contexts(routes)
    )


def record_response(record: BaseModel) -> Response:
    """``record`` as its route's ``response_model`` would answer it (the same JSON bytes),
    with its ETag. Returned by the endpoint, it spares FastAPI validating the record again on
    the way out, and the thread hop a sync endpoint's answer takes for that."""
    body = record.__pydantic_serializer__.to_json(record, by_alias=True)
    response = Response(body, media_type="application/json")
    response.headers["ETag"] = etag(record.version)  # type: ignore[attr-defined]
    return response


class RecordHeadersRoute(APIRoute):
    """Sends ``ETag`` (the version) with every 2xx answer that is one versioned record, and
    ``Location`` with a 201 whose record a GET route serves at ``<this path>/<id>``, unless the
    route set them itself; core/openapi.py documents them from the same rules."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        etag = versioned(self)
        location = creates_located(self)
        if not etag and not location:
            return handler

        async def route(request: Request) -> Response:
            response = await handler(request)
            if not 200 <= response.status_code < 300 or not hasattr(response, "body"):
                return response
            wants_etag = etag and "etag" not in response.headers
            wants_location = (
                location and response.status_code == 201 and "location" not in response.headers
            )
            if not wants_etag and not wants_location:
                return response
            try:
                record = orjson.loads(bytes(response.body))
            except orjson.JSONDecodeError:
                return response
            if not isinstance(record, dict):
                return response
            if wants_etag and isinstance(record.get("version"), int):
                response.headers["ETag"] = f'"{record["version"]}"'
            if wants_location and record.get("id") is not None:
                path = f"{request.url.path.rstrip('/')}/{record['id']}"
                if readable_at(path, request.app.routes):
                    response.headers["Location"] = path
            return response

        return route


class DomainRoute(IdempotentRoute, DeclaredRoute, RecordHeadersRoute):
    """Idempotency-Key on POST around the record headers (so a replay carries them too), and
    the route's declared access published."""


def domain_router(prefix: str = "", tags: list[str] | None = None) -> APIRouter:
    """An APIRouter whose POST routes honour Idempotency-Key and whose record answers carry
    ETag and Location."""
    return APIRouter(prefix=prefix, tags=list(tags or []), route_class=DomainRoute)
