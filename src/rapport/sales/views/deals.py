"""The deals pages: the kanban board of a pipeline, a deal's page and the new-deal form.

Every write goes through the sales services (``deals.move_to_stage``, ``mark_won`` …), the same
ones the JSON API calls. A move from the board carries the card's version, so a card dragged
from a stale board is refused (412) and the board is re-rendered as it really is.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rapport.accounts.public import workspace
from rapport.core.clock import utcnow
from rapport.core.errors import Conflict, Invalid, NotFound, StaleWrite
from rapport.core.filtering import parse_query_params
from rapport.core.listing import ListParams, count_records
from rapport.core.pagination import Page as PageOf
from rapport.core.records import record_type
from rapport.hub.models import Activity, ActivityKind, Direction
from rapport.hub.public import custom_filter, fields, lookups, people, timeline
from rapport.hub.schemas import ActivityIn
from rapport.sales.models import Deal, DealStageHistory, DealStatus, Pipeline, Stage
from rapport.sales.schemas import DealIn
from rapport.sales.service import deals, pipelines
from rapport.sales.service.deal_list import DEFAULT_SORT, FIELDS, PAGE_FILTERS, board, list_deals
from rapport.web import listing, saved_views
from rapport.web.forms import form_errors
from rapport.web.render import is_htmx, redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
COLUMN_CARDS = 25  # cards per stage on the board; the rest are a link to the list
CLOSED_DAYS = 30  # the won and lost columns show what closed recently
REFUSED_HEADER = "X-Rapport-Refused"  # on a board answering a move it did not make


@dataclass
class Column:
    """One stage of the board: its first cards, and the count and totals of all its deals."""

    stage: Stage
    cards: list[Deal] = field(default_factory=list)
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    list_url: str = ""

    @property
    def more(self) -> int:
        """Deals in the stage beyond the cards shown (the list shows them all)."""
        return self.count - len(self.cards)

    @property
    def closed(self) -> bool:
        return self.stage.is_won or self.stage.is_lost


def initials(name: str) -> str:
    parts = [p for p in name.replace("@", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}" if amount % 1 else f"{amount:,.0f} {currency}"


def is_overdue(deal: Deal) -> bool:
    """An open deal whose expected close date has passed."""
    return (
        deal.status == DealStatus.OPEN
        and deal.expected_close_date is not None
        and deal.expected_close_date < utcnow().date()
    )


def board_url(pipeline: uuid.UUID | str | None, owner: str = "") -> str:
    query = {k: str(v) for k, v in (("pipeline", pipeline), ("owner", owner)) if v}
    return "/deals" + ("?" + urlencode(query) if query else "")


def _pick_pipeline(
    choices: list[tuple[Pipeline, list[Stage]]], wanted: str
) -> tuple[Pipeline, list[Stage]] | None:
    for pipeline, stages in choices:
        if str(pipeline.id) == wanted:
            return pipeline, stages
    defaults = [c for c in choices if c[0].is_default] or choices
    return defaults[0] if defaults else None


def _board(request: Request, page: Page, pipeline_id: str, owner: str) -> HTMLResponse:
    """The board page, or only the board when HTMX asks."""
    choices = pipelines.list_pipelines(page.ctx)
    picked = _pick_pipeline(choices, pipeline_id)
    members = lookups.members(page.ctx)
    owner_names = {m.user_id: m.name for m in members}
    columns: list[Column] = []
    if picked is not None:
        pipeline, stages = picked
        owner = owner if owner in {str(m.user_id) for m in members} else ""
        found = board(
            page.ctx,
            stages,
            owner_id=uuid.UUID(owner) if owner else None,
            closed_since=utcnow() - timedelta(days=CLOSED_DAYS),
            per_stage=COLUMN_CARDS,
        )
        columns = []
        for stage in stages:
            closed = stage.is_won or stage.is_lost
            query = {"pipeline": pipeline.id, "stage": stage.id, "owner": owner}
            query |= {"status": "" if closed else DealStatus.OPEN.value}
            listed = "/deals/list?" + urlencode({k: str(v) for k, v in query.items() if v})
            column = found[stage.id]
            columns.append(Column(stage, column.cards, column.count, column.totals, listed))
    return render(
        request,
        "sales/deals/board.html",
        fragment="sales/deals/_board.html",
        title="Deals",
        pipelines=[p for p, _ in choices],
        pipeline=picked[0] if picked else None,
        columns=columns,
        owner=owner,
        members=members,
        owner_names=owner_names,
        companies=lookups.company_names(page.ctx, (d.company_id for c in columns for d in c.cards)),
        initials=initials,
        money=money,
        overdue=is_overdue,
        closed_days=CLOSED_DAYS,
        can_write=page.ctx.can("deals:write"),
        can_configure=page.ctx.can("pipelines:write"),
        board_url=board_url(picked[0].id if picked else None, owner),
    )


@router.get("/deals", response_class=HTMLResponse)
def deals_board(
    request: Request,
    page: Page,
    pipeline: Annotated[str, Query(max_length=36)] = "",
    owner: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """The kanban board of a pipeline (the default one unless ``?pipeline=``)."""
    return _board(request, page, pipeline, owner)


@router.post("/deals/pipelines/default")
def create_default_pipeline(request: Request, page: Page) -> Response:
    """The empty state's button: give the workspace its standard pipeline (admins: the service
    refuses anyone without pipelines:write, as the API does)."""
    created = pipelines.ensure_default(page.ctx)
    toast(request, f"Pipeline “{created.name}” is ready.")
    return redirect(request, board_url(created.id))


@router.post("/deals/{deal_id}/move")
def move_deal(
    request: Request,
    page: Page,
    deal_id: uuid.UUID,
    stage_id: Annotated[uuid.UUID, Form()],
    version: Annotated[int | None, Form()] = None,
    pipeline: Annotated[str, Form(max_length=36)] = "",
    owner: Annotated[str, Form(max_length=36)] = "",
    back: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Move a deal to a stage (from the board or the deal page). HTMX gets the board
    re-rendered either way; a stale card or a closed deal is refused with an error toast."""
    refused = ""
    try:
        deal = deals.move_to_stage(page.ctx, deal_id, stage_id, expected_version=version)
    except StaleWrite:
        refused = "stale"
        toast(
            request,
            "Someone changed this deal since the board was loaded; nothing was moved. "
            "The board now shows it as it is.",
            "error",
        )
    except (Conflict, Invalid) as exc:
        refused = "closed" if isinstance(exc, Conflict) else "invalid"
        toast(request, f"The deal was not moved: {exc.detail}", "error")
    else:
        stage = next(s for s in pipelines.stages_of(page.ctx, deal.pipeline_id) if s.id == stage_id)
        toast(request, f"“{deal.title}” moved to {stage.name}.")
    if is_htmx(request):
        # A refusal is still a 200: the board as it really is puts the card back, and the
        # browser would log a 4xx as a console error. The header says what happened.
        response = _board(request, page, pipeline, owner)
        if refused:
            response.headers[REFUSED_HEADER] = refused
        return response
    if back == "deal":
        return redirect(request, f"/deals/{deal_id}")
    return redirect(request, board_url(pipeline, owner))


