"""The task list's views (My tasks, Team, Done), its filters (assignee, due, linked record),
its capped count, and the picker that links a new task to a person, company or deal.

Everything the list shows is in its URL (``TaskFilters``): the page, the rows that scrolling
loads, the count a tick refreshes (from the ``back`` URL the tick posts) and the export link
all read it the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from rapport.core.clock import utcnow
from rapport.core.listing import Count
from rapport.core.records import record_type
from rapport.core.search import search
from rapport.sales.service import tasks
from rapport.sales.service.tasks import TaskQuery
from rapport.web.listing import export_query as export_query_of
from rapport.web.render import render
from rapport.web.session import Page

router = APIRouter()
VIEWS = {"mine": "My tasks", "team": "Team", "done": "Done"}
DUE = {"overdue": "Overdue", "today": "Due today", "week": "Due in the next 7 days",
       "later": "Due later", "none": "No due date"}  # fmt: skip
ABOUT = {"person": "About a person", "company": "About a company", "deal": "About a deal",
         "none": "About no record"}  # fmt: skip
PAGE_SIZE = 50
PICKER_LIMIT = 8
LINK_KINDS = {"person": "Person", "company": "Company", "deal": "Deal"}


@dataclass
class TaskFilters:
    """The task list's view and filters, read from its query string."""

    view: str = "mine"
    assignee: str = ""  # a member's id, or "none" for unassigned (Team and Done)
    due: str = ""
    about: str = ""

    @classmethod
    def read(cls, query: dict[str, str]) -> TaskFilters:
        view = query.get("view", "")
        assignee = query.get("assignee", "")
        if assignee != "none":
            try:
                assignee = str(uuid.UUID(assignee)) if assignee else ""
            except ValueError:
                assignee = ""
        return cls(
            view=view if view in VIEWS else "mine",
            assignee="" if view not in ("team", "done") else assignee,
            due=query.get("due", "") if query.get("due", "") in DUE else "",
            about=query.get("about", "") if query.get("about", "") in ABOUT else "",
        )

    @classmethod
    def from_url(cls, url: str) -> TaskFilters:
        return cls.read(dict(parse_qsl(urlsplit(url).query)))

    def query(self, **changes: str | None) -> str:
        values = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        if values.get("view") == "mine":
            values["view"] = ""
        return urlencode({k: v for k, v in values.items() if v})

    def url(self, **changes: str | None) -> str:
        query = self.query(**changes)
        return "/tasks" + ("?" + query if query else "")

    @property
    def is_filtered(self) -> bool:
        return bool(self.assignee or self.due or self.about)


def task_query(page: Page, f: TaskFilters, now: datetime, zone: ZoneInfo) -> TaskQuery:
    """What the service is asked for this view and these filters."""
    q = TaskQuery(limit=PAGE_SIZE, status="done" if f.view == "done" else "open", about=f.about)
    if f.view == "mine":
        q.assignee_id = page.ctx.user_id
    elif f.assignee == "none":
        q.unassigned = True
    elif f.assignee:
        q.assignee_id = uuid.UUID(f.assignee)
    if f.view == "done":
        q.sort = "-done_at"
    today = datetime.combine(now.astimezone(zone).date(), time(), zone)
    if f.due == "overdue":
        q.overdue = True
    elif f.due == "today":
        q.due_after, q.due_before = today, today + timedelta(days=1)
    elif f.due == "week":
        q.due_after, q.due_before = now, now + timedelta(days=7)
    elif f.due == "later":
        q.due_after = now + timedelta(days=7)
    elif f.due == "none":
        q.no_due = True
    return q


def count(page: Page, f: TaskFilters, now: datetime, zone: ZoneInfo) -> Count:
    """The capped count of the view as filtered."""
    return tasks.count_tasks(page.ctx, task_query(page, f, now, zone), now=now)


def export_query(page: Page, q: TaskQuery) -> str:
    """The export's query for the view: the list's own conditions in the filter language,
    and its order."""
    pairs: dict[str, str] = {}
    if q.assignee_id is not None:
        pairs["assignee_id"] = str(q.assignee_id)
    if q.unassigned:
        pairs["assignee_id[is_null]"] = "true"
    pairs["done_at[is_null]"] = "false" if q.status == "done" else "true"
    if q.overdue:
        pairs["due_at[lt]"] = utcnow().isoformat()
    if q.due_after is not None:
        pairs["due_at[gte]"] = q.due_after.isoformat()
    if q.due_before is not None:
        pairs["due_at[lt]"] = q.due_before.isoformat()
    if q.no_due:
        pairs["due_at[is_null]"] = "true"
    if q.about in LINK_KINDS:
        pairs[f"{q.about}_id[is_null]"] = "false"
    elif q.about == "none":
        pairs |= {f"{kind}_id[is_null]": "true" for kind in LINK_KINDS}
    return export_query_of(pairs, "", q.sort or tasks.DEFAULT_SORT)  # in the list's order


@router.get("/tasks/link-options", response_class=HTMLResponse)
def link_options(
    request: Request, page: Page, about_q: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    """The people, companies and deals whose name matches, as choices for a new task's link
    (only the kinds the member may read)."""
    page.ctx.require("tasks:write")
    kinds = [k for k in LINK_KINDS if page.ctx.can(record_type(k).read)]
    text = about_q.strip()
    hits = search(page.ctx.session, page.ctx.workspace_id, text, types=kinds,
                  limit=PICKER_LIMIT) if text and kinds else []  # fmt: skip
    return render(
        request,
        "sales/_task_link_options.html",
        fragment="sales/_task_link_options.html",
        hits=hits,
        q=text,
        kinds=LINK_KINDS,
    )


def parse_link(value: str) -> dict[str, str]:
    """ "person:<id>" (the picker's choice) as the task's link field; anything else, none."""
    kind, _, raw = value.partition(":")
    if kind not in LINK_KINDS:
        return {}
    try:
        return {f"{kind}_id": str(uuid.UUID(raw))}
    except ValueError:
        return {}
