"""People, companies, their emails and phones, tags, custom field definitions and the timeline."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rapport.core.db import Base, SoftDeletable, Timestamped, Versioned, WorkspaceScoped


class LifecycleStage(enum.StrEnum):
    SUBSCRIBER = "subscriber"
    LEAD = "lead"
    MARKETING_QUALIFIED = "marketing_qualified"
    SALES_QUALIFIED = "sales_qualified"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    EVANGELIST = "evangelist"
    CHURNED = "churned"
    OTHER = "other"


class ConsentStatus(enum.StrEnum):
    UNKNOWN = "unknown"
    PENDING = "pending"
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class ChannelPreference(enum.StrEnum):
    UNKNOWN = "unknown"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


PREFERENCE_CHANNELS = ("email", "phone", "sms", "post")

person_tags = Table(
    "person_tags",
    Base.metadata,
    Column("person_id", Uuid, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Uuid, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Column("workspace_id", Uuid, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Index("ix_person_tags_tag", "tag_id", "person_id"),
)

company_tags = Table(
    "company_tags",
    Base.metadata,
    Column("company_id", Uuid, ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Uuid, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Column("workspace_id", Uuid, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Index("ix_company_tags_tag", "tag_id", "company_id"),
)


class Tag(WorkspaceScoped, Timestamped, Versioned, Base):
    __tablename__ = "tags"
    name: Mapped[str] = mapped_column(String(100))
    color: Mapped[str | None] = mapped_column(String(20), default=None)
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)


class Company(WorkspaceScoped, Timestamped, Versioned, SoftDeletable, Base):
    __tablename__ = "companies"
    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(253), default=None)
    industry: Mapped[str | None] = mapped_column(String(100), default=None)
    size: Mapped[int | None] = mapped_column(default=None)
    website: Mapped[str | None] = mapped_column(String(500), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    address: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Written through hub.service.common.set_tags (the link rows carry workspace_id).
    tags: Mapped[list[Tag]] = relationship(secondary=company_tags, lazy="raise", viewonly=True)
    __table_args__ = (
        Index("ix_companies_ws_name", "workspace_id", "name", "id"),
        Index("ix_companies_ws_domain", "workspace_id", "domain", "id"),
        Index("ix_companies_ws_industry", "workspace_id", "industry", "id"),
        Index("ix_companies_ws_size", "workspace_id", "size", "id"),
        Index("ix_companies_ws_phone", "workspace_id", "phone", "id"),
        Index("ix_companies_ws_updated", "workspace_id", "updated_at", "id"),
        # A domain names one live company; the service checks first, this closes the race.
        Index(
            "uq_companies_ws_domain_live",
            "workspace_id",
            "domain",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND domain IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND domain IS NOT NULL"),
        ),
        Index("ix_companies_ws_created", "workspace_id", "created_at", "id"),
    )


class Person(WorkspaceScoped, Timestamped, Versioned, SoftDeletable, Base):
    __tablename__ = "people"
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    # Denormalised for list display, sorting and keyset pagination without joins.
    full_name: Mapped[str] = mapped_column(String(201), default="")
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    job_title: Mapped[str | None] = mapped_column(String(200), default=None)
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), default=None
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    lifecycle_stage: Mapped[str] = mapped_column(String(30), default=LifecycleStage.LEAD)
    source: Mapped[str | None] = mapped_column(String(100), default=None)
    addresses: Mapped[list[Any]] = mapped_column(default=list)
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consent_status: Mapped[str] = mapped_column(String(20), default=ConsentStatus.UNKNOWN)
    consent_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)

    company: Mapped[Company | None] = relationship(lazy="raise")
    emails: Mapped[list[PersonEmail]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PersonEmail.position"
    )
    phones: Mapped[list[PersonPhone]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PersonPhone.position"
    )
    # Written through hub.service.common.set_tags (the link rows carry workspace_id).
    tags: Mapped[list[Tag]] = relationship(secondary=person_tags, lazy="raise", viewonly=True)

    __table_args__ = (
        Index("ix_people_ws_full_name", "workspace_id", "full_name", "id"),
        Index("ix_people_ws_created", "workspace_id", "created_at", "id"),
        Index("ix_people_ws_updated", "workspace_id", "updated_at", "id"),
        Index("ix_people_ws_last_name", "workspace_id", "last_name", "id"),
        Index("ix_people_ws_email", "workspace_id", "email", "id"),
        Index("ix_people_ws_phone", "workspace_id", "phone", "id"),
        Index("ix_people_ws_job_title", "workspace_id", "job_title", "id"),
        Index("ix_people_ws_stage_id", "workspace_id", "lifecycle_stage", "id"),
        Index("ix_people_ws_source", "workspace_id", "source", "id"),
        Index("ix_people_ws_company", "workspace_id", "company_id"),
        Index("ix_people_ws_owner", "workspace_id", "owner_id", "full_name"),
        Index("ix_people_ws_stage", "workspace_id", "lifecycle_stage", "full_name"),
        Index("ix_people_ws_external", "workspace_id", "external_id"),
    )


class PersonEmail(WorkspaceScoped, Base):
    """One of a person's addresses; unique per workspace so an email names one person."""

    __tablename__ = "person_emails"
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    label: Mapped[str | None] = mapped_column(String(50), default=None)
    is_primary: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        UniqueConstraint("workspace_id", "email"),
        Index("ix_person_emails_person", "person_id"),
    )


