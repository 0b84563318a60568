"""The blocks sales adds to other domains' record pages (registered in ``sales/domain.py``):
a person's or company's deals, and the open tasks of a person, a company or a deal.

The deals panel comes with the page, from one bounded query. The tasks panel loads itself
with HTMX from the routes below, so the page pays nothing for it and its rows tick and add
through My tasks' routes (``/tasks/{id}/toggle``, ``/tasks/new``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.hub.models import Company, Person
from rapport.hub.public import companies, people
from rapport.sales.models import Deal, DealStatus
from rapport.sales.service import deals, tasks
from rapport.sales.views.deals import money
from rapport.sales.views.sales import PRIORITIES, task_rows
from rapport.web.render import render
from rapport.web.session import Page

router = APIRouter()
PANEL_ROWS = 10  # rows a panel shows; it says when there are more


@dataclass(frozen=True)
class RecordLink:
    """The record a panel is on, as deals and tasks point at it."""

    kind: str  # person | company | deal
    column: str  # the deal's or task's column that points at it
    id: uuid.UUID
    url: str  # its page


def record_link(record: Person | Company | Deal) -> RecordLink:
    if isinstance(record, Person):
        return RecordLink("person", "person_id", record.id, f"/people/{record.id}")
    if isinstance(record, Company):
        return RecordLink("company", "company_id", record.id, f"/companies/{record.id}")
    return RecordLink("deal", "deal_id", record.id, f"/deals/{record.id}")


# --- deals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DealRow:
    """A deal as its person's or company's panel shows it."""

    deal: Deal
    stage: str
    amount: str
    overdue: bool  # open and past its expected close date


def deals_panel(ctx: Context | None, record: Person | Company) -> dict[str, Any] | None:
    """The record's deals, open ones first, and a link that starts a deal with it."""
    if ctx is None or not ctx.can("deals:read"):
        return None
    link = record_link(record)
    found = deals.of_record(ctx, PANEL_ROWS + 1, **{link.column: link.id})
    today = utcnow().date()
    rows = [
        DealRow(
            deal,
            stage,
            money(deal.amount, deal.currency),
            deal.status == DealStatus.OPEN
            and deal.expected_close_date is not None
            and deal.expected_close_date < today,
        )
        for deal, stage in found[:PANEL_ROWS]
    ]
    prefill = {"person": record.id} if isinstance(record, Person) else {"company": record.id}
    if isinstance(record, Person) and record.company_id is not None:
        prefill["company"] = record.company_id
    return {
        "kind": link.kind,
        "rows": rows,
        "more": len(found) > PANEL_ROWS,
        "new_url": "/deals/new?" + urlencode(prefill) if ctx.can("deals:write") else None,
    }


# --- tasks ------------------------------------------------------------------------------------


def tasks_panel(ctx: Context | None, record: Person | Company | Deal) -> dict[str, Any] | None:
    """Where the tasks panel loads from (it is left out for whoever may not read tasks)."""
    if ctx is None or not ctx.can("tasks:read"):
        return None
    return {"url": record_link(record).url + "/tasks"}


def _tasks(request: Request, page: Page, record: Person | Company | Deal) -> HTMLResponse:
    link = record_link(record)
    found = tasks.open_for_record(page.ctx, PANEL_ROWS + 1, **{link.column: link.id})
    template = "sales/_record_tasks.html"
    return render(
        request,
        template,
        fragment=template,
        link=link,
        rows=task_rows(page, found[:PANEL_ROWS], utcnow()),
        more=len(found) > PANEL_ROWS,
        can_write=page.ctx.can("tasks:write"),
        priorities=PRIORITIES,
        back=link.url,
    )


@router.get("/people/{person_id}/tasks", response_class=HTMLResponse)
def person_tasks(request: Request, page: Page, person_id: uuid.UUID) -> HTMLResponse:
    """The tasks panel of a person's page: its open tasks and a form to add one."""
    return _tasks(request, page, people.get(page.ctx, person_id))


@router.get("/companies/{company_id}/tasks", response_class=HTMLResponse)
def company_tasks(request: Request, page: Page, company_id: uuid.UUID) -> HTMLResponse:
    """The tasks panel of a company's page."""
    return _tasks(request, page, companies.get(page.ctx, company_id))


@router.get("/deals/{deal_id}/tasks", response_class=HTMLResponse)
def deal_tasks(request: Request, page: Page, deal_id: uuid.UUID) -> HTMLResponse:
    """The tasks panel of a deal's page."""
    return _tasks(request, page, deals.get(page.ctx, deal_id))
