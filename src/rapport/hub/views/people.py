"""The people list and the form that adds a person."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from rapport.core import registry
from rapport.core.errors import Conflict, FieldError, Invalid
from rapport.core.filtering import parse_query_params
from rapport.core.listing import Count, ListParams, count_records
from rapport.core.pagination import Page as ResultPage
from rapport.core.records import record_type
from rapport.core.registry import Panel
from rapport.hub import lookups
from rapport.hub.models import LifecycleStage, Person
from rapport.hub.schemas import PERSON_LIST_FILTERS, PersonIn
from rapport.hub.service import fields, people, tags
from rapport.hub.service.people_list import DEFAULT_SORT, FIELDS, list_people
from rapport.hub.views import custom_filter
from rapport.web import listing, saved_views
from rapport.web.forms import PersonForm, form_errors, person_values
from rapport.web.listing import Column, ListState
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
PAGE_SIZE = 50
COLUMNS = (
    Column("email", "Email", "email"),
    Column("phone", "Phone", "phone"),
    Column("company", "Company"),  # a name looked up from an id: no index orders by it
    Column("job_title", "Job title", "job_title"),
    Column("stage", "Stage", "lifecycle_stage"),
    Column("owner", "Owner"),
    Column("source", "Source", "source"),
    Column("created", "Created", "created_at"),
    Column("updated", "Updated", "updated_at"),
)
DEFAULT_COLUMNS = ("email", "company", "job_title", "stage", "owner", "updated")
NAME_COLUMN = Column("name", "Name", "full_name")
FILTER_FIELDS = PERSON_LIST_FILTERS
VIEW_PARAMS = ("q", "sort", "stage", "tag", "owner", "cols", *custom_filter.PARAMS)  # kept
STAGES = [(s.value, s.value.replace("_", " ").capitalize()) for s in LifecycleStage]


def _state(q: str, sort: str, stage: str, tag: str, owner: str, cols: list[str],
           cf: tuple[str, str, str] = ("", "", "")) -> ListState:  # fmt: skip
    key, op, value = cf
    custom = {"cf": key, "cfop": op or "eq", "cfv": value} if key else {}
    return ListState(
        path="/people",
        columns=COLUMNS,
        default_columns=DEFAULT_COLUMNS,
        default_sort=DEFAULT_SORT,
        q=q.strip(),
        sort=sort,
        filters={"stage": stage, "tag": tag, "owner": owner, **custom},
        cols=[c for c in cols if any(c == col.key for col in COLUMNS)],
    )


def _read(page: Page, query: Mapping[str, str]) -> tuple[ListState, dict[str, str], str | None]:
    """The list's state, its filters in the service's names, and any message about them."""
    get = query.get
    cf = (get("cf", ""), get("cfop", ""), get("cfv", ""))
    state = _state(get("q", ""), get("sort", ""), get("stage", ""), get("tag", ""),
                   get("owner", ""), [], cf)  # fmt: skip
    custom, error = custom_filter.condition(fields.definitions(page.ctx, "person"), *cf)
    return state, {**state.service_filters(FILTER_FIELDS), **custom}, error


def matching(page: Page, query: Mapping[str, str]) -> tuple[ListState, ListParams, str | None]:
    """The list's state, what it asks the service for (every page of it) and any message,
    from its query string: the list page and a bulk action on "all matching" read the same."""
    state, filters, error = _read(page, query)
    node = parse_query_params(filters, FIELDS)
    params = ListParams(limit=PAGE_SIZE, sort=state.sort or None, filter=node, q=state.q or None)
    return state, params, error


def export_query(page: Page, query: Mapping[str, str]) -> str:
    """The export's query string for the list as shown: its filters (a saved view's are in
    the URL too), search text and sort."""
    state, filters, _ = _read(page, query)
    return listing.export_query(filters, state.q, state.sort or DEFAULT_SORT)


@router.get("/people", response_class=HTMLResponse)
def people_list(
    request: Request,
    page: Page,
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=100)] = "",
    stage: str = "",
    tag: Annotated[str, Query(max_length=100)] = "",
    owner: str = "",
    cols: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    part: str = "",
    view: Annotated[str, Query(max_length=36)] = "",
    cf: Annotated[str, Query(max_length=64)] = "",
    cfop: Annotated[str, Query(max_length=20)] = "",
    cfv: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """People, sorted and filtered from the URL; HTMX gets the results or the next rows."""
    state = _state(q, sort, stage, tag, owner, cols, (cf, cfop, cfv))
    defs = fields.definitions(page.ctx, "person")
    query = {"q": q, "sort": sort, "stage": stage, "tag": tag, "owner": owner,
             "cf": cf, "cfop": cfop, "cfv": cfv}  # fmt: skip
    count: Count | None = None
    try:
        _, params, error = matching(page, query)
        params.cursor = cursor
        result = list_people(page.ctx, params)
        if part != "rows":  # the next rows of a list keep the count it showed
            count = count_records(page.ctx, record_type("person"), params)
    except Invalid as exc:  # a hand-edited URL: show the message, not a problem document
        error, result = exc.detail, ResultPage[Person](items=[], next_cursor=None, has_more=False)
    return render(
        request,
        "hub/people/list.html",
        fragment="hub/people/_rows.html" if part == "rows" else "hub/people/_results.html",
        title="People",
        state=state,
        name_column=NAME_COLUMN,
        result=result,
        count=count,
        count_nouns=("person", "people"),
        export_base="/api/v1/exports/people",
        export_formats=(("csv", "CSV"), ("jsonl", "JSON lines"), ("vcf", "vCard")),
        export_query=export_query(page, query) if part != "rows" else "",
        can_export=page.ctx.can("export:read"),
        can_import=page.ctx.can("hygiene:import"),
        error=error,
        companies=lookups.company_names(page.ctx, (p.company_id for p in result.items)),
        owners={m.user_id: m.name for m in lookups.members(page.ctx)},
        stages=STAGES,
        tag_names=[t.name for t in tags.list_tags(page.ctx, limit=200).items],
        can_write=page.ctx.can("people:write"),
        can_delete=page.ctx.can("people:delete"),
        views=saved_views.list_views(page.ctx, "person"),
        active_view=view,
        user_id=page.user.id,
        can_manage=page.ctx.can("workspace:manage"),
        cf_choices=custom_filter.choices(defs),
        cf_operators=custom_filter.OPERATORS,
        list_id="people",
        views_path="/people",
        views_all="All people",
    )


router.include_router(saved_views.form_routes("person", "/people", VIEW_PARAMS))


def _new_form(request: Request, page: Page, values: dict[str, Any], errors: dict[str, str],
              error: str | None = None,
              warnings: list[tuple[Panel, dict[str, Any]]] | None = None,
              ) -> HTMLResponse:  # fmt: skip
    return render(
        request,
        "hub/people/new.html",
        title="Add person",
        values=values,
        errors=errors,
        error=error,
        stages=STAGES,
        members=lookups.members(page.ctx),
        warnings=warnings or [],
    )


def _warnings(page: Page, values: dict[str, Any]) -> list[tuple[Panel, dict[str, Any]]]:
    """What other domains warn about before this person is added (hygiene: likely twins)."""
    shown = []
    for panel in registry.panels("person.new"):
        data = panel.loaded(page.ctx, values)
        if data is not None:
            shown.append((panel, data))
    return shown


@router.get("/people/new", response_class=HTMLResponse)
def new_person_form(request: Request, page: Page) -> HTMLResponse:
    """The form that adds a person."""
    page.ctx.require("people:write")
    return _new_form(request, page, {"lifecycle_stage": "lead"}, {})


@router.post("/people/new")
def create_person(request: Request, page: Page, form: Annotated[PersonForm, Form()]) -> Response:
    """Add a person; the form comes back with messages next to the fields it could not take."""
    try:
        values = person_values(form)
        if form.company:
            company_id = lookups.company_by_name(page.ctx, form.company)
            if company_id is None:
                message = f"No company is called “{form.company}”; add it first."
                raise Invalid(message, errors=[FieldError(("company",), message, "unknown")])
            values["company_id"] = company_id
        data = PersonIn.model_validate(values)
        warnings = [] if form.force == "1" else _warnings(page, data.model_dump())
        if warnings:
            return _new_form(request, page, form.model_dump(), {}, warnings=warnings)
        person = people.create(page.ctx, data)
    except (Invalid, Conflict, ValidationError) as exc:
        errors = form_errors(exc)
        message = "Check the fields marked below." if errors else str(exc)
        return _new_form(request, page, form.model_dump(), errors, message)
    toast(request, f"{person.full_name or person.email} was added.")
    return redirect(request, f"/people/{person.id}")