class PersonPhone(WorkspaceScoped, Base):
    """A phone number in E.164."""

    __tablename__ = "person_phones"
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32))
    label: Mapped[str | None] = mapped_column(String(50), default=None)
    is_primary: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        Index("ix_person_phones_person", "person_id"),
        Index("ix_person_phones_ws_number", "workspace_id", "number"),
    )


class CustomFieldType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    SELECT = "select"
    MULTISELECT = "multiselect"
    MONEY = "money"


class CustomFieldDefinition(WorkspaceScoped, Timestamped, Versioned, Base):
    """A workspace's own field on people or companies; values live in the record's JSON."""

    __tablename__ = "custom_field_definitions"
    object_type: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    field_type: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[Any]] = mapped_column(default=list)
    required: Mapped[bool] = mapped_column(default=False)
    filterable: Mapped[bool] = mapped_column(default=True)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    # Archived: hidden from forms, lists and filters; the values records hold stay.
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (UniqueConstraint("workspace_id", "object_type", "key"),)


class ActivityKind(enum.StrEnum):
    EMAIL = "email"
    CALL = "call"
    MEETING = "meeting"
    CHAT = "chat"
    SOCIAL = "social"
    VISIT = "visit"
    PURCHASE = "purchase"
    NOTE = "note"
    # Engagement: what marketing tools report, counted by lead scoring (its features and
    # engagement rules) and meant for marketing's segments and journeys.
    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    FORM_SUBMITTED = "form_submitted"
    WEBINAR_ATTENDED = "webinar_attended"
    PAGE_VISITED = "page_visited"


ENGAGEMENT_KINDS = (
    ActivityKind.EMAIL_OPENED, ActivityKind.EMAIL_CLICKED, ActivityKind.FORM_SUBMITTED,
    ActivityKind.WEBINAR_ATTENDED, ActivityKind.PAGE_VISITED,
)  # fmt: skip


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Activity(WorkspaceScoped, Timestamped, Versioned, SoftDeletable, Base):
    """One interaction on the timeline, whatever the channel."""

    __tablename__ = "activities"
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(30))
    direction: Mapped[str] = mapped_column(String(10), default=Direction.INTERNAL)
    occurred_at: Mapped[datetime] = mapped_column()
    subject: Mapped[str | None] = mapped_column(String(500), default=None)
    body: Mapped[str | None] = mapped_column(Text, default=None)
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), default=None
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), default=None
    )
    # The deal it is about (the sales domain's table): the deal page's own timeline.
    deal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"), default=None
    )
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    source: Mapped[str | None] = mapped_column(String(100), default=None)
    external_id: Mapped[str | None] = mapped_column(String(300), default=None)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (
        Index("ix_activities_ws_person_time", "workspace_id", "person_id", "occurred_at"),
        Index("ix_activities_ws_company_time", "workspace_id", "company_id", "occurred_at"),
        Index("ix_activities_ws_time", "workspace_id", "occurred_at", "id"),
        Index("ix_activities_ws_deal_time", "workspace_id", "deal_id", "occurred_at"),
        # One timeline ingest path, idempotent by the source's own id.
        UniqueConstraint("workspace_id", "source", "external_id"),
    )
