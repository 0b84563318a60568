"""Settings pages of every member: their profile and password, and their API tokens; and the
workspace's own settings (admins)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.routing import APIRouter

from rapport.accounts import service as accounts
from rapport.accounts.models import User
from rapport.accounts.service import members, workspace
from rapport.core.errors import Invalid, NotFound
from rapport.core.permissions import granted
from rapport.web.forms import form_errors
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page, set_session_cookie

router = APIRouter()


# --- profile ------------------------------------------------------------------------------


def _profile(
    request: Request,
    page: Page,
    *,
    name: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    user = members.me(page.ctx)
    return render(
        request,
        "accounts/settings_profile.html",
        title="Profile",
        user=user,
        name=user.name if name is None else name,
        errors=errors or {},
        role_label=members.ROLE_LABELS[page.role],
    )


@router.get("/settings/profile")
def profile_page(request: Request, page: Page) -> Response:
    """Your name, email and role; change your name or password."""
    return _profile(request, page)


@router.post("/settings/profile")
def update_profile(
    request: Request, page: Page, name: Annotated[str, Form(max_length=300)] = ""
) -> Response:
    """Change your display name."""
    try:
        members.update_profile(page.ctx, name=name)
    except Invalid as exc:
        return _profile(request, page, name=name, errors=form_errors(exc))
    toast(request, "Your name was saved.")
    return redirect(request, "/settings/profile")


@router.post("/settings/profile/password")
def change_password(
    request: Request,
    page: Page,
    current_password: Annotated[str, Form(max_length=1000)] = "",
    new_password: Annotated[str, Form(max_length=1000)] = "",
    confirm_password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change your password; your other browser sessions end, this one goes on."""
    if new_password != confirm_password:
        return _profile(request, page, errors={"confirm_password": "The two new passwords differ."})
    try:
        epoch = members.change_password(page.ctx, current=current_password, new=new_password)
    except Invalid as exc:
        return _profile(request, page, errors=form_errors(exc))
    toast(request, "Your password was changed. You were signed out everywhere else.")
    response = redirect(request, "/settings/profile")
    assert page.ctx.user_id is not None
    set_session_cookie(request, response, page.ctx.user_id, page.ctx.workspace_id, epoch)
    return response


# --- API tokens ---------------------------------------------------------------------------


def _scope_choices(page: Page) -> list[tuple[str, str]]:
    """The scopes a member may give a token: everything, reading, or single permissions."""
    mine = sorted(granted(page.role))
    return [("*", "Everything your role allows"), ("read", "Read everything")] + [
        (p, p) for p in mine
    ]


def _tokens(
    request: Request,
    page: Page,
    *,
    values: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    created: tuple[str, str] | None = None,
) -> Response:
    tokens = accounts.list_tokens(page.ctx)
    owners: dict[uuid.UUID, User] = {}
    for user_id in {t.user_id for t in tokens}:
        user = page.ctx.session.get(User, user_id)
        if user is not None:
            owners[user_id] = user
    return render(
        request,
        "accounts/settings_tokens.html",
        title="API tokens",
        tokens=tokens,
        owners=owners,
        all_members=page.ctx.can("members:manage"),
        scopes=_scope_choices(page),
        values=values or {"scopes": ["read"]},
        errors=errors or {},
        created=created,
        now=datetime.now(UTC),
    )


@router.get("/settings/tokens")
def tokens_page(request: Request, page: Page) -> Response:
    """Your API tokens (every member's, for admins); create and revoke."""
    page.ctx.require("tokens:manage")
    return _tokens(request, page)


@router.post("/settings/tokens")
async def create_token(request: Request, page: Page) -> Response:
    """Create a token; its secret is shown on the page that answers, once."""
    page.ctx.require("tokens:manage")
    form = await request.form()
    name = str(form.get("name", "")).strip()[:200]
    scopes = [str(s) for s in form.getlist("scopes")][:200]
    expires = str(form.get("expires_on", "")).strip()[:20]
    values: dict[str, object] = {"name": name, "scopes": scopes, "expires_on": expires}
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Name the token after what uses it, e.g. “Zapier”."
    if not scopes:
        errors["scopes"] = "Tick at least one scope."
    expires_at = None
    if expires:
        try:
            expires_at = datetime.combine(datetime.fromisoformat(expires).date(), time(), UTC)
        except ValueError:
            errors["expires_on"] = "Give a date like 2027-06-30."
        else:
            if expires_at <= datetime.now(UTC):
                errors["expires_on"] = "Choose a date in the future."
    if errors:
        return _tokens(request, page, values=values, errors=errors)
    try:
        token, secret = accounts.create_token(
            page.ctx, name=name, scopes=scopes, expires_at=expires_at
        )
    except Invalid as exc:
        return _tokens(request, page, values=values, errors=form_errors(exc))
    return _tokens(request, page, created=(token.name, secret))


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(request: Request, page: Page, token_id: uuid.UUID) -> Response:
    """Revoke a token at once (after the confirmation on the page)."""
    token = accounts.revoke_token(page.ctx, token_id)
    toast(request, f"The token “{token.name}” was revoked; it no longer works.")
    return redirect(request, "/settings/tokens")


# --- workspace ----------------------------------------------------------------------------


def _workspace(
    request: Request,
    page: Page,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    current = workspace.get(page.ctx)
    return render(
        request,
        "accounts/settings_workspace.html",
        title="Workspace",
        values=values
        or {
            "name": current.name,
            "currency": current.currency,
            "time_zone": current.time_zone,
            "country": current.country or "",
        },
        errors=errors or {},
        currencies=workspace.currencies(),
        countries=workspace.countries(),
        time_zones=workspace.time_zones(),
    )


@router.get("/settings/workspace")
def workspace_page(request: Request, page: Page) -> Response:
    """The workspace's name, default currency, time zone and default country."""
    page.ctx.require("workspace:manage")
    return _workspace(request, page)


@router.post("/settings/workspace")
def update_workspace(
    request: Request,
    page: Page,
    name: Annotated[str, Form(max_length=300)] = "",
    currency: Annotated[str, Form(max_length=10)] = "",
    time_zone: Annotated[str, Form(max_length=100)] = "",
    country: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Save the workspace's settings; each wrong field says why."""
    page.ctx.require("workspace:manage")
    values = {"name": name, "currency": currency, "time_zone": time_zone, "country": country}
    try:
        workspace.update(
            page.ctx, name=name, currency=currency, time_zone=time_zone, country=country
        )
    except (Invalid, NotFound) as exc:
        return _workspace(request, page, values=values, errors=form_errors(exc))
    toast(request, "The workspace settings were saved.")
    return redirect(request, "/settings/workspace")
