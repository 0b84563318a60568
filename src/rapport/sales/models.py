"""Tables of the sales domain: pipelines and stages, deals and their stage history, lead
forms and submissions, scoring rules and the latest score of each person."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.core.clock import utcnow
from rapport.core.db import Base, SoftDeletable, Timestamped, Versioned, WorkspaceScoped


class DealStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Pipeline(WorkspaceScoped, Timestamped, Versioned, SoftDeletable, Base):
    """A sales process: an ordered list of stages; deals in it may be held to one currency."""

    __tablename__ = "pipelines"
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    is_default: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (Index("ix_pipelines_ws_position", "workspace_id", "position"),)


class Stage(WorkspaceScoped, Timestamped, Versioned, Base):
    """One column of a pipeline with its static win probability (0-100)."""

    __tablename__ = "stages"
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    probability: Mapped[int] = mapped_column(default=0)
    is_won: Mapped[bool] = mapped_column(default=False)
    is_lost: Mapped[bool] = mapped_column(default=False)
    # Archived: off the board and the stage menus; its deals were moved out first.
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (Index("ix_stages_pipeline_position", "pipeline_id", "position"),)


class Deal(WorkspaceScoped, Timestamped, Versioned, SoftDeletable, Base):
    """An opportunity: money in a currency, in one stage of one pipeline, owned by a member."""

    __tablename__ = "deals"
    title: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="RESTRICT"))
    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(10), default=DealStatus.OPEN)
    expected_close_date: Mapped[date | None] = mapped_column(default=None)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), default=None
    )
    stage_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    close_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    # Its id in the system it came from: a re-import updates the deal instead of adding one.
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    # The workspace's own fields on deals (hub custom field definitions, object type "deal").
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    __table_args__ = (
        Index("ix_deals_ws_created", "workspace_id", "created_at", "id"),
        Index("ix_deals_ws_title", "workspace_id", "title", "id"),
        Index("ix_deals_ws_amount", "workspace_id", "amount", "id"),
        Index("ix_deals_ws_close_date", "workspace_id", "expected_close_date", "id"),
        Index("ix_deals_ws_owner", "workspace_id", "owner_id", "status"),
        Index("ix_deals_ws_stage", "workspace_id", "stage_id", "status"),
        Index("ix_deals_ws_pipeline", "workspace_id", "pipeline_id", "status"),
        Index("ix_deals_ws_person", "workspace_id", "person_id"),
        Index("ix_deals_ws_company", "workspace_id", "company_id"),
        # An external id names one deal of the workspace (the bin included).
        Index(
            "uq_deals_ws_external",
            "workspace_id",
            "external_id",
            unique=True,
            sqlite_where=text("external_id IS NOT NULL"),
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )


class DealStageHistory(WorkspaceScoped, Base):
    """A deal's stay in one stage: when it entered and (once it moved on) when it left."""

    __tablename__ = "deal_stage_history"
    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    entered_at: Mapped[datetime] = mapped_column()
    left_at: Mapped[datetime | None] = mapped_column(default=None)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    __table_args__ = (
        Index("ix_deal_stage_history_deal", "deal_id", "entered_at"),
        Index("ix_deal_stage_history_ws_stage", "workspace_id", "stage_id", "deal_id"),
    )


