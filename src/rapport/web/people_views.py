"""The people list and the form that adds a person."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from rapport.core.errors import Conflict, Invalid
from rapport.core.filtering import parse_query_params
from rapport.core.pagination import Page as ResultPage
from rapport.hub.models import LifecycleStage, Person
from rapport.hub.schemas import PersonIn
from rapport.hub.service import people, tags
from rapport.hub.service.common import ListParams
from rapport.hub.service.people_list import DEFAULT_SORT, FIELDS, list_people
from rapport.web import lookups, saved_views
from rapport.web.forms import PersonForm, form_errors, person_values
from rapport.web.listing import Column, ListState
from rapport.web.models import SavedView
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
PAGE_SIZE = 50
COLUMNS = (
    Column("email", "Email"),
    Column("phone", "Phone"),
    Column("company", "Company"),
    Column("job_title", "Job title"),
    Column("stage", "Stage"),
    Column("owner", "Owner"),
    Column("source", "Source"),
    Column("created", "Created", "created_at"),
    Column("updated", "Updated", "updated_at"),
)
DEFAULT_COLUMNS = ("email", "company", "job_title", "stage", "owner", "updated")
NAME_COLUMN = Column("name", "Name", "full_name")
FILTER_FIELDS = {"stage": "lifecycle_stage", "tag": "tag", "owner": "owner_id"}
VIEW_PARAMS = ("q", "sort", "stage", "tag", "owner", "cols")  # what a saved view keeps
STAGES = [(s.value, s.value.replace("_", " ").capitalize()) for s in LifecycleStage]


def _state(q: str, sort: str, stage: str, tag: str, owner: str, cols: list[str]) -> ListState:
    return ListState(
        path="/people",
        columns=COLUMNS,
        default_columns=DEFAULT_COLUMNS,
        default_sort=DEFAULT_SORT,
        q=q.strip(),
        sort=sort,
        filters={"stage": stage, "tag": tag, "owner": owner},
        cols=[c for c in cols if any(c == col.key for col in COLUMNS)],
    )


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
) -> HTMLResponse:
    """People, sorted and filtered from the URL; HTMX gets the results or the next rows."""
    state = _state(q, sort, stage, tag, owner, cols)
    error = None
    try:
        node = parse_query_params(state.service_filters(FILTER_FIELDS), FIELDS)
        params = ListParams(
            limit=PAGE_SIZE, cursor=cursor, sort=sort or None, filter=node, q=state.q or None
        )
        result = list_people(page.ctx, params)
    except Invalid as exc:  # a hand-edited URL: show the message, not a problem document
        error, result = exc.detail, ResultPage[Person](items=[], next_cursor=None, has_more=False)
    return render(
        request,
        "people/list.html",
        fragment="people/_rows.html" if part == "rows" else "people/_results.html",
        title="People",
        state=state,
        name_column=NAME_COLUMN,
        result=result,
        error=error,
        companies=lookups.company_names(page.ctx, (p.company_id for p in result.items)),
        owners={m.user_id: m.name for m in lookups.members(page.ctx)},
        stages=STAGES,
        tag_names=[t.name for t in tags.list_tags(page.ctx, limit=200).items],
        can_write=page.ctx.can("people:write"),
        views=saved_views.list_views(page.ctx, "person"),
        active_view=view,
        user_id=page.user.id,
        can_manage=page.ctx.can("workspace:manage"),
    )


def view_url(view: SavedView) -> str:
    """Where a saved view opens: its list query, marked so the list shows which view it is."""
    return f"/people?{view.query}&view={view.id}" if view.query else f"/people?view={view.id}"


@router.post("/people/views")
def save_people_view(
    request: Request,
    page: Page,
    name: Annotated[str, Form(max_length=200)] = "",
    query: Annotated[str, Form(max_length=4000)] = "",
    shared: Annotated[bool, Form()] = False,
) -> Response:
    """Save the list as it is (search, filters, sort, columns) under a name."""
    try:
        saved = saved_views.save_view(
            page.ctx, "person", name=name, query=query, allowed=VIEW_PARAMS, shared=shared
        )
    except Invalid as exc:
        toast(request, exc.detail, "error")
        cleaned = saved_views.clean_query(query, VIEW_PARAMS)
        return redirect(request, "/people" + ("?" + cleaned if cleaned else ""))
    toast(request, f"View “{saved.name}” saved{' and shared' if saved.is_shared else ''}.")
    return redirect(request, view_url(saved))


@router.post("/people/views/{view_id}/delete")
def delete_people_view(request: Request, page: Page, view_id: uuid.UUID) -> Response:
    """Delete a saved view (your own; admins may delete shared ones)."""
    deleted = saved_views.delete_view(page.ctx, view_id)
    toast(request, f"View “{deleted.name}” deleted.", "info")
    return redirect(request, "/people")


def _new_form(request: Request, page: Page, values: dict[str, Any], errors: dict[str, str],
              error: str | None = None) -> HTMLResponse:  # fmt: skip
    return render(
        request,
        "people/new.html",
        title="Add person",
        values=values,
        errors=errors,
        error=error,
        stages=STAGES,
        members=lookups.members(page.ctx),
    )


@router.get("/people/new", response_class=HTMLResponse)
def new_person_form(request: Request, page: Page) -> HTMLResponse:
    """The form that adds a person."""
    page.ctx.require("people:write")
    return _new_form(request, page, {"lifecycle_stage": "lead"}, {})


@router.post("/people/new")
def create_person(request: Request, page: Page, form: Annotated[PersonForm, Form()]) -> Response:
    """Add a person; the form comes back with messages next to the fields it could not take."""
    try:
        person = people.create(page.ctx, PersonIn.model_validate(person_values(form)))
    except (Invalid, Conflict, ValidationError) as exc:
        errors = form_errors(exc)
        message = "Check the fields marked below." if errors else str(exc)
        return _new_form(request, page, form.model_dump(), errors, message)
    toast(request, f"{person.full_name or person.email} was added.")
    return redirect(request, f"/people/{person.id}")
