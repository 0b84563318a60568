"""A stand-in companies list until the company pages are built.

Delete this module (and its include in ``views.py``) when ``/companies`` has its real list.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from rapport.web.render import render
from rapport.web.session import Page

router = APIRouter()


@router.get("/companies", response_class=HTMLResponse)
def companies_list(request: Request, page: Page) -> HTMLResponse:
    """The companies list (empty for now)."""
    return render(
        request,
        "web/empty_list.html",
        title="Companies",
        heading="Companies",
        icon_name="building",
        empty_title="No companies yet",
        empty_text="Add one or import a CSV; people you add are linked to their company.",
        add_label="Add company",
    )