# --- the deal list ----------------------------------------------------------------------------

LIST_SORTS = {"title": "Deal", "created_at": "Created", "amount": "Amount",
              "expected_close_date": "Close date"}  # fmt: skip
LIST_LIMIT = 50
VIEW_PARAMS = ("q", "pipeline", "stage", "owner", "status", "sort", "cf", "cfop", "cfv")  # kept


@dataclass
class ListState:
    """The deal list's search, filters, sort and page, and the links that change one."""

    q: str = ""
    pipeline: str = ""
    stage: str = ""
    owner: str = ""
    status: str = ""
    sort: str = ""  # empty: the deal list's default order, newest first
    cols: tuple[str, ...] = ()  # the columns are fixed; the saved views bar asks
    cf: str = ""  # a condition on a custom field: its key, operator and value
    cfop: str = ""
    cfv: str = ""

    @property
    def filters(self) -> dict[str, str]:
        """The custom-field condition as the filter popover reads it."""
        return {"cf": self.cf, "cfop": self.cfop or "eq", "cfv": self.cfv} if self.cf else {}

    def query(self, **changes: str | None) -> str:
        """The list's query string, with some parameters changed (None or "" drops one)."""
        values = {k: getattr(self, k) for k in VIEW_PARAMS}
        values |= {k: v for k, v in changes.items() if k in values or k == "cursor"}
        return urlencode({k: v for k, v in values.items() if v})

    def url(self, **changes: str | None) -> str:
        query = self.query(**changes)
        return "/deals/list" + ("?" + query if query else "")

    def sort_url(self, key: str) -> str:
        return self.url(sort=key if self.current_sort == "-" + key else "-" + key)

    def sort_state(self, key: str) -> str | None:
        if self.current_sort == key:
            return "ascending"
        return "descending" if self.current_sort == "-" + key else None

    @property
    def current_sort(self) -> str:
        return self.sort or DEFAULT_SORT

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.stage or self.owner or self.status or self.cf)


