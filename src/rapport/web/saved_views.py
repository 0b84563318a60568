"""Saved views: a user names a list's search, filters, sort and columns, to reopen in one click,
and may share it with the whole workspace. Any registered record type (core/records.py) has
them: its read permission opens a view, its write permission shares one."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import or_, select

from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import Invalid, NotFound, invalid
from rapport.core.events import record
from rapport.core.records import RecordType, record_type
from rapport.core.topics import SAVED_VIEW_CREATED, SAVED_VIEW_DELETED, SAVED_VIEW_UPDATED
from rapport.web.models import SavedView
from rapport.web.render import redirect, toast
from rapport.web.session import Page

MAX_QUERY = 2000


def _listed(object_type: str) -> RecordType[Any]:
    """The record type a view lists; Invalid for a name no domain registers."""
    try:
        return record_type(object_type)
    except LookupError:
        raise invalid(("object_type",), f"no saved views for {object_type!r}") from None


def _require_read(ctx: Context, object_type: str) -> None:
    ctx.require(_listed(object_type).read)


def clean_query(query: str, allowed: Collection[str]) -> str:
    """The list parameters worth keeping, in a stable order; paging state is dropped."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=False) if k in allowed and v]
    return urlencode(pairs)


def list_views(ctx: Context, object_type: str) -> list[SavedView]:
    """The user's own views and the workspace's shared ones, by name."""
    _require_read(ctx, object_type)
    return list(
        ctx.session.scalars(
            select(SavedView)
            .where(SavedView.object_type == object_type)
            .where(or_(SavedView.user_id == ctx.user_id, SavedView.is_shared.is_(True)))
            .order_by(SavedView.name, SavedView.id)
        )
    )


def get_view(ctx: Context, view_id: uuid.UUID) -> SavedView:
    """A view the user may open (their own, or a shared one); NotFound otherwise."""
    view = get_scoped(ctx.session, SavedView, view_id)
    if view is None or (view.user_id != ctx.user_id and not view.is_shared):
        raise NotFound("No saved view with this id")
    _require_read(ctx, view.object_type)
    return view


def save_view(
    ctx: Context,
    object_type: str,
    *,
    name: str,
    query: str,
    allowed: Collection[str],
    shared: bool = False,
) -> SavedView:
    """Save (or, under a name the user already used, replace) a view of a list."""
    _require_read(ctx, object_type)
    if ctx.user_id is None:
        raise invalid(("user",), "only a signed-in user can save a view")
    name = " ".join(name.split())
    if not name:
        raise invalid(("name",), "Give the view a name")
    if len(name) > 100:
        raise invalid(("name",), "Keep the name under 100 characters")
    query = clean_query(query, allowed)
    if len(query) > MAX_QUERY:
        raise invalid(("query",), "This view has too many filters to save")
    if shared:
        ctx.require(_listed(object_type).write)  # read-only members keep their views private
    view = ctx.session.scalars(
        select(SavedView).where(
            SavedView.object_type == object_type,
            SavedView.user_id == ctx.user_id,
            SavedView.name == name,
        )
    ).first()
    topic = SAVED_VIEW_UPDATED
    if view is None:
        view = SavedView(
            workspace_id=ctx.workspace_id,
            user_id=ctx.user_id,
            object_type=object_type,
            name=name,
            query="",
            is_shared=False,
        )
        ctx.session.add(view)
        topic = SAVED_VIEW_CREATED
    changes = {
        k: (getattr(view, k), v)
        for k, v in (("query", query), ("is_shared", shared))
        if getattr(view, k) != v
    }
    view.query, view.is_shared = query, shared
    ctx.session.flush()
    record(ctx, topic, view.id, {"name": (None, name), **changes})
    return view


def delete_view(ctx: Context, view_id: uuid.UUID) -> SavedView:
    """Delete a view: your own, or, for admins, a shared one."""
    view = get_view(ctx, view_id)
    if view.user_id != ctx.user_id and not ctx.can("workspace:manage"):
        raise NotFound("No saved view of yours with this id")
    ctx.session.delete(view)
    ctx.session.flush()
    record(ctx, SAVED_VIEW_DELETED, view.id, {"name": (view.name, None)})
    return view


# --- the list pages' save / delete forms ------------------------------------------------------


def view_url(view: SavedView, list_path: str) -> str:
    """Where a saved view opens: its list query, marked so the list shows which view it is."""
    query = f"{view.query}&" if view.query else ""
    return f"{list_path}?{query}view={view.id}"


def form_routes(object_type: str, list_path: str, allowed: Collection[str]) -> APIRouter:
    """The routes behind a list page's saved views bar (``hub/people/_views_bar.html``):
    ``POST <list_path>/views`` saves the list as it is (``allowed``: the parameters a view
    keeps) and ``POST <list_path>/views/{id}/delete`` deletes one; both go back to the list."""
    router = APIRouter()

    @router.post(f"{list_path}/views", name=f"save_{object_type}_view")
    def save(
        request: Request,
        page: Page,
        name: Annotated[str, Form(max_length=200)] = "",
        query: Annotated[str, Form(max_length=4000)] = "",
        shared: Annotated[bool, Form()] = False,
    ) -> Response:
        """Save the list as it is; on a bad name, back to the list (as it was) with the reason."""
        try:
            saved = save_view(
                page.ctx, object_type, name=name, query=query, allowed=allowed, shared=shared
            )
        except Invalid as exc:
            toast(request, exc.detail, "error")
            cleaned = clean_query(query, allowed)
            return redirect(request, list_path + ("?" + cleaned if cleaned else ""))
        toast(request, f"View “{saved.name}” saved{' and shared' if saved.is_shared else ''}.")
        return redirect(request, view_url(saved, list_path))

    @router.post(f"{list_path}/views/{{view_id}}/delete", name=f"delete_{object_type}_view")
    def delete(request: Request, page: Page, view_id: uuid.UUID) -> Response:
        """Delete a saved view (your own; admins may delete shared ones)."""
        deleted = delete_view(page.ctx, view_id)
        toast(request, f"View “{deleted.name}” deleted.", "info")
        return redirect(request, list_path)

    return router
