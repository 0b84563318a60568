"""Helpers shared by every domain's JSON routes."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, get_type_hints

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from rapport.core.access import DeclaredRoute, for_one_hop
from rapport.core.deps import ONE_HOP, Ctx, etag, request_context
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


class OneHopRoute(APIRoute):
    """A sync GET route that takes ``Ctx`` runs in one trip to the threadpool: authentication,
    the unit of work, the access check, the endpoint and the answer's serialisation, together.

    FastAPI would take four trips (open the context, run the endpoint, validate the answer,
    close the context), each costing more CPU than a one-row read itself. Writes keep FastAPI's
    path: their Idempotency-Key claim and If-Match handling hang on it."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        ctx_names = _ctx_parameters(endpoint) if methods == {"GET"} else []
        self.one_hop = bool(ctx_names) and not inspect.iscoroutinefunction(endpoint)
        if self.one_hop:
            endpoint = self._in_one_hop(endpoint, ctx_names)
            kwargs["dependencies"] = for_one_hop(kwargs.get("dependencies") or ())
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not getattr(self, "one_hop", False):
            return handler

        async def route(request: Request) -> Response:
            request.scope[ONE_HOP] = True
            return await handler(request)

        return route

    def _in_one_hop(self, endpoint: Callable[..., Any], ctx_names: list[str]) -> Callable[..., Any]:
        signature = inspect.signature(endpoint)
        hints = get_type_hints(endpoint, include_extras=True)
        # The Context is the hop's to open: FastAPI is not asked for it.
        parameters = [p.replace(annotation=hints.get(n, p.annotation)) for n, p in
                      signature.parameters.items() if n not in ctx_names]  # fmt: skip
        # The request, as FastAPI hands it over: under the endpoint's own name if it takes one
        # (FastAPI injects only one), else as an extra keyword the endpoint never sees.
        own = [p.name for p in parameters if p.annotation is Request]
        request_name = own[0] if own else _REQUEST
        if not own:
            parameters.append(
                inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
            )

        def work(request: Request, values: dict[str, Any]) -> Any:
            with request_context(request) as ctx:
                for permission in getattr(request.state, "required_permissions", ()):
                    ctx.require(permission)
                values.update(dict.fromkeys(ctx_names, ctx))
                answer = endpoint(**values)
                return answer if isinstance(answer, Response) else self._serialised(answer, values)

        async def in_one_hop(**values: Any) -> Any:
            request = values[request_name] if own else values.pop(_REQUEST)
            return await run_in_threadpool(work, request, values)

        in_one_hop.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=parameters,
            return_annotation=hints.get("return", signature.return_annotation),
        )
        in_one_hop.__name__ = endpoint.__name__
        in_one_hop.__doc__ = endpoint.__doc__
        in_one_hop.__module__ = endpoint.__module__
        return in_one_hop

    def _serialised(self, answer: Any, values: dict[str, Any]) -> Any:
        """The answer as FastAPI would serialise it, while the session is still open; with
        the headers and status an endpoint set on its injected ``Response``."""
        if self.response_model is None:
            return answer
        adapter = _adapter(self.response_model)
        body = adapter.dump_json(adapter.validate_python(answer, from_attributes=True),
                                 by_alias=True)  # fmt: skip
        response = Response(body, status_code=self.status_code or 200,
                            media_type="application/json")  # fmt: skip
        for value in values.values():
            if isinstance(value, Response):  # the sub-response FastAPI injected
                response.headers.update(value.headers)
                if value.status_code:
                    response.status_code = value.status_code
        return response


_REQUEST = "rapport_one_hop_request"


@functools.cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def _ctx_parameters(endpoint: Callable[..., Any]) -> list[str]:
    """The endpoint's parameters that are the request's Context (``ctx: Ctx``)."""
    try:
        hints = get_type_hints(endpoint, include_extras=True)
    except (NameError, TypeError):
        return []
    return [name for name, hint in hints.items() if hint == Ctx]


class DomainRoute(IdempotentRoute, DeclaredRoute, RecordHeadersRoute, OneHopRoute):
    """Idempotency-Key on POST around the record headers (so a replay carries them too), and
    the route's declared access published."""


def domain_router(prefix: str = "", tags: list[str] | None = None) -> APIRouter:
    """An APIRouter whose POST routes honour Idempotency-Key and whose record answers carry
    ETag and Location."""
    return APIRouter(prefix=prefix, tags=list(tags or []), route_class=DomainRoute)