def _uuid_or_blank(value: str) -> str:
    try:
        return str(uuid.UUID(value)) if value else ""
    except ValueError:
        return ""


def _read(
    page: Page, query: Mapping[str, str], choices: list[tuple[Pipeline, list[Stage]]] | None
) -> tuple[ListState, dict[str, str], str | None]:
    """The list's state, its filters in the service's names, and any message about them."""
    get = query.get
    choices = pipelines.list_pipelines(page.ctx) if choices is None else choices
    sort, status = get("sort", ""), get("status", "")
    state = ListState(
        q=get("q", "").strip(),
        pipeline=_uuid_or_blank(get("pipeline", "")),
        stage=_uuid_or_blank(get("stage", "")),
        owner=_uuid_or_blank(get("owner", "")),
        status=status if status in tuple(DealStatus) else "",
        sort=sort if sort.lstrip("-") in LIST_SORTS else "",
        cf=get("cf", ""),
        cfop=get("cfop", ""),
        cfv=get("cfv", ""),
    )
    defs = fields.definitions(page.ctx, "deal")
    custom, error = custom_filter.condition(defs, state.cf, state.cfop, state.cfv)
    stage_ids = {str(s.id) for p, stages in choices for s in stages
                 if not state.pipeline or str(p.id) == state.pipeline}  # fmt: skip
    if state.stage and state.stage not in stage_ids:
        state.stage = ""
    filters = {field: getattr(state, name) for name, field in PAGE_FILTERS.items()}
    return state, {k: v for k, v in filters.items() if v} | custom, error


def matching(
    page: Page, query: Mapping[str, str], choices: list[tuple[Pipeline, list[Stage]]] | None = None
) -> tuple[ListState, ListParams, str | None]:
    """The list's state, what it asks the service for (every page of it) and any message,
    from its query string: the list page and a bulk action on "all matching" read it the
    same way. Invalid for a filter a hand-edited URL broke."""
    state, filters, error = _read(page, query, choices)
    node = parse_query_params(filters, FIELDS)
    params = ListParams(limit=LIST_LIMIT, sort=state.sort or None, filter=node, q=state.q or None)
    return state, params, error


def export_query(
    page: Page, query: Mapping[str, str], choices: list[tuple[Pipeline, list[Stage]]]
) -> str:
    """The export's query string for the list as shown: its filters, search and sort."""
    state, filters, _ = _read(page, query, choices)
    return listing.export_query(filters, state.q, state.current_sort)


