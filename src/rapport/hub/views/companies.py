"""The companies list, the form that adds a company, and a company's record page."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData

from rapport.core.errors import Conflict, FieldError, Invalid, StaleWrite
from rapport.core.filtering import parse_query_params
from rapport.core.listing import Count, ListParams, count_records
from rapport.core.pagination import Page as ResultPage
from rapport.core.records import record_type
from rapport.hub import lookups
from rapport.hub.models import ActivityKind, Company, Direction
from rapport.hub.schemas import COMPANY_LIST_FILTERS, ActivityIn, CompanyIn, CompanyPatch
from rapport.hub.service import companies, fields, tags, timeline, timeline_read
from rapport.hub.service.companies_list import DEFAULT_SORT, FIELDS, list_companies, people_of
from rapport.hub.views import custom_fields, custom_filter
from rapport.web import listing, saved_views
from rapport.web.forms import form_errors, raw_form
from rapport.web.listing import Column, ListState
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
PAGE_SIZE = 50
PEOPLE_SHOWN = 50
TIMELINE_PAGE = 25
COLUMNS = (
    Column("domain", "Domain", "domain"),
    Column("industry", "Industry", "industry"),
    Column("size", "Size", "size"),
    Column("phone", "Phone", "phone"),
    Column("owner", "Owner"),  # a name looked up from an id: no index orders by it
    Column("created", "Created", "created_at"),
    Column("updated", "Updated", "updated_at"),
)
DEFAULT_COLUMNS = ("domain", "industry", "size", "owner", "created")
NAME_COLUMN = Column("name", "Name", "name")
# The industry box matches part of the name, any case; tag and owner match exactly.
FILTER_FIELDS = COMPANY_LIST_FILTERS
VIEW_PARAMS = ("q", "sort", "industry", "tag", "owner", "size_min", "size_max", "cols",
               *custom_filter.PARAMS)  # fmt: skip
FRAGMENTS = {
    "details": "hub/companies/_details.html",
    "more": "hub/companies/_timeline_items.html",
    "logged": "hub/companies/_logged.html",
}
QUICK_KINDS = [("call", "Call"), ("email", "Email"), ("meeting", "Meeting"), ("note", "Note")]
ACTIVITY_LOGGED = "rapport:activity-logged"  # the event a logged activity triggers (HX-Trigger)
_OPTIONAL_TEXT = ("domain", "industry", "website", "phone")


class CompanyForm(BaseModel):
    """What the add and edit forms post; every field is text, as browsers send it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str = Field(default="", max_length=300)
    domain: str = Field(default="", max_length=253)
    industry: str = Field(default="", max_length=100)
    size: str = Field(default="", max_length=20)
    website: str = Field(default="", max_length=500)
    phone: str = Field(default="", max_length=40)
    owner_id: str = Field(default="", max_length=36)
    tags: str = Field(default="", max_length=2000, description="Comma-separated")
    version: int | None = None  # the version the edit form was opened at (If-Match)


def company_values(form: CompanyForm, *, for_update: bool = False) -> dict[str, Any]:
    """The service's input: empty optional fields become None (so an edit can clear them)."""
    values: dict[str, Any] = {"name": form.name}
    for name in _OPTIONAL_TEXT:
        value = getattr(form, name)
        if value or for_update:
            values[name] = value or None
    if form.size or for_update:
        values["size"] = _size(form.size)
    if form.owner_id or for_update:
        values["owner_id"] = form.owner_id or None
    values["tags"] = [t.strip() for t in form.tags.split(",") if t.strip()]
    return values


def _size(raw: str) -> int | None:
    try:
        return int(raw.replace(",", "").replace(" ", "")) if raw else None
    except ValueError:
        return None


def _form_problems(form: CompanyForm) -> dict[str, str]:
    """What the form itself gets wrong, found before the service is asked (so that every
    field's message shows at once)."""
    problems: dict[str, str] = {}
    if not form.name:
        problems["name"] = "A company needs a name."
    if form.size and _size(form.size) is None:
        problems["size"] = "Enter a number of employees, e.g. 250."
    return problems


