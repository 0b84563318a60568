"""API shapes of the sales domain. Shapes and ranges are checked here; the rules (currency
of the pipeline, stages of the pipeline, owners and links in the workspace) in the services."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.core.schemas import Currency, Patch
from rapport.sales.models import DealStatus


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- pipelines and stages -------------------------------------------------------------------


class StageIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    probability: int = Field(default=0, ge=0, le=100, description="Static win probability, %")
    is_won: bool = False
    is_lost: bool = False
    position: int | None = Field(default=None, ge=0, description="Defaults to the end")


class StagePatch(Patch):
    record_shape: ClassVar[str] = "StageOut"
    name: str | None = Field(default=None, min_length=1, max_length=200)
    probability: int | None = Field(default=None, ge=0, le=100)
    is_won: bool | None = None
    is_lost: bool | None = None
    position: int | None = Field(default=None, ge=0)


class StageOut(Out):
    id: uuid.UUID
    pipeline_id: uuid.UUID
    name: str
    position: int
    probability: int
    is_won: bool
    is_lost: bool
    version: int


class PipelineIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    currency: Currency | None = None
    is_default: bool = False
    stages: list[StageIn] | None = Field(
        default=None, max_length=50, description="Defaults to a standard B2B pipeline"
    )


class PipelinePatch(Patch):
    record_shape: ClassVar[str] = "PipelineOut"
    name: str | None = Field(default=None, min_length=1, max_length=200)
    currency: Currency | None = None
    is_default: bool | None = None


class PipelineOut(Out):
    id: uuid.UUID
    name: str
    currency: str | None
    is_default: bool
    position: int
    version: int
    created_at: datetime
    updated_at: datetime
    stages: list[StageOut] = Field(default_factory=list)


# --- deals ----------------------------------------------------------------------------------


class DealIn(Strict):
    title: str = Field(min_length=1, max_length=300)
    amount: Decimal = Field(default=Decimal(0), max_digits=18, decimal_places=2)
    currency: Currency
    pipeline_id: uuid.UUID | None = Field(default=None, description="Defaults to the default")
    stage_id: uuid.UUID | None = Field(default=None, description="Defaults to the first stage")
    expected_close_date: date | None = None
    owner_id: uuid.UUID | None = Field(default=None, description="Defaults to you")
    person_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    external_id: str | None = Field(
        default=None, max_length=200, description="Its id in another system; unique here"
    )
    custom: dict[str, Any] = Field(
        default_factory=dict, description="Values of the workspace's deal custom fields"
    )
    created_at: datetime | None = Field(
        default=None,
        description="When the deal was really created, for history being loaded; past only",
    )


class DealPatch(Patch):
    """Only the fields you send change; stages change through /move, /won, /lost, /reopen."""

    record_shape: ClassVar[str] = "DealOut"
    title: str | None = Field(default=None, min_length=1, max_length=300)
    amount: Decimal | None = Field(default=None, max_digits=18, decimal_places=2)
    currency: Currency | None = None
    expected_close_date: date | None = None
    owner_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    external_id: str | None = Field(
        default=None, max_length=200, description="Its id in another system; unique here"
    )
    custom: dict[str, Any] | None = Field(
        default=None, description="Custom values to merge in; a null value clears that field"
    )


class MoveIn(Strict):
    stage_id: uuid.UUID


class CloseIn(Strict):
    reason: str | None = Field(default=None, max_length=500)
    closed_at: datetime | None = Field(
        default=None,
        description="When it really closed, for history being loaded: past only, not before "
        "the deal entered its current stage; defaults to now",
    )


class ReopenIn(Strict):
    stage_id: uuid.UUID | None = Field(default=None, description="Defaults to the first stage")


class DealOut(Out):
    id: uuid.UUID
    title: str
    amount: Decimal
    currency: str
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    status: DealStatus
    expected_close_date: date | None
    owner_id: uuid.UUID | None
    person_id: uuid.UUID | None
    company_id: uuid.UUID | None
    stage_entered_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    external_id: str | None
    custom: dict[str, Any] = Field(default_factory=dict)
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class HistoryOut(Out):
    stage_id: uuid.UUID
    entered_at: datetime
    left_at: datetime | None
    actor_id: uuid.UUID | None


# --- analytics ------------------------------------------------------------------------------


class WeightedRow(BaseModel):
    month: str | None
    owner_id: uuid.UUID | None
    currency: str
    deals: int
    amount: Decimal
    weighted: Decimal


class ForecastStage(BaseModel):
    stage_id: uuid.UUID
    name: str
    currency: str
    open_deals: int
    open_amount: Decimal
    rate: float
    rate_source: Literal["history", "static"]
    closed_history: int
    forecast: Decimal


class ForecastOut(BaseModel):
    stages: list[ForecastStage]
    totals: dict[str, Decimal]


class SummaryOut(BaseModel):
    won: int
    lost: int
    win_rate: float | None
    average_won_amount: dict[str, Decimal]
    average_cycle_days: float | None


class FunnelStage(BaseModel):
    stage_id: uuid.UUID
    name: str
    entered: int
    conversion_to_next: float | None


class BottleneckStage(BaseModel):
    stage_id: uuid.UUID
    name: str
    open_deals: int
    current_median_days: float | None
    historical_median_days: float | None
    ratio: float | None
    is_bottleneck: bool


# --- leads and scoring ----------------------------------------------------------------------


class UTM(Strict):
    utm_source: str | None = Field(default=None, max_length=200)
    utm_medium: str | None = Field(default=None, max_length=200)
    utm_campaign: str | None = Field(default=None, max_length=200)
    utm_term: str | None = Field(default=None, max_length=200)
    utm_content: str | None = Field(default=None, max_length=200)


class LeadIn(UTM):
    """A lead from a form or the API; extra keys of a web form are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    email: str = Field(min_length=3, max_length=320)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    job_title: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=10_000)
    source: str | None = Field(default=None, max_length=100)
    country: str | None = Field(
        default=None, max_length=60, description="Name or ISO code; kept on a new person"
    )
    created_at: datetime | None = Field(
        default=None,
        description="When the lead really arrived, for history being loaded (past only, with "
        "a time zone); it dates a new person and the capture on the timeline",
    )
    website: str | None = Field(default=None, max_length=500, description="Honeypot: leave empty")