@router.get("/deals/list", response_class=HTMLResponse)
def deals_list(
    request: Request,
    page: Page,
    q: Annotated[str, Query(max_length=200)] = "",
    pipeline: Annotated[str, Query(max_length=36)] = "",
    stage: Annotated[str, Query(max_length=36)] = "",
    owner: Annotated[str, Query(max_length=36)] = "",
    status: Annotated[str, Query(max_length=10)] = "",
    sort: Annotated[str, Query(max_length=30)] = "",
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    view: Annotated[str, Query(max_length=36)] = "",
    cf: Annotated[str, Query(max_length=64)] = "",
    cfop: Annotated[str, Query(max_length=20)] = "",
    cfv: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Deals as a sortable table: search, filter by pipeline, stage, owner, status and a
    custom field; cursor pages; saved views of it as tabs; bulk actions on a selection."""
    choices = pipelines.list_pipelines(page.ctx)
    members = lookups.members(page.ctx)
    query = {"q": q, "pipeline": pipeline, "stage": stage, "owner": owner, "status": status,
             "sort": sort, "cf": cf, "cfop": cfop, "cfv": cfv}  # fmt: skip
    defs = fields.definitions(page.ctx, "deal")
    count = None
    state = ListState()
    try:
        state, params, error = matching(page, query, choices)
        params.cursor = cursor
        result = list_deals(page.ctx, params)
        # The first page counts (capped); the rows that scrolling loads keep that count.
        count = None if cursor else count_records(page.ctx, record_type("deal"), params)
    except Invalid as exc:  # a hand-edited URL: say so instead of a problem document
        error, result = exc.detail, PageOf[Deal](items=[], next_cursor=None, has_more=False)
    stage_rows = [s for p, stages in choices for s in stages
                  if not state.pipeline or str(p.id) == state.pipeline]  # fmt: skip
    all_stages = {s.id: s.name for _p, stages in choices for s in stages}
    return render(
        request,
        "sales/deals/list.html",
        fragment="sales/deals/_list_rows.html" if cursor else None,
        title="Deals",
        result=result,
        count=count,
        export_base="/api/v1/exports/deals",
        export_formats=(("csv", "CSV"), ("jsonl", "JSON lines")),
        export_query=export_query(page, query, choices),
        can_export=page.ctx.can("export:read"),
        state=state,
        pipelines=[p for p, _ in choices],
        stages=stage_rows,
        stage_names=all_stages,
        pipeline_names={p.id: p.name for p, _ in choices},
        members=members,
        member_choices=[(m.user_id, m.name) for m in members],
        owner_names={m.user_id: m.name for m in members},
        companies=lookups.company_names(page.ctx, (d.company_id for d in result.items)),
        sorts=LIST_SORTS,
        statuses=tuple(DealStatus),
        money=money,
        overdue=is_overdue,
        can_write=page.ctx.can("deals:write"),
        can_delete=page.ctx.can("deals:delete"),
        # a list filtered to one pipeline offers only its stages (a stage belongs to one)
        bulk_stages=[
            (p, [s for s in stages if s.archived_at is None])
            for p, stages in choices
            if not state.pipeline or str(p.id) == state.pipeline
        ],
        views=saved_views.list_views(page.ctx, "deal"),
        active_view=view,
        user_id=page.user.id,
        can_manage=page.ctx.can("workspace:manage"),
        list_id="deals",
        error=error,
        cf_choices=custom_filter.choices(defs),
        cf_operators=custom_filter.OPERATORS,
        views_path="/deals/list",
        views_all="All deals",
    )


router.include_router(saved_views.form_routes("deal", "/deals/list", VIEW_PARAMS))


# --- new deal ---------------------------------------------------------------------------------


def _new_form(
    request: Request,
    page: Page,
    pipeline: Pipeline,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    company_id = _uuid_or_none(values["company_id"])
    company_names = lookups.company_names(page.ctx, [company_id])
    return render(
        request,
        "sales/deals/new.html",
        status_code=status,
        title="New deal",
        pipeline=pipeline,
        pipelines=[p for p, _ in pipelines.list_pipelines(page.ctx)],
        stages=_open_stages(page, pipeline.id),
        members=lookups.members(page.ctx),
        values=values,
        errors=errors,
        person_name=_person_name(page, _uuid_or_none(values["person_id"])),
        company_name=company_names.get(company_id) if company_id else None,
    )


def _open_stages(page: Page, pipeline_id: uuid.UUID) -> list[Stage]:
    return [s for s in pipelines.stages_of(page.ctx, pipeline_id) if not (s.is_won or s.is_lost)]


def _uuid_or_none(value: str) -> uuid.UUID | None:
    return uuid.UUID(value) if _uuid_or_blank(value) else None


def _form_pipeline(page: Page, wanted: str) -> Pipeline:
    picked = _pick_pipeline(pipelines.list_pipelines(page.ctx), wanted)
    return picked[0] if picked else pipelines.ensure_default(page.ctx)


@router.get("/deals/new", response_class=HTMLResponse)
def new_deal_form(
    request: Request,
    page: Page,
    pipeline: Annotated[str, Query(max_length=36)] = "",
    person: Annotated[str, Query(max_length=36)] = "",
    company: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """The form that adds a deal to a pipeline; ``?person=`` and ``?company=`` (from their
    pages' deals panel) say who the deal is with."""
    page.ctx.require("deals:write")
    chosen = _form_pipeline(page, pipeline)
    values = {
        "title": "",
        "amount": "",
        "currency": chosen.currency or workspace.get(page.ctx).currency,
        "stage_id": "",
        "expected_close_date": "",
        "person_id": _uuid_or_blank(person),
        "company_id": _uuid_or_blank(company),
        "person": "",
        "company": "",
        "owner_id": str(page.user.id),
    }
    return _new_form(request, page, chosen, values, {})


@router.get("/deals/new/stages", response_class=HTMLResponse)
def new_deal_stages(
    request: Request, page: Page, pipeline: Annotated[str, Query(max_length=36)] = ""
) -> HTMLResponse:
    """The stage ``<option>``s of the pipeline the new-deal form just chose."""
    page.ctx.require("deals:write")
    chosen = _form_pipeline(page, pipeline)
    return render(
        request,
        "sales/deals/_stage_options.html",
        stages=_open_stages(page, chosen.id),
        selected="",
    )


@router.post("/deals/new")
def create_deal(
    request: Request,
    page: Page,
    title: Annotated[str, Form(max_length=300)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
    currency: Annotated[str, Form(max_length=10)] = "",
    stage_id: Annotated[str, Form(max_length=36)] = "",
    expected_close_date: Annotated[str, Form(max_length=20)] = "",
    pipeline: Annotated[str, Form(max_length=36)] = "",
    person_id: Annotated[str, Form(max_length=36)] = "",
    company_id: Annotated[str, Form(max_length=36)] = "",
    person: Annotated[str, Form(max_length=300)] = "",
    company: Annotated[str, Form(max_length=300)] = "",
    owner_id: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Add a deal; the form comes back with a message next to each field that is wrong."""
    page.ctx.require("deals:write")
    chosen = _form_pipeline(page, pipeline)
    values = {
        "title": title.strip(),
        "amount": amount.strip(),
        "currency": currency.strip(),
        "stage_id": stage_id,
        "expected_close_date": expected_close_date,
        "person_id": person_id,
        "company_id": company_id,
        "person": person.strip(),
        "company": company.strip(),
        "owner_id": owner_id,
    }
    errors: dict[str, str] = {}
    if not values["title"]:
        errors["title"] = "Give the deal a title."
    try:
        parsed_amount = Decimal(values["amount"].replace(",", "") or "0")
    except InvalidOperation:
        errors["amount"] = "Enter a number, like 1200 or 1200.50."
        parsed_amount = Decimal(0)
    if values["company"] and not company_id:
        found = lookups.company_by_name(page.ctx, values["company"])
        if found is None:
            errors["company"] = (
                f"No company is called “{values['company']}”; pick one from the list."
            )
        company_id = str(found or "")
    if values["person"] and not person_id:
        found = lookups.person_by_label(page.ctx, values["person"])
        if found is None:
            errors["person"] = (
                f"Nobody is called “{values['person']}”; pick a person from the list."
            )
        person_id = str(found or "")
    members = {str(m.user_id) for m in lookups.members(page.ctx)}
    if owner_id and owner_id not in members:
        errors["owner_id"] = "Pick a member of the workspace."
    if errors:
        return _new_form(request, page, chosen, values, errors)
    try:
        data = DealIn.model_validate(
            {
                "title": values["title"],
                "amount": parsed_amount,
                "currency": values["currency"].upper(),
                "pipeline_id": chosen.id,
                "stage_id": stage_id or None,
                "expected_close_date": expected_close_date or None,
                "person_id": person_id or None,
                "company_id": company_id or None,
                "owner_id": owner_id or None,
            }
        )
        deal = deals.create(page.ctx, data)
    except (Invalid, ValidationError) as exc:
        errors = form_errors(exc)
        if "pipeline_id" in errors:
            errors.setdefault("stage_id", errors.pop("pipeline_id"))
        for field_name, form_name in (("person_id", "person"), ("company_id", "company")):
            if field_name in errors and not values[field_name]:
                errors[form_name] = errors.pop(field_name)
        return _new_form(request, page, chosen, values, errors or {"form": str(exc)})
    toast(request, f"Deal “{deal.title}” was added.")
    return redirect(request, f"/deals/{deal.id}")


# --- one deal ---------------------------------------------------------------------------------


TIMELINE_PAGE = 30
QUICK_KINDS = [("call", "Call"), ("email", "Email"), ("meeting", "Meeting"), ("note", "Note")]
TIMELINE_FRAGMENTS = {
    "timeline": "sales/deals/_timeline.html",
    "more": "sales/deals/_timeline_items.html",
    "details": "sales/deals/_details.html",
    "saved": "sales/deals/_saved.html",
}


@dataclass
class Entry:
    """One line of the deal's timeline: an activity, or the deal entering a stage."""

    at: datetime
    activity: Activity | None = None
    stay: DealStageHistory | None = None


def _entries(
    activities: PageOf[Activity], history: list[DealStageHistory], upto: datetime | None
) -> list[Entry]:
    """A page of the deal's activities merged, newest first, with the stage changes that fall
    in the same stretch of time: before ``upto`` (the previous page's oldest entry) and, when
    older activities follow, not before this page's oldest one."""
    items = [Entry(a.occurred_at, activity=a) for a in activities.items]
    floor = activities.items[-1].occurred_at if activities.has_more and items else None
    for stay in history:
        if (upto is None or stay.entered_at < upto) and (floor is None or stay.entered_at >= floor):
            items.append(Entry(stay.entered_at, stay=stay))
    return sorted(items, key=lambda e: e.at, reverse=True)


def _person_name(page: Page, person_id: uuid.UUID | None) -> str | None:
    if person_id is None or not page.ctx.can("people:read"):
        return None
    try:
        person = people.get(page.ctx, person_id)
    except NotFound:
        return None
    return person.full_name or person.email or "Unnamed person"


@router.get("/deals/{deal_id}", response_class=HTMLResponse)
def deal_page(
    request: Request,
    page: Page,
    deal_id: uuid.UUID,
    part: Annotated[str, Query(max_length=20)] = "",
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    upto: Annotated[datetime | None, Query()] = None,
) -> HTMLResponse:
    """A deal: its amount, stage, owner and close date, won/lost, and its own timeline (the
    activities about it merged with its stage changes); HTMX asks for the timeline alone or
    for its next page (``part=timeline|more``)."""
    return render_deal(request, page, deal_id, part=part, cursor=cursor, upto=upto)


def render_deal(
    request: Request,
    page: Page,
    deal_id: uuid.UUID,
    *,
    part: str = "",
    cursor: str | None = None,
    upto: datetime | None = None,
) -> HTMLResponse:
    deal = deals.get(page.ctx, deal_id)
    stages = pipelines.stages_of(page.ctx, deal.pipeline_id)
    stage_names = {s.id: s.name for s in stages}
    owner_names = {m.user_id: m.name for m in lookups.members(page.ctx)}
    companies = lookups.company_names(page.ctx, [deal.company_id])
    history = deals.history(page.ctx, deal.id)
    activities = deals.timeline(page.ctx, deal.id, limit=TIMELINE_PAGE, cursor=cursor)
    entries = _entries(activities, history, upto if cursor else None)
    return render(
        request,
        "sales/deals/deal.html",
        fragment=TIMELINE_FRAGMENTS.get(part),
        title=deal.title,
        deal=deal,
        entries=entries,
        activities=activities,
        oldest=entries[-1].at if entries else None,
        quick_kinds=QUICK_KINDS,
        can_log=page.ctx.can("activities:write"),
        person_name=_person_name(page, deal.person_id),
        pipeline=pipelines.get(page.ctx, deal.pipeline_id),
        stage_name=stage_names.get(deal.stage_id, "—"),
        open_stages=[s for s in stages if not (s.is_won or s.is_lost)],
        owner_name=owner_names.get(deal.owner_id) if deal.owner_id else None,
        company_name=companies.get(deal.company_id) if deal.company_id else None,
        history=history,
        stage_names=stage_names,
        owner_names=owner_names,
        money=money,
        is_open=deal.status == DealStatus.OPEN,
        overdue=is_overdue(deal),
        oob=False,
        can_write=page.ctx.can("deals:write"),
    )


class DealActivityForm(BaseModel):
    """The deal page's quick log: a call, email, meeting or note about the deal."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    kind: Literal["call", "email", "meeting", "note"] = "call"
    subject: str = Field(default="", max_length=500)
    body: str = Field(default="", max_length=100_000)


@router.post("/deals/{deal_id}/activities")
def log_deal_activity(
    request: Request, page: Page, deal_id: uuid.UUID, form: Annotated[DealActivityForm, Form()]
) -> Response:
    """Log an activity about the deal; it is linked to the deal and to the deal's person and
    company, so it shows on their timelines too."""
    deal = deals.get(page.ctx, deal_id)
    kind = ActivityKind(form.kind)
    try:
        timeline.log(
            page.ctx,
            ActivityIn(
                kind=kind,
                direction=Direction.INTERNAL if kind == ActivityKind.NOTE else Direction.OUTBOUND,
                subject=form.subject or None,
                body=form.body or None,
                deal_id=deal.id,
                person_id=deal.person_id,
                company_id=deal.company_id,
            ),
        )
    except Invalid as exc:
        toast(request, exc.detail, "error")
    else:
        toast(request, f"{kind.value.capitalize()} logged on “{deal.title}”.")
    if is_htmx(request):
        return render_deal(request, page, deal.id, part="timeline")
    return redirect(request, f"/deals/{deal.id}")


@router.post("/deals/{deal_id}/close")
def close_deal(
    request: Request,
    page: Page,
    deal_id: uuid.UUID,
    outcome: Annotated[str, Form(pattern="^(won|lost|reopen)$")],
    reason: Annotated[str, Form(max_length=500)] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    """Mark a deal won or lost (with a reason), or reopen it; a stale page is refused."""
    try:
        if outcome == "won":
            deal = deals.mark_won(page.ctx, deal_id, reason=reason, expected_version=version)
            toast(request, f"“{deal.title}” is won.")
        elif outcome == "lost":
            deal = deals.mark_lost(page.ctx, deal_id, reason=reason, expected_version=version)
            toast(request, f"“{deal.title}” is lost.", "info")
        else:
            deal = deals.reopen(page.ctx, deal_id, expected_version=version)
            toast(request, f"“{deal.title}” is open again.")
    except StaleWrite:
        toast(
            request,
            "Someone changed this deal meanwhile; nothing was saved. Check it and try again.",
            "error",
        )
    except (Conflict, Invalid) as exc:
        toast(request, exc.detail, "error")
    return redirect(request, f"/deals/{deal_id}")
