"""create_app(): the one ASGI application — API under /api/v1, the web app at /, probes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from rapport.accounts import api as accounts_api
from rapport.core import audit_api, health, instance, jobs, jobs_api, jobs_runtime, metrics
from rapport.core.config import get_settings
from rapport.core.db import get_database
from rapport.core.errors import UnhandledErrorMiddleware, install_handlers
from rapport.core.logging import configure_logging
from rapport.core.middleware import BodySizeLimitMiddleware, RequestLogMiddleware
from rapport.core.migrations import schema_problem
from rapport.hub import api as hub_api
from rapport.hygiene import api as hygiene_api
from rapport.hygiene.metrics import ImportsCollector
from rapport.sales import api as sales_api
from rapport.web import errors as web_errors
from rapport.web import views as web_views
from rapport.web.render import STATIC_DIR
from rapport.web.session import LoginRequired, login_redirect

API_PREFIX = "/api/v1"

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


def create_app(*, check_schema: bool = True) -> FastAPI:
    """Build the application; refuses to start on a database that is not migrated."""
    configure_logging()
    jobs.load_job_modules()  # every domain's handlers, before anything is enqueued

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if check_schema:
            problem = schema_problem(get_database().engine)
            if problem:
                raise RuntimeError(problem)
        instance.session_secret_key()  # refuses a public key, however the app was started
        # Embedded mode (no RAPPORT_BROKER_URL): jobs, outbox relay and scheduler run here.
        runtime = jobs_runtime.start_embedded()
        try:
            yield
        finally:
            if runtime is not None:
                jobs_runtime.stop_runtime()

    app = FastAPI(
        title="Rapport",
        version="0.1.0",
        summary="The open-source CRM: customer data hub, sales, service, marketing, analytics.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    install_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=get_settings().max_body_bytes)
    app.add_middleware(UnhandledErrorMiddleware, handler=lambda: app.exception_handlers[Exception])
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(metrics.MetricsMiddleware)  # outermost: it times the whole request
    metrics.register("imports", ImportsCollector())
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(accounts_api.router, prefix=API_PREFIX)
    app.include_router(hub_api.router, prefix=API_PREFIX)
    app.include_router(hygiene_api.router, prefix=API_PREFIX)
    app.include_router(sales_api.router, prefix=API_PREFIX)
    app.include_router(audit_api.router, prefix=API_PREFIX)
    app.include_router(jobs_api.router, prefix=API_PREFIX)
    app.add_exception_handler(LoginRequired, login_redirect)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(web_views.router)
    web_errors.install(app)  # HTML error pages for the web app, problems for the API

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
    return app
