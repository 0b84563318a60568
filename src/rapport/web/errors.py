"""Error pages of the web app: 404, 403, 500 and an expired form, as HTML inside the shell.

The API keeps its problem documents; a request for an app page (any path outside ``/api``,
``/static`` and the probes) that fails gets a page a person can read, with the navigation
around it when they are signed in. HTMX requests keep the problem document too: app.js shows
its ``detail`` in a toast instead of swapping an error page into a fragment.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rapport.core.errors import DATABASE_ERRORS, RapportError, as_unavailable
from rapport.core.logging import already_reported, mark_reported
from rapport.web import csrf, session
from rapport.web.render import render

log = logging.getLogger(__name__)
Handler = Callable[[Request, Any], Awaitable[Response] | Response]
_NOT_PAGES = ("/api/", "/static/", "/healthz", "/readyz", "/metrics")

_TEXT: dict[int, tuple[str, str]] = {
    400: ("Bad request", "Rapport could not understand this request."),
    403: ("Not allowed", "Your role in this workspace does not allow this. "
                         "Ask an admin if you need it."),
    404: ("Not found", "There is nothing here: the link may be old, or the record was deleted "
                       "or never existed."),
    409: ("Conflict", "This clashes with something that already exists."),
    412: ("Changed meanwhile", "Someone else changed this record; reload it and try again."),
    422: ("Check what you sent", "Some of what you sent is not valid."),
    503: ("Busy for a moment", "Rapport is busy or cannot reach its database right now. "
                               "Nothing was lost; try again in a few seconds."),
    500: ("Something went wrong", "An unexpected error occurred on our side; it has been "
                                  "logged. Try again in a moment."),
}  # fmt: skip


def wants_page(request: Request) -> bool:
    """An app page asked for by a browser (not the API, not an HTMX fragment)."""
    path = request.url.path
    if path.startswith(_NOT_PAGES) or path in ("/healthz", "/readyz"):
        return False
    return not request.headers.get("hx-request")


def error_page(request: Request, status: int, detail: str | None = None, *,
               title: str | None = None, csrf_failed: bool = False) -> Response:  # fmt: skip
    """The page for an error, in the shell when the browser is signed in."""
    heading, text = _TEXT.get(status, _TEXT[500] if status >= 500 else _TEXT[400])
    identity = getattr(request.state, "shell", None)
    if identity is None:
        try:
            identity = session.shell_from_cookie(request)
        except Exception:  # the database may be what failed; the bare page still shows
            log.warning("no shell for the error page", exc_info=True)
    request.state.web = identity  # the shell reads names from a snapshot, not the ORM
    return render(
        request,
        "web/error.html" if identity is not None else "web/error_bare.html",
        status_code=status,
        title=title or heading,
        status=status,
        heading=title or heading,
        text=text,
        detail=detail if detail and status < 500 else None,
        csrf_failed=csrf_failed,
        back=_same_site_path(request) if csrf_failed else None,
    )


def _same_site_path(request: Request) -> str | None:
    """Where the failed form was, if it was on this site (never an open redirect)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/"):
        return None
    return referer.path + ("?" + referer.query if referer.query else "")


def install(app: FastAPI) -> None:
    """Wrap the app's error handlers: pages for the web app, the originals for the API."""
    handlers: dict[Any, Handler] = app.exception_handlers

    def wrap(kind: Any) -> None:
        original = handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if not wants_page(request):
                result = original(request, exc)
                return await result if isinstance(result, Awaitable) else result
            unavailable = as_unavailable(exc)
            if unavailable is not None:
                page = error_page(request, 503)
                page.headers.update(unavailable.headers)
                return page
            if isinstance(exc, csrf.CsrfRejected):
                return error_page(request, 403, title="This form has expired", csrf_failed=True)
            if isinstance(exc, RapportError):
                return error_page(request, exc.status, exc.detail)
            if isinstance(exc, StarletteHTTPException):
                return error_page(request, exc.status_code)
            if isinstance(exc, RequestValidationError):  # a malformed id is a page not found
                in_path = any(e.get("loc", ("",))[0] == "path" for e in exc.errors())
                return error_page(request, 404 if in_path else 422)
            if not already_reported(exc):  # the request log may have, traceback and all
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                mark_reported(exc)
            return error_page(request, 500)

        handlers[kind] = handler

    for kind in (RapportError, StarletteHTTPException, RequestValidationError, Exception,
                 *DATABASE_ERRORS):  # fmt: skip
        wrap(kind)
