"""Settings pages for admins: the members (invite, add, role, deactivate) and the teams;
and the page an invite link opens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.routing import APIRouter

from rapport.accounts import service as accounts
from rapport.accounts.service import members, teams
from rapport.core.errors import Conflict, Invalid, RapportError
from rapport.core.permissions import Role
from rapport.web import csrf
from rapport.web.forms import form_errors
from rapport.web.render import redirect, render, toast
from rapport.web.session import AnonSession, Page, set_session_cookie

router = APIRouter()
ROLE_CHOICES = [(r.value, members.ROLE_LABELS[r]) for r in reversed(Role)]


def _members(
    request: Request,
    page: Page,
    *,
    form: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    invite_url: str | None = None,
    invited: members.MemberRow | None = None,
    status_code: int = 200,
) -> Response:
    rows = members.list_members(page.ctx)
    roles = ROLE_CHOICES if page.role is Role.OWNER else ROLE_CHOICES[1:]
    return render(
        request,
        "accounts/settings_members.html",
        title="Members",
        rows=rows,
        roles=roles,
        role_labels={r.value: label for r, label in members.ROLE_LABELS.items()},
        me=page.ctx.user_id,
        form=form,
        values=values or {"role": "member"},
        errors=errors or {},
        invite_url=invite_url,
        invited=invited,
        status_code=status_code,
    )


@router.get("/settings/members")
def members_page(request: Request, page: Page) -> Response:
    """Every member: role, team, status and last sign-in; invite, add, deactivate."""
    page.ctx.require("members:manage")
    return _members(request, page)


@router.post("/settings/members/invite")
def invite(
    request: Request,
    page: Page,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "member",
) -> Response:
    """Invite by link: the page that answers shows the link, once, to copy."""
    page.ctx.require("members:manage")
    values = {"email": email, "name": name, "role": role}
    try:
        row, token = members.invite(page.ctx, email=email, name=name, role=role)
    except (Invalid, Conflict) as exc:
        errors = form_errors(exc) if isinstance(exc, Invalid) else {"email": exc.detail}
        return _members(request, page, form="invite", values=values, errors=errors)
    url = str(request.base_url).rstrip("/") + f"/invite/{token}" if token else None
    if url is None:
        toast(request, f"{row.email} already has an account: they can sign in now.")
    return _members(request, page, invite_url=url, invited=row)


@router.post("/settings/members/new")
def add_member(
    request: Request,
    page: Page,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "member",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Add a member with a password you give them."""
    page.ctx.require("members:manage")
    values = {"email": email, "name": name, "role": role}
    try:
        row = members.add_member(page.ctx, email=email, name=name, role=role, password=password)
    except (Invalid, Conflict) as exc:
        errors = form_errors(exc) if isinstance(exc, Invalid) else {"email": exc.detail}
        return _members(request, page, form="add", values=values, errors=errors)
    toast(request, f"{row.name or row.email} was added; they can sign in with that password.")
    return redirect(request, "/settings/members")


def _refused(request: Request, exc: RapportError) -> Response:
    message = exc.errors[0].message if exc.errors else exc.detail
    toast(request, message, "error")
    return redirect(request, "/settings/members")