def _errors(exc: Invalid | Conflict | ValidationError) -> dict[str, str]:
    errors = form_errors(exc)
    if isinstance(exc, companies.DuplicateDomain):
        errors["domain"] = "Another company in this workspace already has this domain."
    return errors


# --- the list -------------------------------------------------------------------------------


def _state(q: str, sort: str, filters: dict[str, str], cols: list[str],
           cf: tuple[str, str, str] = ("", "", "")) -> ListState:  # fmt: skip
    key, op, value = cf
    custom = {"cf": key, "cfop": op or "eq", "cfv": value} if key else {}
    return ListState(
        path="/companies",
        columns=COLUMNS,
        default_columns=DEFAULT_COLUMNS,
        default_sort=DEFAULT_SORT,
        q=q.strip(),
        sort=sort,
        filters={**filters, **custom},
        cols=[c for c in cols if any(c == col.key for col in COLUMNS)],
    )


_FILTER_NAMES = ("industry", "tag", "owner", "size_min", "size_max")


def _read(page: Page, query: Mapping[str, str]) -> tuple[ListState, dict[str, str], str | None]:
    """The list's state, its filters in the service's names, and any message about them."""
    get = query.get
    filters = {name: get(name, "").strip() for name in _FILTER_NAMES}
    cf = (get("cf", ""), get("cfop", ""), get("cfv", ""))
    state = _state(get("q", ""), get("sort", ""), filters, [], cf)
    custom, error = custom_filter.condition(fields.definitions(page.ctx, "company"), *cf)
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