class LeadOut(BaseModel):
    status: Literal["captured", "ignored"]
    person_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None
    created: bool = False


LeadFormField = Literal["first_name", "last_name", "phone", "job_title", "message"]


def _default_form_fields() -> list[LeadFormField]:
    return ["first_name", "last_name"]


class LeadFormIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    allowed_origins: list[str] = Field(default_factory=list, max_length=20)
    source: str | None = Field(default=None, max_length=100)
    fields: list[LeadFormField] = Field(
        default_factory=_default_form_fields,
        description="The optional fields its embed snippet asks for (the email always)",
    )
    redirect_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Where a browser goes after posting the form as plain HTML: an http(s) "
        "address on one of the allowed origins",
    )


class LeadFormOut(Out):
    id: uuid.UUID
    name: str
    key: str
    allowed_origins: list[str]
    source: str | None
    fields: list[str]
    redirect_url: str | None = None
    is_active: bool
    version: int


RuleKind = Literal[
    "job_title_contains", "company_size_between", "industry_equals", "custom_field_equals",
    "engagement",
]  # fmt: skip


class RuleIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: RuleKind
    params: dict[str, Any] = Field(default_factory=dict)
    points: int = Field(ge=-1000, le=1000)
    is_active: bool = True


class RulePatch(Patch):
    record_shape: ClassVar[str] = "RuleOut"
    name: str | None = Field(default=None, min_length=1, max_length=200)
    params: dict[str, Any] | None = None
    points: int | None = Field(default=None, ge=-1000, le=1000)
    is_active: bool | None = None


class RuleOut(Out):
    id: uuid.UUID
    name: str
    kind: str
    params: dict[str, Any]
    points: int
    is_active: bool
    version: int


class Reason(BaseModel):
    rule: str
    rule_id: uuid.UUID | None = None
    points: float


class ScoreOut(Out):
    person_id: uuid.UUID
    score: int
    reasons: list[Reason]
    computed_at: datetime | None


# --- predictive scoring and lead import (appended; see sales/service/predictive.py) --------


class Factor(BaseModel):
    """A feature that weighs on a prediction; positive weights raise the odds of winning."""

    feature: str
    weight: float
    label: str | None = None


class PersonScoreOut(ScoreOut):
    """The rule score with its reasons, and the predictive win probability beside it."""

    probability: float | None = Field(description="Predicted chance to win (0-1); null on fallback")
    fallback_reason: str | None = Field(description="Why there is no probability, if none")
    factors: list[Factor] = Field(description="What moved this person's probability most")
    model_auc: float | None
    model_trained_at: datetime | None
    model_warnings: list[str] = Field(
        default_factory=list, description="The leakage guard's warnings about the model"
    )


class ScoringModelOut(Out):
    """The workspace's predictive model and how well it ranks on later leads than it learnt
    from (a split by time), with the leakage guard's warnings."""

    status: Literal["untrained", "trained", "fallback"]
    reason: str | None = None
    algorithm: str | None = None
    auc: float | None = Field(
        default=None, description="Model AUC on the later period (the latest quarter of leads)"
    )
    rules_auc: float | None = Field(default=None, description="Rule score AUC, same leads")
    in_period_auc: float | None = Field(
        default=None, description="AUC on a random part of the earlier leads (a leak check)"
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Why the quality looks implausible (too high, or falling on later leads)",
    )
    as_of: datetime | None = Field(default=None, description="What was known by then was used")
    observation_days: float | None = None
    horizon_days: float | None = None
    closed_deals: int = 0
    won: int = 0
    lost: int = 0
    train_size: int = 0
    test_size: int = 0
    trained_at: datetime | None = None
    importances: list[Factor] = Field(default_factory=list)


