"""``Idempotency-Key`` on POST: a retried request gets the first answer instead of a second write.

The contract: for one credential and one key, the write happens at most once. A retry gets the
first answer replayed (``Idempotent-Replayed: true``); a retry while the first is still running
gets 409 with ``Retry-After``; the same key with another body or path is a 422; a key whose
request failed (an error, a crash of the server or of the database) can be used again.

How: the key is claimed *inside the request's own transaction* (see ``rapport.core.deps``), and
the response is written into that same transaction just before it commits. So the claim, the
record and the stored answer commit together or not at all: a request that fails or dies rolls
its claim back with everything else, and no window exists in which the record is committed but
the answer is not. A concurrent twin blocks on the unique ``(scope, key)`` row until the first
commits (then replays its answer) or rolls back (then runs itself); on PostgreSQL it waits at
most ``CLAIM_WAIT_MS`` before answering 409, on SQLite the write lock serialises them anyway.
Keys are scoped to the credential that sent them, so one client can never replay (or even
detect) another's key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import String, Text, UniqueConstraint, delete, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.db import Base, HasId
from rapport.core.errors import BadRequest, Conflict, RapportError

HEADER = "Idempotency-Key"
CLAIM_WAIT_MS = 5_000  # PostgreSQL: how long a twin waits for the first request to finish
RETRY_AFTER_SECONDS = 1
_KEPT_HEADERS = {"content-type", "etag", "location"}


class IdempotencyKey(HasId, Base):
    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(default=None)
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    response_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("scope", "key"),)


class InProgress(Conflict):
    """Another request with this key is still running."""

    code, title = "idempotency-in-progress", "A request with this Idempotency-Key is in progress"
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


class KeyReused(RapportError):
    status, code, title = 422, "idempotency-key-reused", "Idempotency-Key used for another request"


@dataclass(frozen=True)
class Pending:
    """A request that sent a key, as read before its handler runs."""

    scope: str
    key: str
    fingerprint: str


@dataclass
class Claim:
    """A key this request's transaction holds; the answer is written into it on success."""

    row_id: uuid.UUID
    session: Session


class Replay(Exception):
    """Raised from the request's dependency when the key already has a stored answer."""

    def __init__(self, response: Response) -> None:
        super().__init__("replay")
        self.response = response


def _scope(request: Request) -> str:
    credential = request.headers.get("authorization") or request.cookies.get("rapport_session", "")
    return hashlib.sha256(credential.encode()).hexdigest()


class IdempotentRoute(APIRoute):
    """A route that honours ``Idempotency-Key`` on POST (with ``deps.Ctx``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            key = request.headers.get(HEADER)
            if request.method != "POST" or key is None:
                return await handler(request)
            if not 0 < len(key) <= 255:
                raise BadRequest("Idempotency-Key must be 1 to 255 characters")
            body = await request.body()
            fingerprint = hashlib.sha256(
                request.method.encode() + request.url.path.encode() + b"\n" + body
            ).hexdigest()
            request.state.idempotency = Pending(_scope(request), key, fingerprint)
            try:
                response = await handler(request)
            except Replay as replay:
                return replay.response
            claim: Claim | None = getattr(request.state, "idempotency_claim", None)
            if claim is not None:
                _store(claim, response)
            return response

        return route


def claim(session: Session, pending: Pending) -> Claim:
    """Claim the key in ``session``'s transaction, or raise :class:`Replay`, :class:`InProgress`
    or :class:`KeyReused`. Called by the request's unit of work before the handler runs."""
    cutoff = utcnow() - timedelta(hours=get_settings().idempotency_ttl_hours)
    mine = (IdempotencyKey.scope == pending.scope, IdempotencyKey.key == pending.key)
    # An expired key, or one left without an answer by an older release, is free again.
    stale = (IdempotencyKey.created_at < cutoff) | IdempotencyKey.status_code.is_(None)
    session.execute(delete(IdempotencyKey).where(*mine).where(stale))
    existing = session.scalars(select(IdempotencyKey).where(*mine)).first()
    if existing is None:
        row = IdempotencyKey(scope=pending.scope, key=pending.key, fingerprint=pending.fingerprint)
        try:
            with session.begin_nested():
                _bounded_wait(session)
                session.add(row)
                session.flush()
        except OperationalError as exc:  # PostgreSQL: the twin still runs after CLAIM_WAIT_MS
            raise InProgress() from exc
        except IntegrityError:  # the twin committed meanwhile: its answer is ours
            existing = session.scalars(select(IdempotencyKey).where(*mine)).first()
            if existing is None:
                raise InProgress() from None
        else:
            _restore_wait(session)
            return Claim(row.id, session)
    if existing.fingerprint != pending.fingerprint:
        raise KeyReused("This Idempotency-Key was already used with another body or path")
    headers = dict(existing.response_headers)
    headers["Idempotent-Replayed"] = "true"
    raise Replay(
        Response(
            content=existing.response_body or b"",
            status_code=existing.status_code or 200,
            headers=headers,
        )
    )


def _bounded_wait(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {CLAIM_WAIT_MS}"))


def _restore_wait(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL lock_timeout = DEFAULT"))


def _store(claim: Claim, response: Response) -> None:
    """Write the answer into the request's transaction (it commits right after)."""
    body = getattr(response, "body", None)
    if body is None or response.status_code >= 500:
        # A streamed answer cannot be replayed: the key is released with the commit.
        claim.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim.row_id))
        return
    headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
    claim.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.row_id)
        .values(
            status_code=response.status_code,
            response_body=bytes(body).decode(),
            response_headers=headers,
        )
    )
