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
    status: str
    mapping: dict[str, str]
    last_line: int
    rows_done: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None


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


class DuplicatePageOut(BaseModel):
    items: list[DuplicateOut]
    next_cursor: str | None = None
    has_more: bool = False


class DecisionIn(BaseModel):
    """merge (undoable), not_duplicate (remembered) or skip (until the next scan)."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["merge", "not_duplicate", "skip"]