class LeadForm(WorkspaceScoped, Timestamped, Versioned, Base):
    """A public web form; its random ``key`` is the only thing a submitter knows."""

    __tablename__ = "lead_forms"
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[str | None] = mapped_column(String(100), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Where a browser goes after posting the form as plain HTML (on an allowed site).
    redirect_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    # The optional fields its embed snippet asks for (the email always).
    fields: Mapped[list[Any]] = mapped_column(
        default=lambda: ["first_name", "last_name"],
        server_default=text('\'["first_name", "last_name"]\''),
    )


class LeadSubmission(WorkspaceScoped, Base):
    """One captured lead with where it came from (form or API, UTM parameters)."""

    __tablename__ = "lead_submissions"
    form_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lead_forms.id", ondelete="SET NULL"), default=None
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    source: Mapped[str | None] = mapped_column(String(100), default=None)
    utm_source: Mapped[str | None] = mapped_column(String(200), default=None)
    utm_medium: Mapped[str | None] = mapped_column(String(200), default=None)
    utm_campaign: Mapped[str | None] = mapped_column(String(200), default=None)
    utm_term: Mapped[str | None] = mapped_column(String(200), default=None)
    utm_content: Mapped[str | None] = mapped_column(String(200), default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_lead_submissions_ws_person", "workspace_id", "person_id"),)


class ScoringRule(WorkspaceScoped, Timestamped, Versioned, Base):
    """One editable lead-scoring rule: a fit test or an engagement count, worth some points."""

    __tablename__ = "scoring_rules"
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    points: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0, server_default="0")


class LeadScore(WorkspaceScoped, Base):
    """The latest rule score of a person, with the reasons behind it."""

    __tablename__ = "lead_scores"
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(default=0)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The predictive model's win probability (None: no trained model, the rules stand alone).
    probability: Mapped[float | None] = mapped_column(Float, default=None)

    __table_args__ = (
        UniqueConstraint("workspace_id", "person_id"),
        Index("ix_lead_scores_ws_score", "workspace_id", "score", "person_id"),
        Index("ix_lead_scores_ws_probability", "workspace_id", "probability", "person_id"),
    )


class ScoringModel(WorkspaceScoped, Base):
    """A workspace's predictive lead-scoring model, trained on its own won/lost history.

    Stored as plain JSON numbers (feature names, scaling, coefficients), never as a pickle, so
    loading a model can never run code. ``status`` is ``trained`` or ``fallback`` (too little
    history: the rules stand alone, and ``reason`` says why)."""

    __tablename__ = "scoring_models"
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    algorithm: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    importances: Mapped[list[Any]] = mapped_column(default=list)
    auc: Mapped[float | None] = mapped_column(Float, default=None)
    rules_auc: Mapped[float | None] = mapped_column(Float, default=None)
    closed_deals: Mapped[int] = mapped_column(default=0)
    won: Mapped[int] = mapped_column(default=0)
    lost: Mapped[int] = mapped_column(default=0)
    train_size: Mapped[int] = mapped_column(default=0)
    test_size: Mapped[int] = mapped_column(default=0)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    trained_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    __table_args__ = (UniqueConstraint("workspace_id"),)


# --- routing, tasks and reminders -----------------------------------------------------------


class RoutingRule(WorkspaceScoped, Timestamped, Versioned, Base):
    """One lead-routing rule; the active rules are tried in ``position`` order and the first
    that matches assigns the lead. ``rr_counter`` is the round-robin turn, advanced by an
    atomic UPDATE so that restarts and concurrent leads never share a turn."""

    __tablename__ = "routing_rules"
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    position: Mapped[int] = mapped_column(default=0)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    rr_counter: Mapped[int] = mapped_column(default=0)
    __table_args__ = (Index("ix_routing_rules_ws_position", "workspace_id", "position"),)


class LeadAssignment(WorkspaceScoped, Base):
    """Who a lead went to, by which rule and why, and the first-touch deadline that follows."""

    __tablename__ = "lead_assignments"
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    rule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("routing_rules.id", ondelete="SET NULL"), default=None
    )
    rule_name: Mapped[str | None] = mapped_column(String(200), default=None)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    previous_owner_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(String(1000))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_touch_due_at: Mapped[datetime | None] = mapped_column(default=None)
    first_touched_at: Mapped[datetime | None] = mapped_column(default=None)
    sla_reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (
        Index("ix_lead_assignments_ws_person", "workspace_id", "person_id", "assigned_at"),
        Index("ix_lead_assignments_sla", "first_touch_due_at"),
    )


class TaskPriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Task(WorkspaceScoped, Timestamped, Versioned, SoftDeletable, Base):
    """Something to do, by a due time, for an assignee, about a person, company or deal.

    Reminder rules set ``dedupe_key`` while their task is open (a unique index then refuses a
    second one); completing the task clears it, so the rule may remind again later."""

    __tablename__ = "tasks"
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    priority: Mapped[str] = mapped_column(String(10), default=TaskPriority.NORMAL)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), default=None
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), default=None
    )
    deal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), default=None
    )
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(String(20), default="manual")
    dedupe_key: Mapped[str | None] = mapped_column(String(120), default=None)
    __table_args__ = (
        Index("ix_tasks_ws_assignee_due", "workspace_id", "assignee_id", "due_at", "id"),
        Index("ix_tasks_ws_due", "workspace_id", "due_at", "id"),
        Index("ix_tasks_ws_done", "workspace_id", "done_at", "id"),
        Index("ix_tasks_ws_created", "workspace_id", "created_at", "id"),
        Index("ix_tasks_ws_deal", "workspace_id", "deal_id"),
        Index("ix_tasks_ws_person", "workspace_id", "person_id"),
        Index("ix_tasks_ws_company", "workspace_id", "company_id"),
        UniqueConstraint("workspace_id", "dedupe_key"),
    )

    @property
    def done(self) -> bool:
        return self.done_at is not None