@router.get("/companies", response_class=HTMLResponse)
def companies_list(
    request: Request,
    page: Page,
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=100)] = "",
    industry: Annotated[str, Query(max_length=100)] = "",
    tag: Annotated[str, Query(max_length=100)] = "",
    owner: Annotated[str, Query(max_length=36)] = "",
    cols: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    part: str = "",
    view: Annotated[str, Query(max_length=36)] = "",
    size_min: Annotated[str, Query(max_length=12)] = "",
    size_max: Annotated[str, Query(max_length=12)] = "",
    cf: Annotated[str, Query(max_length=64)] = "",
    cfop: Annotated[str, Query(max_length=20)] = "",
    cfv: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Companies, sorted and filtered from the URL; HTMX gets the results or the next rows."""
    filters = {"industry": industry.strip(), "tag": tag, "owner": owner,
               "size_min": size_min.strip(), "size_max": size_max.strip()}  # fmt: skip
    state = _state(q, sort, filters, cols, (cf, cfop, cfv))
    defs = fields.definitions(page.ctx, "company")
    query = {"q": q, "sort": sort, **filters, "cf": cf, "cfop": cfop, "cfv": cfv}
    count: Count | None = None
    try:
        _, params, error = matching(page, query)
        params.cursor = cursor
        result = list_companies(page.ctx, params)
        if part != "rows":  # the next rows of a list keep the count it showed
            count = count_records(page.ctx, record_type("company"), params)
    except Invalid as exc:  # a hand-edited URL: show the message, not a problem document
        error, result = exc.detail, ResultPage[Company](items=[], next_cursor=None, has_more=False)
    return render(
        request,
        "hub/companies/list.html",
        fragment="hub/companies/_rows.html" if part == "rows" else "hub/companies/_results.html",
        title="Companies",
        state=state,
        name_column=NAME_COLUMN,
        result=result,
        count=count,
        export_base="/api/v1/exports/companies",
        export_formats=(("csv", "CSV"), ("jsonl", "JSON lines"), ("vcf", "vCard")),
        export_query=export_query(page, query) if part != "rows" else "",
        can_export=page.ctx.can("export:read"),
        can_import=page.ctx.can("hygiene:import"),
        error=error,
        owners={m.user_id: m.name for m in lookups.members(page.ctx)},
        tag_names=[t.name for t in tags.list_tags(page.ctx, limit=200).items],
        can_write=page.ctx.can("companies:write"),
        can_delete=page.ctx.can("companies:delete"),
        cf_choices=custom_filter.choices(defs),
        cf_operators=custom_filter.OPERATORS,
        list_id="companies",
        views=saved_views.list_views(page.ctx, "company"),
        active_view=view,
        user_id=page.user.id,
        can_manage=page.ctx.can("workspace:manage"),
        views_path="/companies",
        views_all="All companies",
    )


router.include_router(saved_views.form_routes("company", "/companies", VIEW_PARAMS))


# --- adding one -----------------------------------------------------------------------------


def _new_form(request: Request, page: Page, values: dict[str, Any], errors: dict[str, str],
              error: str | None = None) -> HTMLResponse:  # fmt: skip
    return render(
        request,
        "hub/companies/new.html",
        title="Add company",
        values=values,
        errors=errors,
        error=error,
        members=lookups.members(page.ctx),
    )


@router.get("/companies/new", response_class=HTMLResponse)
def new_company_form(request: Request, page: Page) -> HTMLResponse:
    """The form that adds a company."""
    page.ctx.require("companies:write")
    return _new_form(request, page, {}, {})


@router.post("/companies/new")
def create_company(request: Request, page: Page, form: Annotated[CompanyForm, Form()]) -> Response:
    """Add a company; the form comes back with messages next to the fields it could not take."""
    page.ctx.require("companies:write")
    errors = _form_problems(form)
    try:
        data = CompanyIn.model_validate(company_values(form))
        company = None if errors else companies.create(page.ctx, data)
    except (Invalid, Conflict, ValidationError) as exc:
        errors = {**_errors(exc), **errors}
        company = None
    if company is None:
        message = "Check the fields marked below." if errors else "The company was not added."
        return _new_form(request, page, form.model_dump(), errors, message)
    toast(request, f"{company.name} was added.")
    return redirect(request, f"/companies/{company.id}")


# --- the record page ------------------------------------------------------------------------


def _record(
    request: Request,
    page: Page,
    company_id: uuid.UUID,
    *,
    part: str = "",
    cursor: str | None = None,
    edit: bool = False,
    form: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    conflict: bool = False,
) -> HTMLResponse:
    company = companies.get(page.ctx, company_id)
    defs = fields.definitions(page.ctx, "company")
    activities = timeline_read.company_timeline(
        page.ctx, company_id, limit=TIMELINE_PAGE, cursor=cursor
    )
    staff = people_of(page.ctx, company_id, ListParams(limit=PEOPLE_SHOWN))
    owners = lookups.members(page.ctx)
    edit_values = form or {
        "name": company.name,
        "domain": company.domain,
        "industry": company.industry,
        "size": "" if company.size is None else str(company.size),
        "website": company.website,
        "phone": company.phone,
        "owner_id": str(company.owner_id or ""),
        "tags": ", ".join(t.name for t in company.tags),
        "version": company.version,
    }
    return render(
        request,
        "hub/companies/record.html",
        fragment=FRAGMENTS.get(part),
        title=company.name,
        company=company,
        website=_website(company),
        people=staff,
        person_names={p.id: p.full_name or p.email or "Unnamed" for p in staff.items},
        activities=activities,
        owners=owners,
        owner_names={m.user_id: m.name for m in owners},
        custom_defs=defs,
        custom_values=custom if custom is not None else custom_fields.shown(defs, company.custom),
        show_custom=custom_fields.display,
        edit=edit,
        edit_values=edit_values,
        errors=errors or {},
        error=error,
        conflict=conflict,
        can_write=page.ctx.can("companies:write"),
        can_delete=page.ctx.can("companies:delete"),
        can_log=page.ctx.can("activities:write"),
        quick_kinds=QUICK_KINDS,
    )


def _website(company: Company) -> str | None:
    """Where the header links to: the website as given, else the domain."""
    url = company.website or company.domain
    if not url:
        return None
    return url if url.startswith(("http://", "https://")) else f"https://{url}"


@router.get("/companies/{company_id}", response_class=HTMLResponse)
def company_page(
    request: Request,
    page: Page,
    company_id: uuid.UUID,
    part: str = "",
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    edit: bool = False,
) -> HTMLResponse:
    """The company's page; HTMX asks for the details or the timeline's next page alone."""
    return _record(request, page, company_id, part=part, cursor=cursor, edit=edit)


@router.post("/companies/{company_id}")
def update_company(
    request: Request,
    page: Page,
    company_id: uuid.UUID,
    form: Annotated[CompanyForm, Form()],
    raw: Annotated[FormData, Depends(raw_form)],
) -> Response:
    """Save the details form; a stale form is refused with a clear message, never applied."""
    page.ctx.require("companies:write")
    defs = fields.definitions(page.ctx, "company")
    typed = custom_fields.raw_values(defs, raw)
    try:
        if problems := _form_problems(form):
            found = [FieldError((name,), message, "invalid") for name, message in problems.items()]
            raise Invalid("Check the fields marked below.", errors=found)
        values = company_values(form, for_update=True)
        values["custom"] = custom_fields.from_form(defs, raw)
        patch = CompanyPatch.model_validate(values)
        companies.update(page.ctx, company_id, patch, expected_version=form.version)
    except StaleWrite:
        message = "Someone else changed this company while you were editing; nothing was saved."
        return _record(
            request, page, company_id, part="details", edit=True, form=form.model_dump(),
            custom=typed, error=message, conflict=True,
        )  # fmt: skip
    except (Invalid, Conflict, ValidationError) as exc:
        errors = _errors(exc)
        return _record(
            request, page, company_id, part="details", edit=True, form=form.model_dump(),
            custom=typed, errors=errors, error=None if errors else str(exc),
        )  # fmt: skip
    toast(request, "Saved.")
    if request.headers.get("hx-request"):
        return _record(request, page, company_id, part="details")
    return redirect(request, f"/companies/{company_id}")


class CompanyActivityForm(BaseModel):
    """The company page's quick log: a call, email, meeting or note with the company."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    kind: Literal["call", "email", "meeting", "note"] = "call"
    subject: str = Field(default="", max_length=500)
    body: str = Field(default="", max_length=100_000)


