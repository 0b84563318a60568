"""Small look-ups the forms ask for while the user types (the company and person pickers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from rapport.hub import lookups
from rapport.web.render import render
from rapport.web.session import Page

router = APIRouter()


@router.get("/companies/options", response_class=HTMLResponse)
def company_options(
    request: Request,
    page: Page,
    company: Annotated[str, Query(max_length=300)] = "",
    value: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """``<option>``s of the company names starting with what was typed, for a datalist
    (``?company=``, or ``?value=`` from an in-place editor)."""
    names = lookups.company_names_starting(page.ctx, company or value)
    return render(request, "hub/_company_options.html", names=names)


@router.get("/people/options", response_class=HTMLResponse)
def person_options(
    request: Request,
    page: Page,
    person: Annotated[str, Query(max_length=300)] = "",
    value: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """``<option>``s of the people matching what was typed ("Name <email>"), for a datalist
    (``?person=``, or ``?value=`` from an in-place editor)."""
    names = lookups.person_labels(page.ctx, person or value)
    return render(request, "hub/_company_options.html", names=names)
