"""The sales pages: the sales dashboard (charts of the analytics endpoints) and "My tasks",
whose routes also tick and add the tasks of a record's panel (``views/panels.py``).

Every number comes from the sales services the JSON API calls (``forecast.*``,
``tasks.*``); this module only shapes them for Chart.js, which draws them from a JSON block
(``<script type="application/json">``, never an inline script: the CSP forbids those).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from rapport.core.clock import utcnow
from rapport.core.errors import Forbidden, Invalid, StaleWrite
from rapport.hub.models import Person
from rapport.hub.public import lookups
from rapport.sales.models import Deal, Task
from rapport.sales.schemas import TaskIn
from rapport.sales.service import forecast, pipelines, tasks
from rapport.sales.service.tasks import TaskQuery
from rapport.sales.views import task_list
from rapport.sales.views.deals import money
from rapport.sales.views.task_list import TaskFilters
from rapport.web.forms import form_errors
from rapport.web.render import is_htmx, redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
PERIODS = {"30": "Last 30 days", "90": "Last 90 days", "365": "Last 12 months", "all": "All time"}
DEFAULT_PERIOD = "365"
MAX_TASKS = 100  # open tasks grouped on "My tasks"; all of them scroll on in the team view
PRIORITIES = ("high", "normal", "low")
MIN_STUCK_DAYS = 1  # a stage is not called a bottleneck over stays shorter than this


# --- the dashboard ----------------------------------------------------------------------------


def _number(value: Decimal | float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _main_currency(pipeline_currency: str | None, rows: Iterable[dict[str, Any]]) -> str | None:
    """The currency the charts use: the pipeline's, else the one with the most open money."""
    if pipeline_currency:
        return pipeline_currency
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row["currency"]] += row["amount"]
    return max(totals, key=lambda c: totals[c]) if totals else None


def _has_deals(page: Page, pipeline_id: uuid.UUID) -> bool:
    query = select(Deal.id).where(Deal.pipeline_id == pipeline_id).limit(1)
    page.ctx.require("deals:read")
    return page.ctx.session.scalar(query) is not None