@router.post("/companies/{company_id}/activities")
def log_company_activity(
    request: Request,
    page: Page,
    company_id: uuid.UUID,
    form: Annotated[CompanyActivityForm, Form()],
) -> Response:
    """Log an activity with the company on its timeline; HTMX gets the timeline and the
    figures (out of band) back, with an ``HX-Trigger`` for whatever else listens."""
    company = companies.get(page.ctx, company_id)
    kind = ActivityKind(form.kind)
    try:
        timeline.log(
            page.ctx,
            ActivityIn(
                kind=kind,
                direction=Direction.INTERNAL if kind == ActivityKind.NOTE else Direction.OUTBOUND,
                subject=form.subject or None,
                body=form.body or None,
                company_id=company.id,
            ),
        )
    except Invalid as exc:
        toast(request, exc.detail, "error")
    else:
        toast(request, f"{kind.value.capitalize()} logged with {company.name}.")
    if request.headers.get("hx-request"):
        response = _record(request, page, company.id, part="logged")
        response.headers["HX-Trigger"] = ACTIVITY_LOGGED
        return response
    return redirect(request, f"/companies/{company.id}")


@router.post("/companies/{company_id}/delete")
def delete_company(request: Request, page: Page, company_id: uuid.UUID) -> Response:
    """Move the company to the bin; the toast that follows offers to undo it."""
    company = companies.delete(page.ctx, company_id)
    toast(
        request,
        f"{company.name} was moved to the bin.",
        "info",
        action=f"/companies/{company_id}/restore",
        action_label="Undo",
    )
    return redirect(request, "/companies")


@router.post("/companies/{company_id}/restore")
def restore_company(request: Request, page: Page, company_id: uuid.UUID) -> Response:
    """Bring the company back from the bin (the Undo of a delete)."""
    try:
        company = companies.restore(page.ctx, company_id)
    except Conflict as exc:  # a live company took its domain meanwhile
        toast(request, f"It could not be restored: {exc.detail}", "error")
        return redirect(request, "/companies")
    toast(request, f"{company.name} was restored.")
    return redirect(request, f"/companies/{company_id}")
