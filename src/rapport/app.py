"""create_app(): the one ASGI application — API under /api/v1, the web app at /, probes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from rapport import domains
from rapport.core import (
    dispatch,
    health,
    instance,
    jobs,
    metrics,
    text_guard,
)
from rapport.core import openapi as openapi_doc
from rapport.core.config import get_settings
from rapport.core.db import get_database
from rapport.core.errors import UnhandledErrorMiddleware, install_handlers
from rapport.core.jobs import runtime as jobs_runtime
from rapport.core.logging import configure_logging
from rapport.core.middleware import BodySizeLimitMiddleware, RequestLogMiddleware
from rapport.core.migrations import schema_problem
from rapport.core.registry import Ref, resolve
from rapport.hygiene.metrics import ImportsCollector
from rapport.web import errors as web_errors
from rapport.web import views as web_views
from rapport.web.render import STATIC_DIR
from rapport.web.session import LoginRequired, login_redirect

API_PREFIX = "/api/v1"
# Core's own API routers, imported (like the domains') once the domains are installed: a
# route's declared permission is checked against the grant table the domains declare.
CORE_API: tuple[Ref, ...] = ("rapport.core.audit.api:router", "rapport.core.jobs.api:router")


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
        docs_url=None,  # served below from our own static files, so it works offline
        redoc_url=None,
        generate_unique_id_function=openapi_doc.operation_id,
        # text no database can store is a 422 on every route, before the route runs
        dependencies=[Depends(text_guard.refuse_unstorable_text)],
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
    registered = domains.install()
    for domain in registered:
        if domain.api is not None:
            app.include_router(resolve(domain.api), prefix=API_PREFIX)
    for router in CORE_API:
        app.include_router(resolve(router), prefix=API_PREFIX)
    app.add_exception_handler(LoginRequired, login_redirect)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(web_views.router)  # the shell's pages: / and /search
    for domain in registered:  # registry order; each router keeps its own route order
        if domain.views is not None:
            web_views.include_pages(app.router, resolve(domain.views))
    web_errors.install(app)  # HTML error pages for the web app, problems for the API

    @app.get("/api/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        """Swagger UI from /static/vendor (scripts/assets.sh), never a CDN: docs work offline."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "",
            title=f"{app.title} API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui-favicon.png",
            # no badge fetched from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        app.openapi_schema = openapi_doc.finish(schema, app.routes)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
    dispatch.install(app)  # routes found by path prefix, not by walking every router
    return app
