"""Bulk actions from the people and companies lists: the selected rows are tagged, untagged,
given an owner or moved to the bin; a bulk delete's toast offers Undo.

The list posts a plain form (row checkboxes named ``ids``, the pressed button's ``action``);
the answer is a redirect back to the list as it was, with a toast saying what happened.
With ``scope=all`` the action is on every record the list's filter keeps (its query string in
``scope_query``), re-run here: all or nothing, and refused past ``MAX_MATCHING`` records.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from rapport.core.errors import Conflict, Invalid, NotFound
from rapport.core.listing import all_matching
from rapport.core.records import record_type as kind_of
from rapport.hub import lookups
from rapport.hub.service import bulk_actions
from rapport.hub.views import companies as companies_views
from rapport.hub.views import people as people_views
from rapport.web.listing import back_to, parse_ids
from rapport.web.render import redirect, toast
from rapport.web.session import Page

router = APIRouter()
RecordType = Literal["person", "company"]
_LISTS: dict[str, str] = {"person": "/people", "company": "/companies"}
_MATCHING = {"person": people_views.matching, "company": companies_views.matching}


def count_of(record_type: str, n: int) -> str:
    """ "1 person", "3 people", "1 company", "2 companies"."""
    if record_type == "person":
        return f"{n:,} {'person' if n == 1 else 'people'}"
    return f"{n:,} {'company' if n == 1 else 'companies'}"


def _all_matching(page: Page, record_type: RecordType, scope_query: str) -> list[uuid.UUID]:
    """Every record the list's filter keeps, or Invalid saying how many past the cap."""
    _state, params, _error = _MATCHING[record_type](page, dict(parse_qsl(scope_query)))
    noun = "people" if record_type == "person" else "companies"
    kind = kind_of(record_type)
    return all_matching(page.ctx, kind, params, noun=noun, cap=bulk_actions.MAX_MATCHING)


def _act(
    request: Request,
    page: Page,
    record_type: RecordType,
    *,
    ids: list[str],
    action: str,
    tags: str,
    owner_id: str,
    next_url: str,
    scope: str = "",
    scope_query: str = "",
) -> Response:
    back = back_to(_LISTS[record_type], next_url)
    chosen = parse_ids(ids)
    if scope == "all":
        try:
            chosen = _all_matching(page, record_type, scope_query)
        except Invalid as exc:
            toast(request, f"Nothing was changed. {exc.detail}.", "error")
            return redirect(request, back)
    if not chosen:
        toast(request, "Select at least one row first.", "error")
        return redirect(request, back)
    if action not in bulk_actions.ACTIONS or action == "restore":
        toast(request, "Choose what to do with the selected rows.", "error")
        return redirect(request, back)
    names = [t.strip() for t in tags.split(",") if t.strip()]
    owner = parse_ids([owner_id]) if owner_id else None
    if owner_id and not owner:
        toast(request, "Choose an owner from the list.", "error")
        return redirect(request, back)
    if action == "delete" and page.ctx.request_id is None:
        page.ctx.request_id = uuid.uuid4().hex  # names the batch for its Undo
    try:
        result = bulk_actions.run(
            page.ctx,
            record_type,
            action,  # type: ignore[arg-type]  # checked against ACTIONS above
            chosen,
            tag_names=names,
            owner_id=owner[0] if owner else None,
            limit=bulk_actions.MAX_MATCHING if scope == "all" else bulk_actions.MAX_RECORDS,
        )
    except (Invalid, NotFound) as exc:
        message = exc.errors[0].message if exc.errors else exc.detail
        toast(request, f"Nothing was changed: {message}.", "error")
        return redirect(request, back)
    changed = count_of(record_type, len(result.changed))
    quoted = ", ".join(f"“{n}”" for n in names)
    if action == "tag":
        toast(request, f"Tagged {changed} with {quoted}.")
    elif action == "untag":
        toast(request, f"Removed {quoted} from {changed}.")
    elif action == "assign":
        who = (
            {m.user_id: m.name for m in lookups.members(page.ctx)}.get(owner[0]) if owner else None
        )
        toast(
            request, f"{changed} now owned by {who}." if who else f"Owner removed from {changed}."
        )
    else:
        noun = "people" if record_type == "person" else "companies"
        toast(
            request,
            f"{changed} moved to the bin.",
            "info",
            action=f"/{noun}/bulk/undo/{page.ctx.request_id}",
            action_label="Undo",
        )
    return redirect(request, back)


def _undo(request: Request, page: Page, record_type: RecordType, batch: str) -> Response:
    try:
        result = bulk_actions.undo_delete(page.ctx, record_type, batch)
    except (NotFound, Conflict) as exc:
        toast(request, f"It could not be undone: {exc.detail}", "error")
    else:
        toast(request, f"{count_of(record_type, len(result.changed))} restored.")
    return redirect(request, _LISTS[record_type])


Ids = Annotated[list[str], Form(max_length=bulk_actions.MAX_RECORDS + 1)]
Text = Annotated[str, Form(max_length=2000)]
Scope = Annotated[Literal["", "all"], Form()]
Batch = Annotated[str, Path(max_length=64)]


@router.post("/people/bulk")
def people_bulk(request: Request, page: Page, ids: Ids = [], action: Text = "",  # noqa: B006
                tags: Text = "", owner_id: Text = "", next: Text = "", scope: Scope = "",
                scope_query: Text = "") -> Response:  # fmt: skip
    """Tag, untag, assign or delete the people selected in the list (or, with
    ``scope=all``, every person its filter keeps)."""
    return _act(request, page, "person", ids=ids, action=action, tags=tags,
                owner_id=owner_id, next_url=next, scope=scope,
                scope_query=scope_query)  # fmt: skip


@router.post("/people/bulk/undo/{batch}")
def people_bulk_undo(request: Request, page: Page, batch: Batch) -> Response:
    """Bring back the people of one bulk delete."""
    return _undo(request, page, "person", batch)


@router.post("/companies/bulk")
def companies_bulk(request: Request, page: Page, ids: Ids = [], action: Text = "",  # noqa: B006
                   tags: Text = "", owner_id: Text = "", next: Text = "", scope: Scope = "",
                   scope_query: Text = "") -> Response:  # fmt: skip
    """Tag, untag, assign or delete the companies selected in the list (or, with
    ``scope=all``, every company its filter keeps)."""
    return _act(request, page, "company", ids=ids, action=action, tags=tags,
                owner_id=owner_id, next_url=next, scope=scope,
                scope_query=scope_query)  # fmt: skip


@router.post("/companies/bulk/undo/{batch}")
def companies_bulk_undo(request: Request, page: Page, batch: Batch) -> Response:
    """Bring back the companies of one bulk delete."""
    return _undo(request, page, "company", batch)
