"""``Idempotency-Key`` on POST: a retried request gets the first answer instead of a second write.

The key is claimed (a row with no response yet) in its own transaction before the handler runs,
so two concurrent retries cannot both execute; the loser gets 409. The response is stored after
the handler's own transaction has committed. Keys are scoped to the credential that sent them,
so one client can never replay (or even detect) another's key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response
from sqlalchemy import String, Text, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from rapport.core.access import DeclaredRoute
from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.db import Base, HasId, transaction
from rapport.core.errors import Conflict, problem_response

HEADER = "Idempotency-Key"


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


def _scope(request: Request) -> str:
    credential = request.headers.get("authorization") or request.cookies.get("rapport_session", "")
    return hashlib.sha256(credential.encode()).hexdigest()


class IdempotentRoute(DeclaredRoute):
    """An APIRoute that honours ``Idempotency-Key`` on POST (and publishes its declared access)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            key = request.headers.get(HEADER)
            if request.method != "POST" or not key:
                return await handler(request)
            if len(key) > 255:
                return problem_response(
                    Conflict("Idempotency-Key must be at most 255 characters").problem(), 400
                )
            body = await request.body()
            fingerprint = hashlib.sha256(
                request.method.encode() + request.url.path.encode() + b"\n" + body
            ).hexdigest()
            scope = _scope(request)
            replay = _claim(scope, key, fingerprint)
            if replay is not None:
                return replay
            try:
                response = await handler(request)
            except BaseException:
                _release(scope, key)
                raise
            if response.status_code >= 500:
                _release(scope, key)
            else:
                _store(scope, key, response)
            return response

        return route


def _claim(scope: str, key: str, fingerprint: str) -> Response | None:
    cutoff = utcnow() - timedelta(hours=get_settings().idempotency_ttl_hours)
    with transaction(unscoped=True) as session:
        session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
            .where(IdempotencyKey.created_at < cutoff)
        )
        existing = session.scalars(
            select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        ).first()
        if existing is None:
            session.add(IdempotencyKey(scope=scope, key=key, fingerprint=fingerprint))
            try:
                session.flush()
            except IntegrityError:
                existing = None
                return problem_response(
                    Conflict("A request with this Idempotency-Key is in progress").problem(), 409
                )
            return None
        if existing.fingerprint != fingerprint:
            problem = Conflict(
                "This Idempotency-Key was already used with a different request body or path"
            )
            return problem_response(problem.problem(), 422)
        if existing.status_code is None:
            return problem_response(
                Conflict("A request with this Idempotency-Key is in progress").problem(), 409
            )
        headers = dict(existing.response_headers)
        headers["Idempotent-Replayed"] = "true"
        return Response(
            content=existing.response_body or b"",
            status_code=existing.status_code,
            headers=headers,
        )


def _store(scope: str, key: str, response: Response) -> None:
    keep = {"content-type", "etag", "location"}
    headers = {k: v for k, v in response.headers.items() if k.lower() in keep}
    body = bytes(response.body).decode() if hasattr(response, "body") else ""
    with transaction(unscoped=True) as session:
        row = session.scalars(
            select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        ).one()
        row.status_code = response.status_code
        row.response_body = body
        row.response_headers = headers


def _release(scope: str, key: str) -> None:
    with transaction(unscoped=True) as session:
        session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        )
