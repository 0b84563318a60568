"""Hygiene tables: import jobs and their rejects, duplicate candidates, and merges (for undo)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from rapport.core.clock import utcnow
from rapport.core.db import Base, Timestamped, WorkspaceScoped


class ImportJob(WorkspaceScoped, Timestamped, Base):
    """One import of a file; ``last_line`` is the last source line whose batch committed,
    so a killed import resumes after it."""

    __tablename__ = "import_jobs"
    filename: Mapped[str] = mapped_column(String(500))
    path: Mapped[str | None] = mapped_column(String(1000), default=None)
    format: Mapped[str] = mapped_column(String(10))
    # What the file holds: ``person`` (the default) or ``company``.
    object: Mapped[str] = mapped_column(String(20), default="person", server_default="person")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total_rows: Mapped[int | None] = mapped_column(default=None)
    last_line: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    # Lenient: a row whose value fails a check goes in with that field empty (a warning).
    lenient: Mapped[bool] = mapped_column(default=False, server_default=false())
    warned: Mapped[int] = mapped_column(default=0, server_default="0")  # rows with warnings
    error: Mapped[str | None] = mapped_column(Text, default=None)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (Index("ix_import_jobs_ws_created", "workspace_id", "created_at"),)


class ImportReject(WorkspaceScoped, Base):
    """A problem with a source row: where it is and why (refused, or let in with a warning)."""

    __tablename__ = "import_rejects"
    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column()
    column: Mapped[str] = mapped_column(String(200))
    value: Mapped[str | None] = mapped_column(Text, default=None)
    reason: Mapped[str] = mapped_column(Text)
    # "error": the row was refused; "warning": it went in, this value left out or doubted.
    level: Mapped[str] = mapped_column(String(10), default="error", server_default="error")
    __table_args__ = (Index("ix_import_rejects_import_line", "import_id", "line"),)


class DuplicateCandidate(WorkspaceScoped, Timestamped, Base):
    """A pair of people that may be one: pending review, dismissed (remembered) or merged.
    ``person_a`` < ``person_b`` so a pair has one row whichever way it was found."""

    __tablename__ = "duplicate_candidates"
    person_a: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    person_b: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    probability: Mapped[float] = mapped_column(Float)
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    __table_args__ = (
        UniqueConstraint("workspace_id", "person_a", "person_b"),
        Index("ix_duplicate_candidates_ws_status", "workspace_id", "status", "probability"),
    )


class Merge(WorkspaceScoped, Base):
    """Person ``merged_id`` folded into ``survivor_id``; ``snapshot`` holds everything undo
    needs to put both back exactly as they were."""

    __tablename__ = "merges"
    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    merged_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (Index("ix_merges_ws_merged_at", "workspace_id", "merged_at"),)


class ImportMapping(WorkspaceScoped, Timestamped, Base):
    """A saved header mapping (``{column: field}``), reused by name for files of one shape."""

    __tablename__ = "import_mappings"
    name: Mapped[str] = mapped_column(String(100))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)


class HygieneSettings(WorkspaceScoped, Timestamped, Base):
    """A workspace's data-hygiene settings: after how many quiet days a person is inactive."""

    __tablename__ = "hygiene_settings"
    inactive_days: Mapped[int] = mapped_column(default=180)
    __table_args__ = (UniqueConstraint("workspace_id"),)


class PersonFlag(WorkspaceScoped, Base):
    """Hygiene flags of one person: inactive since (cleared when activity or an open deal
    comes back) and a bounced email (which address, when)."""

    __tablename__ = "person_flags"
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    inactive_since: Mapped[datetime | None] = mapped_column(default=None)
    bounced_email: Mapped[str | None] = mapped_column(String(320), default=None)
    bounced_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (
        UniqueConstraint("workspace_id", "person_id"),
        Index("ix_person_flags_ws_inactive", "workspace_id", "inactive_since"),
    )


class CompanyDuplicate(WorkspaceScoped, Timestamped, Base):
    """A pair of companies that may be one (``company_a`` < ``company_b``), like people's."""

    __tablename__ = "company_duplicate_candidates"
    company_a: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    company_b: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    probability: Mapped[float] = mapped_column(Float)
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    __table_args__ = (
        UniqueConstraint("workspace_id", "company_a", "company_b"),
        Index("ix_company_duplicates_ws_status", "workspace_id", "status", "probability"),
    )


class CompanyMerge(WorkspaceScoped, Base):
    """Company ``merged_id`` folded into ``survivor_id``; ``snapshot`` is what undo needs."""

    __tablename__ = "company_merges"
    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    merged_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (Index("ix_company_merges_ws_merged_at", "workspace_id", "merged_at"),)


class CompanyExternalId(WorkspaceScoped, Base):
    """A company's id in another system (a CRM it was imported from): what a companies import
    matches on first after Rapport's own id, so re-importing a file updates instead of
    duplicating."""

    __tablename__ = "company_external_ids"
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_company_external_ids_company", "company_id"),
    )


class QualitySnapshot(WorkspaceScoped, Base):
    """The last data-quality report of a large workspace, counted in the background: a count
    over a million people takes a second, too long for a page view."""

    __tablename__ = "quality_snapshots"
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (UniqueConstraint("workspace_id"),)
