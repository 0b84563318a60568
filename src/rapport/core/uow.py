"""The request's unit of work, one for the JSON API (``core.deps``) and the pages (``web.session``).

A request is one transaction: it commits once the handler succeeded, before the response
leaves, and rolls back on any error. A racing writer that changed a versioned row between our
read and our UPDATE (SQLAlchemy's ``StaleDataError``) is a 409 :class:`StaleWrite`; a busy or
unreachable database raises an ``OperationalError`` that the error handlers answer with 503
and ``Retry-After``. An ``Idempotency-Key`` is claimed inside this very transaction (see
``core.idempotency``), once the caller is known.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from rapport.core import idempotency
from rapport.core.context import Context
from rapport.core.db import get_database, unit_of_work
from rapport.core.errors import StaleWrite


@contextmanager
def request_transaction(*, writes: bool) -> Iterator[Session]:
    """The request's session: committed if the block succeeds, rolled back otherwise.
    ``writes`` says the request will write (SQLite then takes its write lock up front)."""
    session = get_database().session(writes=writes)
    try:
        with unit_of_work(session):
            yield session
    except StaleDataError as exc:  # a racing writer won between our read and our UPDATE
        raise StaleWrite("Someone else changed this record at the same time; reload it") from exc


def begin_request(request: Request, ctx: Context) -> None:
    """Once the caller is known: publish the request's Context, and claim its
    ``Idempotency-Key`` (if it sent one) in the request's own transaction."""
    request.state.context = ctx
    pending = getattr(request.state, "idempotency", None)
    if pending is not None:
        request.state.idempotency_claim = idempotency.claim(ctx.session, pending)
