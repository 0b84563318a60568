"""API shapes of the sales domain. Shapes and ranges are checked here; the rules (currency
of the pipeline, stages of the pipeline, owners and links in the workspace) in the services."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class StagePatch(Strict):
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
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    is_default: bool = False
    stages: list[StageIn] | None = Field(
        default=None, max_length=50, description="Defaults to a standard B2B pipeline"
    )


class PipelinePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
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
    currency: str = Field(min_length=3, max_length=3)
    pipeline_id: uuid.UUID | None = Field(default=None, description="Defaults to the default")
    stage_id: uuid.UUID | None = Field(default=None, description="Defaults to the first stage")
    expected_close_date: date | None = None
    owner_id: uuid.UUID | None = Field(default=None, description="Defaults to you")
    person_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None


class DealPatch(Strict):
    """Only the fields you send change; stages change through /move, /won, /lost, /reopen."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    amount: Decimal | None = Field(default=None, max_digits=18, decimal_places=2)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    expected_close_date: date | None = None
    owner_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None


class MoveIn(Strict):
    stage_id: uuid.UUID


class CloseIn(Strict):
    reason: str | None = Field(default=None, max_length=500)


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
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class DealPage(BaseModel):
    items: list[DealOut]
    next_cursor: str | None
    has_more: bool


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
    website: str | None = Field(default=None, max_length=500, description="Honeypot: leave empty")


class LeadOut(BaseModel):
    status: Literal["captured", "ignored"]
    person_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None
    created: bool = False


class LeadFormIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    allowed_origins: list[str] = Field(default_factory=list, max_length=20)
    source: str | None = Field(default=None, max_length=100)


class LeadFormOut(Out):
    id: uuid.UUID
    name: str
    key: str
    allowed_origins: list[str]
    source: str | None
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


class RulePatch(Strict):
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
