"""The shell's own pages (the start page, global search) and what every page router gets.

``create_app`` mounts this router, then each registered domain's ``views`` router with
:data:`PAGE_DEPENDENCIES`, so every page passes the CSRF check on unsafe methods. Static files
are served from ``/static`` and a signed-out page request becomes a redirect to ``/login``
through the ``LoginRequired`` handler (see ``app.py``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from rapport.web import csrf, search_views
from rapport.web.render import redirect, render, settings_menu
from rapport.web.session import Page

PAGE_DEPENDENCIES = [Depends(csrf.protect)]

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)


@router.get("/")
def home(request: Request, page: Page) -> Response:
    """The start page: the people list, for now."""
    return redirect(request, "/people")


@router.get("/settings")
def settings(request: Request, page: Page) -> Response:
    """The settings area opens on the first page of its menu the member may see."""
    for _group, sections in settings_menu(page.ctx):
        return redirect(request, sections[0].href)
    return render(request, "web/settings_layout.html", title="Settings")


router.include_router(search_views.router)


def include_pages(app_router: APIRouter, pages: APIRouter) -> None:
    """Mount a domain's HTML routes: out of the API schema, behind the CSRF check."""
    app_router.include_router(pages, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)
