"""The OpenAPI document, made true in one place for every present and future route.

FastAPI documents what a route's signature says; what the server really does around it (problem
documents for validation, Bearer authentication, Idempotency-Key, ETag and Location, body limits)
lives in shared code, so it is documented here from the same facts that code acts on, instead of
in each route's decorator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

from rapport.core import deps
from rapport.core.api import creates_located, describe, problem_response_doc, readable_at, versioned
from rapport.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from rapport.core.idempotency import IdempotentRoute

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status"],
}

_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The record's version; send it back in If-Match to write safely",
        "schema": {"type": "string"},
    },
    "Location": {"description": "Where the new record lives", "schema": {"type": "string"}},
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWW-Authenticate": {
        "description": "The Bearer challenge (RFC 6750), with error= when a token was refused",
        "schema": {"type": "string"},
    },
}
_IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Any unique string (a UUID is best): a retry with the same key and body gets the first "
        "answer instead of a second write"
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_OPERATION_ID = re.compile(r"[^a-z0-9]+")


def operation_id(route: APIRoute) -> str:
    """A readable, stable operationId: the route's first tag, then its function name
    (``people_list``, ``deals_move``), so generated clients get sensible method names."""
    tag = _OPERATION_ID.sub("_", str(route.tags[0]).lower()).strip("_") if route.tags else "api"
    name = _OPERATION_ID.sub("_", route.name.lower()).strip("_")
    return name if name == tag or name.startswith(tag + "_") else f"{tag}_{name}"


def requires_auth(dependant: Dependant) -> bool:
    """Whether the route authenticates its caller (depends, at any depth, on the request
    Context); the others are public."""
    return any(
        dependency.call is deps.context or requires_auth(dependency)
        for dependency in dependant.dependencies
    )


def finish(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """Correct FastAPI's document in place: problem+json for 422, Bearer security with 401/403
    or ``security: []``, Idempotency-Key, the response headers the server sends, and the
    statuses shared code answers (400 malformed body, 413 too large, 503 busy)."""
    by_operation = {
        (context.path_format, method.lower()): context
        for context in iter_route_contexts(routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.methods or ()
    }
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    schema["security"] = [{"bearer": []}]
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            route = by_operation.get((path, method))
            if route is not None:
                _finish_operation(operation, method, route, routes)
    return schema


def _finish_operation(
    operation: dict[str, Any], method: str, route: RouteContext, routes: Sequence[BaseRoute]
) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})

    def add(status: int, description: str | None = None) -> None:
        key = str(status)
        if key not in responses or "content" not in responses[key]:
            responses[key] = problem_response_doc(status, description)

    if "422" in responses or operation.get("parameters") or "requestBody" in operation:
        # FastAPI's HTTPValidationError is not what the server sends: it sends a Problem.
        responses["422"] = problem_response_doc(422)
    if "requestBody" in operation:
        add(400, "Malformed request body")
        add(413)
    if any(_is_id(parameter) for parameter in operation.get("parameters", [])):
        add(404)  # any record an id in the path or query names may be missing or hidden
    # a one-hop route opens its Context in its own thread: it authenticates without the dependency
    if requires_auth(route.dependant) or getattr(route.original_route, "one_hop", False):
        add(401)
        add(403)
        _header(responses["401"], "WWW-Authenticate", required=True)
        add(503, "The database is busy or unavailable; retry later")
    else:
        operation["security"] = []
    if method == "post" and isinstance(route.original_route, IdempotentRoute):
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == IDEMPOTENCY_HEADER for p in parameters):
            parameters.append(dict(_IDEMPOTENCY_PARAMETER))
        add(400, describe(400) + "; or an Idempotency-Key over 255 characters")
        add(409, describe(409) + "; or a request with this Idempotency-Key is in progress")
        add(422, describe(422) + "; or this Idempotency-Key was used for another request")
    for status, response in responses.items():
        if status in ("409", "429", "503"):
            _header(response, "Retry-After")
        if status.startswith("2") and versioned(route):
            _header(response, "ETag")
    if (
        "201" in responses
        and creates_located(route)
        and readable_at(f"{route.path_format}/{{id}}", routes)
    ):
        _header(responses["201"], "Location")


def _is_id(parameter: dict[str, Any]) -> bool:
    schema = parameter.get("schema", {})
    options = [schema, *schema.get("anyOf", [])]
    return parameter.get("in") in ("path", "query") and any(
        option.get("format") == "uuid" for option in options
    )


def _header(response: dict[str, Any], name: str, *, required: bool = False) -> None:
    headers = response.setdefault("headers", {})
    headers[name] = {**_HEADERS[name], **({"required": True} if required else {})}
