"""FastAPI dependencies: one request is one unit of work, run as one authenticated Context."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated, cast

from fastapi import Depends, Header, Request
from fastapi.concurrency import contextmanager_in_threadpool
from sqlalchemy.orm import Session

from rapport.core import csrf, security
from rapport.core.context import Context
from rapport.core.errors import StaleWrite, Unauthorized
from rapport.core.identity import Principal, identities
from rapport.core.uow import begin_request, request_transaction


def _principal(request: Request, session: Session) -> Principal:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use 'Authorization: Bearer <token>'")
        return identities().authenticate_token(session, token.strip())
    cookie = request.cookies.get(security.SESSION_COOKIE)
    data = security.read_session(cookie) if cookie else None
    if data and "user" in data and "workspace" in data:
        # A browser attaches this cookie to any site's request, so a cookie-authenticated
        # write must also prove it comes from our pages (CSRF): X-CSRF-Token must match the
        # session's token. Bearer tokens are never attached automatically and need no proof.
        csrf.check_header(request, data)
        user_id, workspace_id = uuid.UUID(data["user"]), uuid.UUID(data["workspace"])
        role = identities().member_role(session, workspace_id, user_id)
        if role is not None:
            return Principal(user_id, workspace_id, role, None, "user")
    raise Unauthorized("Sign in or send 'Authorization: Bearer <token>'")


# What ``Ctx`` resolves to on a route that runs in one hop (``core.api.OneHopRoute``): the
# route's own thread builds the real Context, so resolving the dependency costs nothing.
ONE_HOP = "rapport.one_hop"
PENDING = cast(Context, object())


@contextmanager
def request_context(request: Request) -> Iterator[Context]:
    """Authenticate, then yield a Context whose session is scoped to the caller's workspace.
    Commits once if the route succeeded, rolls back otherwise (``core.uow``)."""
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    with request_transaction(writes=writes) as session:
        principal = _principal(request, session)
        if principal.token_to_touch is not None:
            identities().touch_token(session if writes else None, principal.token_to_touch)
        session.info["workspace_id"] = principal.workspace_id
        ctx = Context(
            session=session,
            workspace_id=principal.workspace_id,
            user_id=principal.user_id,
            role=principal.role,
            scopes=principal.scopes,
            actor_type=principal.actor_type,
            request_id=request.headers.get("x-request-id"),
        )
        begin_request(request, ctx)
        yield ctx


async def context(request: Request) -> AsyncIterator[Context]:
    """The request's Context (see :func:`request_context`), opened and closed in the
    threadpool; :data:`PENDING` on a one-hop route, whose thread opens it itself."""
    if request.scope.get(ONE_HOP):
        yield PENDING
        return
    async with contextmanager_in_threadpool(request_context(request)) as ctx:
        yield ctx


# scope="function": commit before the response leaves, so a client never sees a write
# that is not yet durable, and a failed commit is reported instead of silently lost.
Ctx = Annotated[Context, Depends(context, scope="function")]


def if_match(if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> int | None:
    """The version a client last saw, from an ETag it sends back (``"3"`` or ``W/"3"``).

    Anything that is not one of our entity tags can never match the record's current one, so
    (RFC 9110, 13.1.1) the precondition fails: 412, not 400."""
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/")
    if len(value) < 3 or value[0] != '"' or value[-1] != '"' or not value[1:-1].isdigit():
        raise StaleWrite(
            f"If-Match {if_match!r} matches no version of this record; send the ETag this API"
            " gave you, such as '\"3\"'"
        )
    return int(value[1:-1])


IfMatch = Annotated[int | None, Depends(if_match)]


def etag(version: int) -> str:
    return f'"{version}"'
