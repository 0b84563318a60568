"""Domain errors and the one handler that renders every error as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.core.logging import already_reported, mark_reported

PROBLEM_BASE = "https://rapport.dev/problems/"
PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("rapport.errors")


@dataclass(frozen=True)
class FieldError:
    """One field-level problem; ``loc`` is a domain path such as ``("emails", 0)``."""

    loc: tuple[str | int, ...]
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": ".".join(str(p) for p in self.loc),
            "loc": list(self.loc),
            "message": self.message,
            "code": self.code,
        }


class RapportError(Exception):
    """Base for expected business outcomes; each carries its HTTP status and stable code."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, *, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors)

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


class BadRequest(RapportError):
    status, code, title = 400, "bad-request", "Bad request"


class Unauthorized(RapportError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(RapportError):
    status, code, title = 403, "forbidden", "You are not allowed to do this"


class NotFound(RapportError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(RapportError):
    status, code, title = 409, "conflict", "Conflict"


class StaleWrite(RapportError):
    status, code, title = 412, "stale-write", "The record changed since you read it"


class PayloadTooLarge(RapportError):
    status, code, title = 413, "payload-too-large", "Request body too large"


class Invalid(RapportError):
    status, code, title = 422, "validation-error", "Some fields are invalid"


class RateLimited(RapportError):
    status, code, title = 429, "rate-limited", "Too many requests"


class NotReady(RapportError):
    status, code, title = 503, "not-ready", "Service not ready"


class Unavailable(RapportError):
    """The database is busy or out of reach: nothing was written, and a retry later will do."""

    status, code, title = 503, "unavailable", "Service temporarily unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


DATABASE_ERRORS = (DBAPIError, PoolTimeout)
_PG_TRANSIENT = (OperationalError, InterfaceError)


def as_unavailable(exc: BaseException) -> Unavailable | None:
    """The 503 an error of the database means, or None if it is a bug (a 500).

    Transient: SQLite's write lock still held after the busy timeout; on PostgreSQL every
    OperationalError (no connection, server shutting down, lock or statement timeout, deadlock,
    serialization failure) and a connection lost mid-request; a full connection pool. A
    constraint violation or a bad statement is no such thing and stays a 500."""
    if isinstance(exc, PoolTimeout):
        return Unavailable("The database is busy; try again in a moment", retry_after=2)
    if not isinstance(exc, DBAPIError):
        return None
    driver = type(exc.orig).__module__.split(".")[0] if exc.orig is not None else ""
    message = str(exc.orig).lower()
    if driver == "sqlite3":
        if "locked" in message or "busy" in message:
            return Unavailable("The database is busy; try again in a moment", retry_after=1)
        return None
    if exc.connection_invalidated or isinstance(exc, _PG_TRANSIENT):
        return Unavailable("The database is unavailable; try again shortly", retry_after=5)
    return None


def invalid(loc: tuple[str | int, ...], message: str, code: str = "invalid") -> Invalid:
    """Shorthand for a single-field validation failure."""
    return Invalid(message, errors=[FieldError(loc, message, code)])


def problem_response(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc_from_pydantic(loc: Sequence[str | int]) -> tuple[str | int, ...]:
    # FastAPI prefixes "body"/"query"/"path"; the client cares about the field path.
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return tuple(parts) or ("body",)


def bearer_challenge(request: Request, detail: str) -> str:
    """The ``WWW-Authenticate`` value for a 401 (RFC 6750 section 3): no error code when the
    request carried no credentials, ``invalid_request`` for a malformed Authorization header,
    ``invalid_token`` for a token we refuse (unknown, revoked, expired)."""
    challenge = 'Bearer realm="rapport"'
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not scheme:
        return challenge
    error = "invalid_token" if scheme.lower() == "bearer" and token.strip() else "invalid_request"
    # error_description allows printable ASCII but for '"' and '\\' (RFC 6750 section 3)
    description = "".join(c for c in detail if " " <= c <= "~" and c not in '"\\')
    return f'{challenge}, error="{error}", error_description="{description}"'


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that make every error a problem document."""

    @app.exception_handler(RapportError)
    async def _rapport_error(request: Request, exc: RapportError) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        if exc.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": bearer_challenge(request, exc.detail)}
        return problem_response(exc.problem(request.url.path), exc.status, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            kind = err.get("type", "invalid")
            if kind == "json_invalid":
                ctx = err.get("ctx") or {}
                malformed = BadRequest(f"Malformed JSON: {ctx.get('error', 'cannot parse body')}")
                return problem_response(malformed.problem(request.url.path), 400)
            message = err.get("msg", "invalid")
            if kind == "extra_forbidden":
                message = "Unknown field"
            errors.append(FieldError(_loc_from_pydantic(err.get("loc", ())), message, kind))
        problem = Invalid(
            f"{len(errors)} field(s) are invalid: "
            + "; ".join(f"{'.'.join(map(str, e.loc))}: {e.message}" for e in errors[:5]),
            errors=errors,
        )
        return problem_response(problem.problem(request.url.path), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Authentication required"}
        body = {
            "type": PROBLEM_BASE
            + {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error"),
            "title": titles.get(exc.status_code, "HTTP error"),
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        headers = getattr(exc, "headers", None)
        if exc.status_code == 401:
            challenge = bearer_challenge(request, str(exc.detail))
            headers = {**(headers or {}), "WWW-Authenticate": challenge}
        return problem_response(body, exc.status_code, headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        unavailable = as_unavailable(exc)
        if unavailable is not None:
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                        exc)  # fmt: skip
            return problem_response(unavailable.problem(request.url.path), 503, unavailable.headers)
        if not already_reported(exc):  # the request log may have, traceback and all
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            mark_reported(exc)
        body = {
            "type": PROBLEM_BASE + "internal-error",
            "title": "Internal server error",
            "status": 500,
            "detail": "An unexpected error occurred; it has been logged.",
            "instance": request.url.path,
        }
        return problem_response(body, 500)

    # Database errors are answered by the inner exception middleware, like domain errors: a
    # busy database is a 503 with Retry-After, and the connection stays open.
    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, _bug)


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


class UnhandledErrorMiddleware:
    """Answer an unexpected exception with the app's own error handler, here, inside the app.

    Starlette's outermost middleware would answer it too, but then re-raise it to the server,
    which logs the traceback a second time and closes the keep-alive connection: the next
    request on it (behind a reverse proxy, another user's) is reset. ``handler`` is looked up
    per error, so the web app's wrapper (HTML pages) is the one used."""

    def __init__(self, app: ASGIApp, handler: Callable[[], Handler]) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:  # half an answer is out: only the server can end it
                raise
            response = self.handler()(Request(scope, receive), exc)
            if isinstance(response, Awaitable):
                response = await response
            await response(scope, receive, send)
