"""Helpers shared by every domain's JSON routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

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
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entries for the problem documents a route can answer."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def domain_router(prefix: str = "", tags: list[str] | None = None) -> APIRouter:
    """An APIRouter whose POST routes honour Idempotency-Key."""
    return APIRouter(prefix=prefix, tags=list(tags or []), route_class=IdempotentRoute)
