"""Sign in, pick a workspace, sign out, and the first-run setup page."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from rapport.accounts import first_run
from rapport.accounts import service as accounts
from rapport.accounts.models import User
from rapport.core import security
from rapport.core.errors import RapportError, Unauthorized
from rapport.web import csrf
from rapport.web.ratelimit import login_throttle
from rapport.web.render import redirect, render, toast
from rapport.web.session import (
    ENDED_MESSAGE,
    AnonSession,
    clear_session_cookie,
    is_signed_in,
    set_session_cookie,
)

router = APIRouter()
PICK_TICKET_SECONDS = 10 * 60


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in; anything else (another site) becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _pick_serializer() -> URLSafeTimedSerializer:
    return security.signer("rapport-login-pick")


# A form shown again with an error answers 200, as it is the page the user asked for: browsers
# log every 4xx page load as a console error, and htmx swaps no 4xx by default.
def _login_form(
    request: Request,
    *,
    email: str = "",
    next_url: str = "/",
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    return render(
        request,
        "accounts/login.html",
        title="Sign in",
        csrf_token=csrf.form_token(request),
        email=email,
        next_url=next_url,
        error=error,
        notice=notice,
    )


def _signed_in(request: Request, user: User, workspace_id: uuid.UUID, url: str) -> Response:
    response = redirect(request, url)
    set_session_cookie(request, response, user.id, workspace_id, accounts.session_epoch(user))
    return response


@router.get("/login")
def login_page(
    request: Request, session: AnonSession, next: str | None = None, ended: str | None = None
) -> Response:
    """The sign-in form (the first-run page instead, while nobody owns a workspace)."""
    if first_run.needs_setup(session):
        return redirect(request, "/setup")
    if is_signed_in(request, session):
        return redirect(request, safe_next(next))
    notice = ENDED_MESSAGE if ended else None
    return _login_form(request, next_url=safe_next(next), notice=notice)


@router.post("/login")
def login(
    request: Request,
    session: AnonSession,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; sign in to the only workspace, or let the user pick one."""
    ip, next_url = _client_ip(request), safe_next(next)
    wait = login_throttle.retry_after(email, ip)
    if wait:
        minutes = max(1, round(wait / 60))
        message = f"Too many failed attempts. Try again in about {minutes} minute(s)."
        return _login_form(request, email=email, next_url=next_url, error=message)
    try:
        user = accounts.authenticate_password(session, email, password)
    except Unauthorized:
        login_throttle.failed(email, ip)
        return _login_form(
            request, email=email, next_url=next_url, error="Wrong email or password."
        )
    login_throttle.succeeded(email, ip)
    memberships = accounts.workspaces_of(session, user.id)
    if not memberships:
        message = "Your account is not a member of any workspace; ask an administrator."
        return _login_form(request, email=email, next_url=next_url, error=message)
    if len(memberships) == 1:
        return _signed_in(request, user, memberships[0][0].id, next_url)
    ticket = _pick_serializer().dumps({"user": str(user.id)})
    return render(
        request,
        "accounts/pick_workspace.html",
        title="Choose a workspace",
        csrf_token=csrf.form_token(request),
        user=user,
        memberships=memberships,
        ticket=ticket,
        next_url=next_url,
    )


@router.post("/login/workspace")
def pick_workspace(
    request: Request,
    session: AnonSession,
    ticket: Annotated[str, Form(max_length=1000)],
    workspace: Annotated[uuid.UUID, Form()],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Finish signing in to the workspace chosen after the password check."""
    try:
        data: Any = _pick_serializer().loads(ticket, max_age=PICK_TICKET_SECONDS)
        user_id = uuid.UUID(str(data["user"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return _login_form(request, error="That sign-in took too long; please sign in again.")
    user = session.get(User, user_id)
    if user is None or accounts.member_role(session, workspace, user_id) is None:
        return _login_form(request, error="You are not a member of that workspace.")
    return _signed_in(request, user, workspace, safe_next(next))


@router.post("/logout")
def logout(request: Request) -> Response:
    """Sign out of this browser."""
    toast(request, "You are signed out.", "info")
    response = redirect(request, "/login")
    clear_session_cookie(response)
    return response


def _setup_form(
    request: Request,
    session: AnonSession,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "accounts/setup.html",
        title="Set up Rapport",
        csrf_token=csrf.form_token(request),
        workspace=first_run.ownerless_workspace(session),
        values=values or {},
        errors=errors or {},
        error=error,
    )


@router.get("/setup")
def setup_page(request: Request, session: AnonSession) -> Response:
    """First run: create the workspace owner (only while there is none)."""
    if not first_run.needs_setup(session):
        return redirect(request, "/login")
    return _setup_form(request, session)


@router.post("/setup")
def setup(
    request: Request,
    session: AnonSession,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    workspace_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create the owner (and the workspace, if ``rapport init`` made none) and sign them in."""
    if not first_run.needs_setup(session):
        return redirect(request, "/login")
    values = {"name": name, "email": email, "workspace_name": workspace_name}
    try:
        user, workspace = first_run.complete_setup(
            session, workspace_name=workspace_name, name=name, email=email, password=password
        )
    except RapportError as exc:
        errors = {str(e.loc[0]): e.message for e in exc.errors if e.loc}
        return _setup_form(
            request,
            session,
            values=values,
            errors=errors,
            error=None if errors else exc.detail,
        )
    toast(request, f"Welcome to Rapport, {user.name or user.email}. {workspace.name} is ready.")
    return _signed_in(request, user, workspace.id, "/")
