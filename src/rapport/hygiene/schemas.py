"""Hygiene API shapes: import jobs, duplicate candidates, merges."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ImportOut(BaseModel):
    """An import job: where it stands and what it did."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    filename: str
    format: str
    object: str = Field(description="what the file holds: person or company")
    status: str
    mapping: dict[str, str]
    total_rows: int | None = Field(description="records in the file (lines, for CSV)")
    last_line: int
    rows_done: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    warned: int = Field(
        description="records that went in with a warning (a value left out in a lenient "
        "import, or kept with a doubt); listed at warnings.csv"
    )
    lenient: bool = Field(description="values that fail their check are left out, not refused")
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class ImportMappingIn(BaseModel):
    """A named header mapping: ``{column: field}`` (field ``ignore`` drops a column)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    fields: dict[str, str] = Field(examples=[{"E-Mail Adresse": "email", "Notes": "ignore"}])


class ImportMappingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    fields: dict[str, str]
    created_at: datetime
    updated_at: datetime


class MergeIn(BaseModel):
    """Fold ``merged_id`` into ``survivor_id``."""

    model_config = ConfigDict(extra="forbid")
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    rule: Literal["survivor", "most_complete", "most_recent"] = Field(
        default="most_complete",
        description="survivor: keep the survivor's values; most_complete: fill its empty "
        "fields from the merged person; most_recent: take the more recently updated values",
    )
    fields: dict[str, Literal["survivor", "merged"]] = Field(
        default_factory=dict, description="Per-field choice, overriding the rule"
    )


class MergeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    merged_at: datetime
    undone_at: datetime | None
    snapshot: dict[str, Any] = Field(description="What the merge changed; undo restores it")


class ScanIn(BaseModel):
    """Options of a duplicate scan."""

    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(default=0.5, ge=0.0, le=1.0, description="Store pairs from here")
    auto_merge: float = Field(default=0.95, ge=0.0, le=1.0, description="Counted as auto-merge")


class ScanOut(BaseModel):
    """What a scan saw: people read, pairs compared, candidates found, new and remembered."""

    model_config = ConfigDict(from_attributes=True)
    people: int
    compared: int
    found: int
    new: int
    updated: int
    remembered: int = Field(description="Pairs already dismissed or merged, not proposed again")
    auto_merge: int


class DuplicateOut(BaseModel):
    """A pair of people that may be one, with the match probability and per-field agreement."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    person_a: uuid.UUID
    person_b: uuid.UUID
    probability: float
    reasons: dict[str, Any]
    status: str
    created_at: datetime


class DecisionIn(BaseModel):
    """merge (undoable), not_duplicate (remembered) or skip (until the next scan)."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["merge", "not_duplicate", "skip"]


class FieldCompleteness(BaseModel):
    filled: int
    share: float = Field(description="filled / people, 0..1")


class QualityOut(BaseModel):
    """The data-quality report of a workspace."""

    people: int
    completeness: dict[str, FieldCompleteness]
    invalid: dict[str, int] = Field(description="emails and phones not in canonical form")
    duplicates_pending: int
    company_duplicates_pending: int
    inactive: int
    bounced_emails: int
    inactive_days: int


class StaleOut(BaseModel):
    """What a staleness run changed."""

    model_config = ConfigDict(from_attributes=True)
    inactive_days: int
    flagged: int
    revived: int
    inactive: int
    bounced: int


class HygieneSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inactive_days: int = Field(ge=1, le=3650, description="Quiet days before a person is inactive")


class HygieneSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    inactive_days: int


class BounceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(default=None, max_length=320, description="Default: primary email")


class PersonFlagOut(BaseModel):
    """A person's hygiene flags."""

    model_config = ConfigDict(from_attributes=True)
    person_id: uuid.UUID
    inactive_since: datetime | None
    bounced_email: str | None
    bounced_at: datetime | None


class CompanyDuplicateOut(BaseModel):
    """A pair of companies that may be one."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    company_a: uuid.UUID
    company_b: uuid.UUID
    probability: float
    reasons: dict[str, Any]
    status: str
    created_at: datetime


class CompanyMergeIn(BaseModel):
    """Fold company ``merged_id`` into ``survivor_id`` (its empty fields filled from it)."""

    model_config = ConfigDict(extra="forbid")
    survivor_id: uuid.UUID
    merged_id: uuid.UUID


class CompanyMergeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    merged_at: datetime
    undone_at: datetime | None
    snapshot: dict[str, Any] = Field(description="What moved; undo restores it")
