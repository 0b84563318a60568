"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from rapport.core.access import DeclaredRoute, public
from rapport.core.db import get_database
from rapport.core.errors import PROBLEM_BASE, PROBLEM_JSON
from rapport.core.migrations import schema_problem

router = APIRouter(tags=["health"], route_class=DeclaredRoute)
log = logging.getLogger("rapport.health")


@router.get("/healthz", dependencies=[public()])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Database unreachable or not migrated"}},
    dependencies=[public()],
)
def readyz() -> JSONResponse:
    """The database answers and its schema is at the migration head."""
    database = get_database()
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        problem = schema_problem(database.engine)
    except Exception as exc:  # any driver error means "not ready"; report it, do not crash
        # Anyone may read this probe: the driver's words (host, port, user) go to the log only.
        log.warning("readiness: the database does not answer: %s: %s", type(exc).__name__, exc)
        problem = "database unavailable"
    if problem:
        return JSONResponse(
            {
                "type": PROBLEM_BASE + "not-ready",
                "title": "Service not ready",
                "status": 503,
                "detail": problem,
            },
            status_code=503,
            media_type=PROBLEM_JSON,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ready", "database": database.dialect})