def dashboard_data(
    page: Page,
    pipeline_id: uuid.UUID,
    since: datetime | None,
    owner_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Everything the dashboard shows for one pipeline, as plain JSON-able values: the open
    pipeline as it is now, the historical figures (forecast conversion, win rate, deal size,
    cycle, funnel, past stays) of the period ``since``; all of one owner's deals when given."""
    ctx = page.ctx
    period: dict[str, Any] = {"since": since, "owner_id": owner_id}
    pipeline = pipelines.get(ctx, pipeline_id)
    stages = {s.id: s for s in pipelines.stages_of(ctx, pipeline_id)}
    owner_names = {m.user_id: m.name for m in lookups.members(ctx)}
    weighted = forecast.weighted_pipeline(ctx, pipeline_id=pipeline_id, owner_id=owner_id)
    currency = _main_currency(pipeline.currency, weighted)
    other_currencies = sorted({r["currency"] for r in weighted} - {currency})

    months = sorted({r["month"] or "No date" for r in weighted if r["currency"] == currency},
                    key=lambda m: (m == "No date", m))  # fmt: skip
    by_owner: dict[str, dict[str, float]] = defaultdict(dict)
    for row in weighted:
        if row["currency"] == currency:
            name = owner_names.get(row["owner_id"], "No owner")
            month = row["month"] or "No date"
            by_owner[name][month] = by_owner[name].get(month, 0.0) + float(row["weighted"])
    series = {name: [round(v.get(m, 0.0), 2) for m in months] for name, v in by_owner.items()}
    datasets = [{"label": name, "data": series[name]} for name in sorted(series)]
    weighted_chart = {"labels": months, "datasets": datasets}

    weighted_total = sum(sum(values) for values in series.values())
    stage_forecasts, totals = forecast.forecast(ctx, pipeline_id=pipeline_id, **period)
    rates = forecast.stage_win_rates(ctx, **period)
    forecast_rows = []
    for f in stage_forecasts:
        if f.currency != currency:
            continue
        closed, won = rates.get(f.stage_id, (0, 0))
        static = f.open_amount * Decimal(stages[f.stage_id].probability) / 100
        history = f.open_amount * Decimal(won) / closed if closed else None
        forecast_rows.append({
            "stage": f.name, "open_deals": f.open_deals, "open_amount": _number(f.open_amount),
            "history": _number(history), "static": _number(static), "used": f.rate_source,
            "closed_history": f.closed_history, "forecast": _number(f.forecast),
        })  # fmt: skip

    summary = forecast.summary(ctx, pipeline_id=pipeline_id, **period)
    funnel = forecast.funnel(ctx, pipeline_id=pipeline_id, **period)
    bottlenecks = forecast.bottlenecks(ctx, pipeline_id=pipeline_id, **period)
    average = summary["average_won_amount"].get(currency) if currency else None
    return {
        "currency": currency,
        "other_currencies": other_currencies,
        "weighted_total": _number(weighted_total),
        "forecast_total": _number(totals.get(currency or "", Decimal(0))),
        "weighted": weighted_chart,
        "forecast": forecast_rows,
        "summary": {
            "won": summary["won"],
            "lost": summary["lost"],
            "win_rate": summary["win_rate"],
            "average": _number(average),
            "cycle_days": _number(summary["average_cycle_days"]),
        },
        "funnel": [
            {"stage": r["name"], "entered": r["entered"], "conversion": r["conversion_to_next"]}
            for r in funnel
        ],
        "bottlenecks": [
            {
                "stage": r["name"],
                "open_deals": r["open_deals"],
                "current": _number(r["current_median_days"]),
                "historical": _number(r["historical_median_days"]),
                "is_bottleneck": r["is_bottleneck"]
                and (r["current_median_days"] or 0) >= MIN_STUCK_DAYS,
            }
            for r in bottlenecks
        ],
    }


@router.get("/sales", response_class=HTMLResponse)
def sales_dashboard(
    request: Request,
    page: Page,
    pipeline: Annotated[str, Query(max_length=36)] = "",
    period: Annotated[str, Query(max_length=5)] = DEFAULT_PERIOD,
    owner: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """Weighted pipeline, forecast, win rate, deal size, cycle, funnel and bottlenecks, for a
    period (the historical figures) and one owner or everyone."""
    page.ctx.require("deals:read")
    period = period if period in PERIODS else DEFAULT_PERIOD
    members = lookups.members(page.ctx)
    owner_id = next((m.user_id for m in members if str(m.user_id) == owner), None)
    since = None if period == "all" else utcnow() - timedelta(days=int(period))
    choices = [p for p, _stages in pipelines.list_pipelines(page.ctx)]
    picked = next((p for p in choices if str(p.id) == pipeline), None)
    picked = picked or next((p for p in choices if p.is_default), None)
    picked = picked or (choices[0] if choices else None)
    has_deals = picked is not None and _has_deals(page, picked.id)
    data = (
        dashboard_data(page, picked.id, since, owner_id)
        if picked is not None and has_deals
        else None
    )
    return render(
        request,
        "sales/dashboard.html",
        title="Sales",
        pipelines=choices,
        pipeline=picked,
        period=period,
        periods=PERIODS,
        owner=str(owner_id or ""),
        members=members,
        data=data,
        money=money,
    )


# --- tasks ------------------------------------------------------------------------------------


@dataclass
class TaskRow:
    """A task with the names the page shows next to it."""

    task: Task
    record_label: str | None
    record_url: str | None
    assignee: str | None
    overdue: bool
    can_edit: bool


def _names(page: Page, model: Any, column: Any, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = page.ctx.session.execute(select(model.id, column).where(model.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


def task_rows(page: Page, items: list[Task], now: datetime) -> list[TaskRow]:
    """Rows for these tasks, with their records' names looked up in one query per kind."""
    deals_ = _names(page, Deal, Deal.title, {t.deal_id for t in items if t.deal_id})
    people = _names(page, Person, Person.full_name, {t.person_id for t in items if t.person_id})
    companies = lookups.company_names(page.ctx, (t.company_id for t in items))
    members = {m.user_id: m.name for m in lookups.members(page.ctx)}
    rows = []
    for t in items:
        label, url = None, None
        if t.deal_id and t.deal_id in deals_:
            label, url = deals_[t.deal_id], f"/deals/{t.deal_id}"
        elif t.person_id and t.person_id in people:
            label, url = people[t.person_id] or "Unnamed person", f"/people/{t.person_id}"
        elif t.company_id and t.company_id in companies:
            label, url = companies[t.company_id], f"/companies/{t.company_id}"
        overdue = not t.done and t.due_at is not None and t.due_at < now
        assignee = members.get(t.assignee_id) if t.assignee_id else None
        rows.append(TaskRow(t, label, url, assignee, overdue, tasks.may_edit(page.ctx, t)))
    return rows


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")


@router.get("/tasks", response_class=HTMLResponse)
def my_tasks(
    request: Request,
    page: Page,
    tz: Annotated[str, Query(max_length=64)] = "",
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> HTMLResponse:
    """Tasks in three views: mine (open, grouped overdue / today / upcoming / no date, and
    what I did lately), the team's open tasks, and the done ones (most recent first); filtered
    by assignee, due time and linked record, counted, and scrolled in keyset pages."""
    now = utcnow()
    zone = zone_named(tz or unquote(request.cookies.get("rapport_tz", "")))
    today_end = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(), zone)
    filters = TaskFilters.read(dict(request.query_params))
    query = task_list.task_query(page, filters, now, zone)
    if filters.view == "mine":
        query.limit = MAX_TASKS
    query.cursor = cursor if filters.view != "mine" else None
    result = tasks.list_tasks(page.ctx, query, now=now)
    rows = task_rows(page, result.items, now)
    back = filters.url()
    if cursor and filters.view != "mine":  # the next rows, as scrolling loads them
        template = "sales/_task_rows.html"
        return render(request, template, fragment=template, rows=rows, result=result,
                      filters=filters, back=back,
                      selectable=page.ctx.can("tasks:write"))  # fmt: skip
    done_rows: list[TaskRow] = []
    groups: dict[str, list[TaskRow]] = {"Overdue": [], "Today": [], "Upcoming": [], "No date": []}
    if filters.view == "mine":
        recent = TaskQuery(limit=10, assignee_id=page.ctx.user_id, status="done",
                           sort="-done_at")  # fmt: skip
        done_rows = task_rows(page, tasks.list_tasks(page.ctx, recent).items, now)
        for row in rows:
            due = row.task.due_at
            key = (
                "No date" if due is None
                else "Overdue" if due < now
                else "Today" if due < today_end
                else "Upcoming"
            )  # fmt: skip
            groups[key].append(row)
    members = lookups.members(page.ctx)
    return render(
        request,
        "sales/tasks.html",
        title=task_list.VIEWS[filters.view],
        filters=filters,
        views=task_list.VIEWS,
        due_choices=task_list.DUE,
        about_choices=task_list.ABOUT,
        members=members,
        member_choices=[(m.user_id, m.name) for m in members],
        groups=groups,
        rows=rows,
        result=result,
        done_rows=done_rows,
        me=str(page.ctx.user_id),
        count=task_list.count(page, filters, now, zone),
        back=back,
        export_query=task_list.export_query(page, query),
        can_export=page.ctx.can("export:read"),
        can_write=page.ctx.can("tasks:write"),
        priorities=PRIORITIES,
        values={"title": "", "due_date": "", "due_time": "", "priority": "normal"},
        errors={},
    )


def due_instant(due_date: str, due_time: str, tz: str) -> datetime | None:
    """A due instant from the form's date and time in the reader's zone (end of day without
    a time); ValueError when unreadable."""
    if not due_date:
        if due_time:
            raise ValueError("give a date with the time")
        return None
    day = date.fromisoformat(due_date)
    moment = time.fromisoformat(due_time) if due_time else time(17, 0)
    return datetime.combine(day, moment, zone_named(tz)).astimezone(UTC)


@router.post("/tasks/new")
def create_task(
    request: Request,
    page: Page,
    title: Annotated[str, Form(max_length=300)] = "",
    due_date: Annotated[str, Form(max_length=10)] = "",
    due_time: Annotated[str, Form(max_length=8)] = "",
    priority: Annotated[str, Form(max_length=10)] = "normal",
    tz: Annotated[str, Form(max_length=64)] = "",
    person_id: Annotated[str, Form(max_length=36)] = "",
    company_id: Annotated[str, Form(max_length=36)] = "",
    deal_id: Annotated[str, Form(max_length=36)] = "",
    link: Annotated[str, Form(max_length=50)] = "",
    back: Annotated[str, Form(max_length=200)] = "/tasks",
) -> Response:
    """Add a task (from My tasks, or the panel of a person, company or deal, linked to it); a
    problem comes back as a toast."""
    back = back if back.startswith("/") and not back.startswith("//") else "/tasks"
    try:
        due = due_instant(due_date, due_time, tz)
    except ValueError:
        toast(request, "The task was not added: the due date or time is not a date.", "error")
        return redirect(request, back)
    try:
        links = {"person_id": person_id, "company_id": company_id, "deal_id": deal_id}
        links |= task_list.parse_link(link)  # the picker's choice on the task list
        data = TaskIn.model_validate(
            {"title": title, "due_at": due, "priority": priority}
            | {name: value or None for name, value in links.items()}
        )
        made = tasks.create(page.ctx, data)
    except (Invalid, ValidationError) as exc:
        problems = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in form_errors(exc).items())
        toast(request, f"The task was not added. {problems}", "error")
        return redirect(request, back)
    toast(request, f"Task “{made.title}” added.")
    return redirect(request, back)


@router.post("/tasks/{task_id}/toggle", response_class=HTMLResponse)
def toggle_task(
    request: Request,
    page: Page,
    task_id: uuid.UUID,
    done: Annotated[bool, Form()],
    version: Annotated[int | None, Form()] = None,
    back: Annotated[str, Form(max_length=200)] = "/tasks",
) -> Response:
    """Tick a task done (or not); HTMX gets the row back, a plain form a redirect."""
    back = back if back.startswith("/") and not back.startswith("//") else "/tasks"
    try:
        task = tasks.set_done(page.ctx, task_id, done, expected_version=version)
    except StaleWrite:
        task = tasks.get(page.ctx, task_id)
        toast(request, "This task changed meanwhile; it now shows as it is.", "error")
    except Forbidden as exc:
        task = tasks.get(page.ctx, task_id)
        toast(request, exc.detail, "error")
    else:
        toast(request, f"“{task.title}” {'done' if task.done else 'is open again'}.")
    if is_htmx(request):
        now = utcnow()
        (row,) = task_rows(page, [task], now)
        count = None
        if back == "/tasks" or back.startswith("/tasks?"):  # the list's count follows the tick
            zone = zone_named(unquote(request.cookies.get("rapport_tz", "")))
            count = task_list.count(page, TaskFilters.from_url(back), now, zone)
        template = "sales/_task_toggled.html"
        return render(request, template, fragment=template, row=row, back=back, count=count,
                      selectable=count is not None)  # fmt: skip
    return redirect(request, back)
