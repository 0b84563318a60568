"""Reading the audit trail: who changed what, newest first, for a record or the workspace.

Entries are written by :func:`rapport.core.events.record` in the transaction of the change
they describe; this module only reads them. Pages are keyset pages ordered by
``occurred_at DESC, id DESC``, served by ``ix_audit_ws_record`` (one record) or
``ix_audit_ws_time`` (the workspace).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from rapport.core.context import Context
from rapport.core.events import AuditEntry
from rapport.core.pagination import Page, SortKey, keyset_page

NEWEST_FIRST = [SortKey("occurred_at", AuditEntry.occurred_at, descending=True)]


def list_entries(
    ctx: Context,
    *,
    record_id: uuid.UUID | None = None,
    record_type: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AuditEntry]:
    """A page of the workspace's audit entries, newest first, optionally for one record or
    one record type (``person``, ``company``, ``activity``…)."""
    ctx.require("audit:read")
    stmt = select(AuditEntry)
    if record_id is not None:
        stmt = stmt.where(AuditEntry.record_id == record_id)
    if record_type:
        stmt = stmt.where(AuditEntry.record_type == record_type)
    return keyset_page(
        ctx.session, stmt, sort=NEWEST_FIRST, id_column=AuditEntry.id, limit=limit, cursor=cursor
    )
