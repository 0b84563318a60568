"""Listing deals: the sorts and filters of the deal list (the sales "deal" record type,
``sales/records.py``), listed by the shared plumbing (``core/listing.py``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select

from rapport.core.context import Context
from rapport.core.filtering import FieldSet, FilterField
from rapport.core.listing import ListParams, list_records
from rapport.core.pagination import Page
from rapport.core.records import record_type
from rapport.sales.models import Deal, DealStatus, Stage

# Every sort is served by an index (workspace_id, <column>, id); see sales/models.py.
SORTS = {
    "created_at": Deal.created_at,
    "title": Deal.title,
    "amount": Deal.amount,
    "expected_close_date": Deal.expected_close_date,
}
DEFAULT_SORT = "-created_at"

FIELDS = FieldSet(
    [
        FilterField("title", "string", column=Deal.title),
        FilterField("owner_id", "uuid", column=Deal.owner_id),
        FilterField("stage_id", "uuid", column=Deal.stage_id),
        FilterField("pipeline_id", "uuid", column=Deal.pipeline_id),
        FilterField("person_id", "uuid", column=Deal.person_id),
        FilterField("company_id", "uuid", column=Deal.company_id),
        FilterField("status", "enum", column=Deal.status, choices=tuple(DealStatus)),
        FilterField("currency", "string", column=Deal.currency),
        FilterField("amount", "number", column=Deal.amount),
        FilterField("expected_close_date", "date", column=Deal.expected_close_date),
        FilterField("created_at", "datetime", column=Deal.created_at),
        FilterField("closed_at", "datetime", column=Deal.closed_at),
    ],
    custom_column=Deal.custom,
)

# The deal list page's query names → filter fields (a saved view of the list is a filter).
PAGE_FILTERS = {"pipeline": "pipeline_id", "stage": "stage_id", "owner": "owner_id",
                "status": "status"}  # fmt: skip


def list_deals(ctx: Context, params: ListParams) -> Page[Deal]:
    """A page of deals: sorted, filtered, or (with ``q``) the best search matches."""
    return list_records(ctx, record_type("deal"), params)


CENTS = Decimal("0.01")  # deals.amount is NUMERIC(18, 2); SQLite's SUM loses the scale


@dataclass
class StageColumn:
    """One stage on the board: its first cards, and the count and totals of all its deals."""

    cards: list[Deal] = field(default_factory=list)
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)


def board(
    ctx: Context,
    stages: list[Stage],
    *,
    owner_id: uuid.UUID | None,
    closed_since: datetime,
    per_stage: int,
) -> dict[uuid.UUID, StageColumn]:
    """The board of a pipeline: open deals in open stages, deals closed since ``closed_since``
    in the won and lost ones. Each stage shows its ``per_stage`` longest-waiting cards; its
    count and totals are the database's, so a stage of thousands costs what 50 cards do."""
    columns = {stage.id: StageColumn() for stage in stages}
    closed_stages = {stage.id for stage in stages if stage.is_won or stage.is_lost}
    mine = [Deal.owner_id == owner_id] if owner_id is not None else []
    for stage in stages:
        closed = stage.id in closed_stages
        where = [Deal.stage_id == stage.id, *mine]
        where.append(Deal.status != DealStatus.OPEN if closed else Deal.status == DealStatus.OPEN)
        if closed:
            where.append(Deal.closed_at >= closed_since)
        columns[stage.id].cards = list(
            ctx.session.scalars(
                select(Deal).where(*where).order_by(Deal.stage_entered_at, Deal.title, Deal.id)
                .limit(per_stage)
            )
        )  # fmt: skip
    # Counts and totals of every stage in one pass over the pipeline's deals.
    is_open = Deal.status == DealStatus.OPEN
    sums = ctx.session.execute(
        select(Deal.stage_id, is_open, Deal.currency, func.count(), func.sum(Deal.amount))
        .where(Deal.stage_id.in_(list(columns)), *mine)
        .where(or_(is_open, Deal.closed_at >= closed_since))
        .group_by(Deal.stage_id, is_open, Deal.currency)
    )
    for stage_id, open_deal, currency, count, total in sums:
        if bool(open_deal) == (stage_id in closed_stages):
            continue  # an open deal in a closed stage, or a closed one in an open stage
        column = columns[stage_id]
        column.count += count
        column.totals[currency] = Decimal(str(total or 0)).quantize(CENTS)  # the column's scale
    return columns
