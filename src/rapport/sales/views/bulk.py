"""Bulk actions from the deal list and the task list (``sales.service.bulk``).

Like the people list's, each list posts a plain form: the ticked rows (``ids``), the pressed
button's ``action``, and with ``scope=all`` the list's query string (``scope_query``), re-run
here so the action reaches every record the list keeps, not only the loaded rows (refused
past ``core.listing.MAX_MATCHING``). The answer is a redirect back to the list as it was,
with a toast saying what happened or why nothing was changed.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rapport.core import listing
from rapport.core.clock import utcnow
from rapport.core.errors import Invalid, NotFound
from rapport.core.records import record_type
from rapport.hub.public import lookups
from rapport.sales.service import bulk
from rapport.sales.views import deals as deal_views
from rapport.sales.views import task_list
from rapport.sales.views.sales import due_instant, zone_named
from rapport.web.listing import back_to, bulk_selection, parse_ids
from rapport.web.render import redirect, toast
from rapport.web.session import Page

router = APIRouter()

Ids = Annotated[list[str], Form(max_length=bulk.MAX_RECORDS + 1)]
Text = Annotated[str, Form(max_length=2000)]
Scope = Annotated[Literal["", "all"], Form()]


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _member(page: Page, raw: str) -> tuple[uuid.UUID | None, str | None]:
    """The chosen member's id and name; ("", None) means nobody; Invalid for a stranger."""
    if not raw:
        return None, None
    chosen = parse_ids([raw])
    names = {m.user_id: m.name for m in lookups.members(page.ctx)}
    if not chosen or chosen[0] not in names:
        raise Invalid("Choose someone from the list")
    return chosen[0], names[chosen[0]]


def _deal_matching(page: Page, query: dict[str, str]) -> list[uuid.UUID]:
    _state, params, _error = deal_views.matching(page, query)
    return listing.all_matching(page.ctx, record_type("deal"), params, noun="deals",
                                cap=listing.MAX_MATCHING)  # fmt: skip


@router.post("/deals/bulk")
def deals_bulk(request: Request, page: Page, ids: Ids = [], action: Text = "",  # noqa: B006
               owner_id: Text = "", stage_id: Text = "", next: Text = "", scope: Scope = "",
               scope_query: Text = "") -> Response:  # fmt: skip
    """Change the owner, move to a stage, mark won or lost, or bin the deals ticked in the
    list (or, with ``scope=all``, every deal its search and filters keep)."""
    back = back_to("/deals/list", next)
    if action not in bulk.DEAL_ACTIONS:
        toast(request, "Choose what to do with the selected deals.", "error")
        return redirect(request, back)
    page.ctx.require("deals:delete" if action == "delete" else "deals:write")
    try:
        chosen = bulk_selection(ids, scope, scope_query, lambda q: _deal_matching(page, q))
        owner, owner_name = _member(page, owner_id) if action == "assign" else (None, None)
        stage = parse_ids([stage_id]) if action == "stage" else None
        if action == "stage" and not stage:
            raise Invalid("Choose a stage to move them to")
        limit = listing.MAX_MATCHING if scope == "all" else bulk.MAX_RECORDS
        n = bulk.run_deals(page.ctx, action, chosen, owner_id=owner,  # type: ignore[arg-type]
                           stage_id=stage[0] if stage else None, limit=limit)  # fmt: skip
    except (Invalid, NotFound) as exc:
        message = exc.errors[0].message if exc.errors else exc.detail
        toast(request, f"Nothing was changed: {message}.", "error")
        return redirect(request, back)
    deals_n = _plural(n, "deal", "deals")
    if action == "assign":
        toast(request, f"{deals_n} now owned by {owner_name}." if owner_name
              else f"Owner removed from {deals_n}.")  # fmt: skip
    elif action == "stage":
        toast(request, f"{deals_n} moved to the chosen stage.")
    elif action in ("won", "lost"):
        toast(request, f"{deals_n} marked {action}.")
    else:
        toast(request, f"{deals_n} moved to the bin.", "info")
    return redirect(request, back)


def _task_matching(request: Request, page: Page, query: dict[str, str]) -> list[uuid.UUID]:
    now = utcnow()
    zone = zone_named(unquote(request.cookies.get("rapport_tz", "")))
    filters = task_list.TaskFilters.read(query)
    return bulk.all_matching_tasks(page.ctx, task_list.task_query(page, filters, now, zone),
                                   now=now)  # fmt: skip


@router.post("/tasks/bulk")
def tasks_bulk(request: Request, page: Page, ids: Ids = [], action: Text = "",  # noqa: B006
               assignee_id: Text = "", due_date: Text = "", due_time: Text = "", tz: Text = "",
               next: Text = "", scope: Scope = "", scope_query: Text = "") -> Response:  # fmt: skip
    """Tick done, reopen, reassign, re-date or bin the tasks ticked in the list (or, with
    ``scope=all``, every task its view and filters keep)."""
    back = back_to("/tasks", next)
    if action not in bulk.TASK_ACTIONS:
        toast(request, "Choose what to do with the selected tasks.", "error")
        return redirect(request, back)
    page.ctx.require("tasks:write")
    try:
        chosen = bulk_selection(ids, scope, scope_query, lambda q: _task_matching(request, page, q))
        assignee, name = _member(page, assignee_id) if action == "assign" else (None, None)
        try:
            due = due_instant(due_date, due_time, tz) if action == "due" else None
        except ValueError as exc:
            raise Invalid("the due date or time is not a date") from exc
        limit = listing.MAX_MATCHING if scope == "all" else bulk.MAX_RECORDS
        n = bulk.run_tasks(page.ctx, action, chosen, assignee_id=assignee,  # type: ignore[arg-type]
                           due_at=due, limit=limit)  # fmt: skip
    except (Invalid, NotFound) as exc:
        message = exc.errors[0].message if exc.errors else exc.detail
        toast(request, f"Nothing was changed: {message}.", "error")
        return redirect(request, back)
    tasks_n = _plural(n, "task", "tasks")
    said = {
        "done": f"{tasks_n} marked done.",
        "reopen": f"{tasks_n} open again.",
        "assign": f"{tasks_n} now assigned to {name}." if name else f"{tasks_n} unassigned.",
        "due": f"{tasks_n} now due on {due_date}." if due else f"Due date removed from {tasks_n}.",
        "delete": f"{tasks_n} moved to the bin.",
    }
    toast(request, said[action], "info" if action == "delete" else "success")
    return redirect(request, back)
