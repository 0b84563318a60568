"""The outbox and the audit trail, written in the same transaction as the change they describe.

A service calls :func:`record` after it changes a row. The outbox row is how work leaves the
transaction (automations, webhooks, scoring read it later); the audit row says who changed
which field from what to what.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Index, String, insert
from sqlalchemy.orm import Mapped, mapped_column

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import Base, WorkspaceScoped, table_of
from rapport.core.errors import StaleWrite
from rapport.core.ids import new_id
from rapport.core.topics import Topic, checking, resolve

Changes = dict[str, tuple[Any, Any]]


class OutboxEvent(WorkspaceScoped, Base):
    """A domain event waiting to be dispatched; ``dispatched_at`` is set by the relay."""

    __tablename__ = "outbox_events"
    topic: Mapped[str] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    __table_args__ = (Index("ix_outbox_pending", "dispatched_at", "created_at"),)


class AuditEntry(WorkspaceScoped, Base):
    """Who did what to which record, with each changed field's old and new value."""

    __tablename__ = "audit_log"
    action: Mapped[str] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_audit_ws_record", "workspace_id", "record_id", "occurred_at"),
        Index("ix_audit_ws_time", "workspace_id", "occurred_at"),
    )


def jsonable(value: Any) -> Any:
    """Make a value safe for a JSON column (UUIDs, instants, money, enums, nested)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def _rows(
    ctx: Context,
    topic: str,
    record_type: str,
    record_id: uuid.UUID | None,
    changes: Changes | None,
    payload: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    diff = {
        k: {"old": jsonable(old), "new": jsonable(new)} for k, (old, new) in (changes or {}).items()
    }
    now = utcnow()
    audit = {
        "id": new_id(),
        "workspace_id": ctx.workspace_id,
        "action": topic,
        "record_type": record_type,
        "record_id": record_id,
        "actor_type": ctx.actor_type,
        "actor_id": ctx.user_id,
        "changes": diff,
        "request_id": ctx.request_id,
        "occurred_at": now,
    }
    event = {
        "id": new_id(),
        "workspace_id": ctx.workspace_id,
        "topic": topic,
        "record_type": record_type,
        "record_id": record_id,
        "payload": {"changes": diff, **jsonable(payload or {})},
        "created_at": now,
        "attempts": 0,
    }
    return audit, event


def record(
    ctx: Context,
    topic: Topic[Any],
    record_id: uuid.UUID | None,
    changes: Changes | None = None,
    *,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Append one audit row and one outbox event for a change, in the caller's transaction.
    ``topic`` is declared in a domain's ``events.py`` (:mod:`rapport.core.topics`); the
    payload's keys are checked against its declaration when checks are on (the tests)."""
    record_many(ctx, topic, [(record_id, changes, payload)])


def record_many(
    ctx: Context,
    topic: Topic[Any],
    items: Sequence[tuple[uuid.UUID | None, Changes | None, Mapping[str, Any] | None]],
) -> None:
    """The bulk form of :func:`record`: two multi-row INSERTs whatever the count."""
    if not items:
        return
    declared = resolve(topic)  # a name (from code not yet typed) must be in the catalogue
    if checking():
        for _rid, _changes, payload in items:
            declared.check(payload)
    name, record_type = declared.name, declared.record_type
    audits, events = zip(
        *(_rows(ctx, name, record_type, rid, changes, payload) for rid, changes, payload in items),
        strict=True,
    )
    ctx.session.execute(insert(table_of(AuditEntry)), list(audits))
    ctx.session.execute(insert(table_of(OutboxEvent)), list(events))


def diff_fields(obj: Any, values: dict[str, Any]) -> Changes:
    """Assign ``values`` to ``obj`` and return only the fields that really changed."""
    changes: Changes = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            changes[name] = (old, new)
            setattr(obj, name, new)
    return changes


def check_version(actual: int, expected: int | None) -> None:
    """Refuse a write based on an old read (If-Match): 412, never a silent overwrite."""
    if expected is not None and expected != actual:
        raise StaleWrite(
            f"You edited version {expected}, but the record is now at version {actual}; "
            "reload it and apply your change again"
        )
