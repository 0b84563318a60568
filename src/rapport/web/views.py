"""The web app's routes. Every route here passes the CSRF check on unsafe methods.

Mounted by ``create_app`` with ``app.include_router(web_views.router)``; static files are
served from ``/static`` and a signed-out page request becomes a redirect to ``/login`` through
the ``LoginRequired`` handler (see ``app.py``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from rapport.web import (
    auth_views,
    bulk_views,
    company_views,
    csrf,
    deals_views,
    hygiene_views,
    leads_views,
    lookup_views,
    people_views,
    person_views,
    sales_views,
    search_views,
)
from rapport.web.render import redirect
from rapport.web.session import Page

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.protect)])


@router.get("/")
def home(request: Request, page: Page) -> Response:
    """The start page: the people list, for now."""
    return redirect(request, "/people")


router.include_router(auth_views.router)
router.include_router(search_views.router)
router.include_router(lookup_views.router)  # /companies/options before /companies/{id}
router.include_router(bulk_views.router)  # /people/bulk before /people/{id}
router.include_router(leads_views.router)  # /people/{id}/lead-score before person_views
router.include_router(people_views.router)  # before person_views: /people/new vs /people/{id}
router.include_router(person_views.router)
router.include_router(company_views.router)  # /companies/new is declared before /{id}
router.include_router(deals_views.router)  # /deals/new is declared before /{id}
router.include_router(sales_views.router)
router.include_router(hygiene_views.router)