class ImportRowError(BaseModel):
    line: int = Field(description="Line of the file (the header is line 1)")
    column: str | None
    value: str | None = Field(None, description="The rejected cell, as the file has it")
    reason: str


class LeadImportOut(BaseModel):
    """What a CSV lead import did; re-running the same file only adds to ``unchanged``."""

    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    mapping: dict[str, str] = Field(description="column -> field")
    ignored_columns: list[str]
    errors: list[ImportRowError]


# --- routing, tasks and reminders -----------------------------------------------------------

RoutingKind = Literal["territory", "round_robin", "company_owner", "score_threshold"]


class RoutingRuleIn(Strict):
    """``territory``: params.countries (ISO codes or names) → user or team;
    ``round_robin``: team; ``company_owner``: the owner of the lead's company;
    ``score_threshold``: params.min_score → user or team."""

    name: str = Field(min_length=1, max_length=200)
    kind: RoutingKind
    params: dict[str, Any] = Field(default_factory=dict)
    user_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    position: int | None = Field(default=None, ge=0, description="Defaults to the end")
    is_active: bool = True


class RoutingRulePatch(Patch):
    record_shape: ClassVar[str] = "RoutingRuleOut"
    name: str | None = Field(default=None, min_length=1, max_length=200)
    params: dict[str, Any] | None = None
    user_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    position: int | None = Field(default=None, ge=0)
    is_active: bool | None = None


class RoutingRuleOut(Out):
    id: uuid.UUID
    name: str
    kind: str
    position: int
    params: dict[str, Any]
    user_id: uuid.UUID | None
    team_id: uuid.UUID | None
    is_active: bool
    version: int


class AssignmentOut(Out):
    id: uuid.UUID
    person_id: uuid.UUID
    rule_id: uuid.UUID | None
    rule_name: str | None
    assignee_id: uuid.UUID | None
    previous_owner_id: uuid.UUID | None
    reason: str
    assigned_at: datetime
    first_touch_due_at: datetime | None
    first_touched_at: datetime | None
    sla_reminded_at: datetime | None


class RouteOut(BaseModel):
    assigned: bool
    reason: str
    assignment: AssignmentOut | None = None


class TeamIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    member_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class TeamMembersIn(Strict):
    member_ids: list[uuid.UUID] = Field(max_length=500)


class TeamOut(BaseModel):
    id: uuid.UUID
    name: str
    member_ids: list[uuid.UUID]


class SalesSettings(Strict):
    first_touch_sla_hours: float | None = Field(
        default=24, gt=0, le=24 * 90, description="None: no first-touch SLA"
    )
    follow_up_days: int | None = Field(
        default=14, ge=1, le=365, description="None: no follow-up reminders"
    )
    follow_up_days_by_pipeline: dict[uuid.UUID, int] = Field(
        default_factory=dict, description="Overrides follow_up_days for a pipeline"
    )


class SalesSettingsPatch(Patch):
    record_shape: ClassVar[str] = "SalesSettings"
    first_touch_sla_hours: float | None = Field(default=None, gt=0, le=24 * 90)
    follow_up_days: int | None = Field(default=None, ge=1, le=365)
    follow_up_days_by_pipeline: dict[uuid.UUID, int] | None = None


TaskPriorityName = Literal["low", "normal", "high"]


class TaskIn(Strict):
    title: str = Field(min_length=1, max_length=300)
    notes: str | None = Field(default=None, max_length=10_000)
    due_at: datetime | None = Field(default=None, description="With a time zone")
    priority: TaskPriorityName = "normal"
    assignee_id: uuid.UUID | None = Field(default=None, description="Defaults to you")
    person_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None


class TaskPatch(Patch):
    """Only the fields you send change; ``done`` ticks the task (or unticks it)."""

    record_shape: ClassVar[str] = "TaskOut"
    title: str | None = Field(default=None, min_length=1, max_length=300)
    notes: str | None = Field(default=None, max_length=10_000)
    due_at: datetime | None = None
    priority: TaskPriorityName | None = None
    assignee_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None
    done: bool | None = None


class TaskOut(Out):
    id: uuid.UUID
    title: str
    notes: str | None
    due_at: datetime | None
    priority: str
    assignee_id: uuid.UUID | None
    created_by_id: uuid.UUID | None
    person_id: uuid.UUID | None
    company_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    done: bool
    done_at: datetime | None
    source: str
    version: int
    created_at: datetime
    updated_at: datetime


class ReminderRunOut(BaseModel):
    follow_ups: int
    sla_reminders: int
