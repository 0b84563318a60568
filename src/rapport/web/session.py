"""The signed-in browser: the session cookie, and the dependency every app page takes.

A page request is one unit of work, the same as an API request's (``core/uow.py``): the
dependency opens a session scoped to the signed-in user's workspace, commits if the view
succeeds and rolls back otherwise. A request without a valid session raises
:class:`LoginRequired`, which :func:`login_redirect` turns into a trip to the sign-in page.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from rapport.core import security
from rapport.core.context import Context
from rapport.core.db import transaction
from rapport.core.identity import identities
from rapport.core.permissions import Role
from rapport.core.uow import begin_request, request_transaction
from rapport.web import csrf


class LoginRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to /login, never a 401.
    ``ended``: the browser held a session that no longer works (the member was deactivated,
    their password changed, they left the workspace); the sign-in page says so."""

    def __init__(self, *, ended: bool = False) -> None:
        super().__init__("sign-in required")
        self.ended = ended


ENDED_MESSAGE = "Your session has ended: sign in again, or ask an administrator for access."


@dataclass(frozen=True)
class UserCard:
    id: uuid.UUID
    email: str
    name: str | None


@dataclass(frozen=True)
class WorkspaceCard:
    id: uuid.UUID
    name: str


@dataclass
class WebSession:
    """The signed-in user, their workspace and role, and the token their forms echo."""

    ctx: Context
    user: UserCard
    workspace: WorkspaceCard
    csrf_token: str

    @property
    def role(self) -> Role:
        return self.ctx.role


def set_session_cookie(
    request: Request,
    response: Response,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    epoch: str = "0",
) -> None:
    """Sign the browser in, with a fresh CSRF token (never reuse the pre-sign-in one).
    ``epoch`` is the user's password epoch (``Member.session_epoch``): a password change
    moves it, and every cookie signed with the old one stops working."""
    value = security.sign_session(
        {
            "user": str(user_id),
            "workspace": str(workspace_id),
            "csrf": csrf.new_token(),
            "epoch": epoch,
        }
    )
    response.set_cookie(
        security.SESSION_COOKIE,
        value,
        max_age=security.SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=csrf.is_https(request),
        path="/",
    )
    response.delete_cookie(csrf.ANON_COOKIE, path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(security.SESSION_COOKIE, path="/")


def _session_data(request: Request) -> dict[str, Any] | None:
    value = request.cookies.get(security.SESSION_COOKIE)
    data = security.read_session(value) if value else None
    if not data or not {"user", "workspace", "csrf"} <= data.keys():
        return None
    return data


def _load(session: Session, data: dict[str, Any]) -> tuple[UserCard, WorkspaceCard, Role] | None:
    try:
        user_id, workspace_id = uuid.UUID(data["user"]), uuid.UUID(data["workspace"])
    except (TypeError, ValueError):
        return None
    member = identities().active_member(session, workspace_id, user_id)
    if member is None or str(data.get("epoch", "0")) != member.session_epoch:
        return None
    user = UserCard(member.user_id, member.email, member.name)
    return user, WorkspaceCard(member.workspace_id, member.workspace_name), member.role


def is_signed_in(request: Request, session: Session) -> bool:
    """True if the browser holds a valid session for an active member."""
    data = _session_data(request)
    return data is not None and _load(session, data) is not None


def web_session(request: Request) -> Iterator[WebSession]:
    """The signed-in user's unit of work; LoginRequired when the cookie is missing or stale."""
    data = _session_data(request)
    if data is None:
        raise LoginRequired
    with request_transaction(writes=False) as session:
        loaded = _load(session, data)
        if loaded is None:
            raise LoginRequired(ended=True)
        user, workspace, role = loaded
        session.info["workspace_id"] = workspace.id
        ctx = Context(
            session=session,
            workspace_id=workspace.id,
            user_id=user.id,
            role=role,
            actor_type="user",
            request_id=request.headers.get("x-request-id"),
        )
        begin_request(request, ctx)
        page = WebSession(ctx=ctx, user=user, workspace=workspace, csrf_token=data["csrf"])
        request.state.web = page
        request.state.shell = _shell(page)
        yield page


def shell_identity(workspace_name: str, user_name: str | None, email: str, role: Role,
                   csrf_token: str) -> SimpleNamespace:  # fmt: skip
    """What the shell shows of the signed-in user, copied out of the ORM (an error page is
    rendered after the request's session rolled back)."""
    return SimpleNamespace(
        workspace=SimpleNamespace(name=workspace_name),
        user=SimpleNamespace(name=user_name, email=email),
        role=role,
        csrf_token=csrf_token,
    )


def _shell(page: WebSession) -> SimpleNamespace:
    return shell_identity(
        page.workspace.name, page.user.name, page.user.email, page.role, page.csrf_token
    )


def shell_from_cookie(request: Request) -> SimpleNamespace | None:
    """The shell's names for a request that opened no page session (an unknown URL)."""
    data = _session_data(request)
    if data is None:
        return None
    with transaction(unscoped=True) as session:
        loaded = _load(session, data)
        if loaded is None:
            return None
        user, workspace, role = loaded
        return shell_identity(workspace.name, user.name, user.email, role, data["csrf"])


def anonymous_session() -> Iterator[Session]:
    """A unit of work with no workspace yet: sign-in and first-run setup."""
    with transaction(unscoped=True) as session:
        yield session


# scope="function": commit when the view returns, before the response leaves. With the default
# ("request") FastAPI runs the code after ``yield`` once the response has been sent, so a
# browser following a redirect could arrive before the commit and miss what was just written.
Page = Annotated[WebSession, Depends(web_session, scope="function")]
AnonSession = Annotated[Session, Depends(anonymous_session, scope="function")]


def login_redirect(request: Request, _exc: Exception) -> Response:
    """Send a signed-out browser to the sign-in page, then back to where it was going."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.headers.get("hx-request"):
        current = urlsplit(request.headers.get("hx-current-url", ""))
        target = current.path + ("?" + current.query if current.query else "")
    location = "/login" if target in ("/", "") else f"/login?next={quote(target, safe='')}"
    if isinstance(_exc, LoginRequired) and _exc.ended:
        location += ("&" if "?" in location else "?") + "ended=1"
    if request.headers.get("hx-request"):
        # An HTMX swap would otherwise follow the redirect and paste the login page into a
        # fragment; HX-Redirect makes htmx load the sign-in page as a whole page instead
        # (204, not 401: the browser would log a 401 as a console error before redirecting).
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)
