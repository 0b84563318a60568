"""Domain errors and the one handler that renders every error as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {
            "type": PROBLEM_BASE + "internal-error",
            "title": "Internal server error",
            "status": 500,
            "detail": "An unexpected error occurred; it has been logged.",
            "instance": request.url.path,
        }
        return problem_response(body, 500)