@router.post("/settings/members/{user_id}/role")
def change_role(
    request: Request,
    page: Page,
    user_id: uuid.UUID,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Give a member another role (the last owner stays an owner: the page says so)."""
    page.ctx.require("members:manage")
    try:
        row = members.change_role(page.ctx, user_id, role)
    except (Invalid, Conflict) as exc:
        return _refused(request, exc)
    toast(request, f"{row.name or row.email} is now {members.ROLE_LABELS[Role(row.role)]}.")
    return redirect(request, "/settings/members")


@router.post("/settings/members/{user_id}/deactivate")
def deactivate(request: Request, page: Page, user_id: uuid.UUID) -> Response:
    """Deactivate a member: their sessions and tokens stop at once."""
    page.ctx.require("members:manage")
    try:
        row = members.deactivate(page.ctx, user_id)
    except (Invalid, Conflict) as exc:
        return _refused(request, exc)
    toast(request, f"{row.name or row.email} was deactivated; their sessions and tokens stopped.")
    return redirect(request, "/settings/members")


@router.post("/settings/members/{user_id}/reactivate")
def reactivate(request: Request, page: Page, user_id: uuid.UUID) -> Response:
    """Let a deactivated member sign in again."""
    page.ctx.require("members:manage")
    try:
        row = members.reactivate(page.ctx, user_id)
    except (Invalid, Conflict) as exc:
        return _refused(request, exc)
    toast(request, f"{row.name or row.email} can sign in again.")
    return redirect(request, "/settings/members")


# --- teams --------------------------------------------------------------------------------


def _teams(
    request: Request,
    page: Page,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    failed_team: uuid.UUID | None = None,
) -> Response:
    everyone = [m for m in members.list_members(page.ctx) if m.status != "deactivated"]
    return render(
        request,
        "accounts/settings_teams.html",
        title="Teams",
        teams=teams.list_teams(page.ctx),
        everyone=everyone,
        errors=errors or {},
        values=values or {},
        failed_team=failed_team,
    )


@router.get("/settings/teams")
def teams_page(request: Request, page: Page) -> Response:
    """The teams and who is in each."""
    page.ctx.require("members:manage")
    return _teams(request, page)


@router.post("/settings/teams")
async def create_team(request: Request, page: Page) -> Response:
    """A new team with the members ticked."""
    page.ctx.require("members:manage")
    form = await request.form()
    name = str(form.get("name", ""))[:300]
    ids = _ids(form.getlist("member_ids"))
    try:
        team, _ = teams.create_team(page.ctx, name, ids)
    except (Invalid, Conflict) as exc:
        errors = form_errors(exc) if isinstance(exc, Invalid) else {"name": exc.detail}
        return _teams(request, page, errors=errors, values={"name": name})
    toast(request, f"The team “{team.name}” was created.")
    return redirect(request, "/settings/teams")


@router.post("/settings/teams/{team_id}")
async def update_team(request: Request, page: Page, team_id: uuid.UUID) -> Response:
    """Rename a team and set exactly who is in it."""
    page.ctx.require("members:manage")
    form = await request.form()
    name = str(form.get("name", ""))[:300]
    ids = _ids(form.getlist("member_ids"))
    try:
        team = teams.rename_team(page.ctx, team_id, name)
        teams.set_team_members(page.ctx, team_id, ids)
    except (Invalid, Conflict) as exc:
        errors = form_errors(exc) if isinstance(exc, Invalid) else {"name": exc.detail}
        return _teams(request, page, errors=errors, failed_team=team_id)
    toast(request, f"The team “{team.name}” was saved.")
    return redirect(request, "/settings/teams")


def _ids(values: Sequence[object]) -> list[uuid.UUID]:
    found: list[uuid.UUID] = []
    for value in values[:500]:
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


# --- the invite link ----------------------------------------------------------------------


def _invite_form(
    request: Request,
    token: str,
    invitation: members.Invitation | None,
    *,
    name: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "accounts/invite.html",
        title="Join your team",
        csrf_token=csrf.form_token(request),
        token=token,
        invitation=invitation,
        name=name,
        errors=errors or {},
    )


@router.get("/invite/{token}")
def invite_page(request: Request, session: AnonSession, token: str) -> Response:
    """The invitee sets their name and password (or learns the link is spent)."""
    try:
        invitation = members.open_invite(session, token[:2000])
    except Invalid:
        return _invite_form(request, token, None)
    return _invite_form(request, token, invitation, name=invitation.user.name)


@router.post("/invite/{token}")
def accept_invite(
    request: Request,
    session: AnonSession,
    token: str,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Set name and password, spend the link, and land signed in."""
    try:
        invitation = members.accept_invite(session, token[:2000], name=name, password=password)
    except Invalid as exc:
        errors = form_errors(exc)
        if "token" in errors:
            return _invite_form(request, token, None)
        return _invite_form(
            request, token, members.open_invite(session, token), name=name, errors=errors
        )
    user, workspace = invitation.user, invitation.workspace
    toast(request, f"Welcome to {workspace.name}, {user.name}.")
    response = redirect(request, "/")
    set_session_cookie(request, response, user.id, workspace.id, accounts.session_epoch(user))
    return response
