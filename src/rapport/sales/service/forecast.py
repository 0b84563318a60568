"""Forecast and pipeline analytics, each one or two GROUP BY queries whatever the deal count.

1. weighted pipeline: open amount times the stage's static probability, by expected-close month,
   owner and currency;
2. forecast: for each stage, of the deals that ever entered it and are now closed, the share
   that were won, applied to the open deals in it (the static probability while fewer than
   ``min_history`` closed deals passed through the stage);
3. summary: win rate, average won amount per currency, average sales cycle (created → won);
4. funnel: deals that ever entered each stage and the share that went on to the next;
5. bottlenecks: the median time open deals have sat in each stage against the median stay
   of past deals in it, flagged when it exceeds the history by ``factor``.

Every figure takes the same filters where they make sense: ``owner_id`` (the deals of one
owner, everywhere) and a period ``since`` (inclusive) / ``until`` (exclusive) that means
"closed in the period" for the historical figures (conversion rates of the forecast, the
summary, the past stays of the bottlenecks) and "entered the stage in the period" for the
funnel. The open pipeline (weighted pipeline, open amounts, current stays) is what is open now.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, case, extract, func, literal, select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import UTCDateTime
from rapport.sales.models import Deal, DealStageHistory, DealStatus, Stage
from rapport.sales.service import pipelines

MIN_HISTORY = 5
CENT = Decimal("0.01")
DAY = 86400.0


@dataclass
class StageForecast:
    stage_id: uuid.UUID
    name: str
    currency: str
    open_deals: int
    open_amount: Decimal
    rate: float
    rate_source: str
    closed_history: int
    forecast: Decimal


def _owned(owner_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    return [] if owner_id is None else [Deal.owner_id == owner_id]


def _closed_in(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """Closed deals, closed in ``[since, until)`` when given."""
    where: list[ColumnElement[bool]] = [Deal.status != DealStatus.OPEN]
    if since is not None:
        where.append(Deal.closed_at >= since)
    if until is not None:
        where.append(Deal.closed_at < until)
    return where


def weighted_pipeline(
    ctx: Context, *, pipeline_id: uuid.UUID | None = None, owner_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Open amount and probability-weighted amount by expected-close month, owner, currency."""
    ctx.require("deals:read")
    month = _month(ctx, Deal.expected_close_date).label("month")
    query = (
        select(
            month,
            Deal.owner_id,
            Deal.currency,
            func.count(),
            func.sum(Deal.amount),
            func.sum(Deal.amount * Stage.probability),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Deal.status == DealStatus.OPEN, *_owned(owner_id))
        .group_by(month, Deal.owner_id, Deal.currency)
    )
    if pipeline_id is not None:
        query = query.where(Deal.pipeline_id == pipeline_id)
    rows = [
        {
            "month": m,
            "owner_id": owner,
            "currency": currency,
            "deals": count,
            "amount": _money(total),
            "weighted": _money(Decimal(weighted or 0) / 100),
        }
        for m, owner, currency, count, total, weighted in ctx.session.execute(query)
    ]
    return sorted(rows, key=lambda r: (r["month"] or "9999", str(r["owner_id"]), r["currency"]))


def stage_win_rates(
    ctx: Context,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    owner_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, tuple[int, int]]:
    """For each stage: (closed deals that ever entered it, of which won), of the deals closed
    in the period and of one owner when given."""
    ctx.require("deals:read")
    won = case((Deal.status == DealStatus.WON, DealStageHistory.deal_id))
    query = (
        select(
            DealStageHistory.stage_id,
            func.count(DealStageHistory.deal_id.distinct()),
            func.count(won.distinct()),
        )
        .join(Deal, Deal.id == DealStageHistory.deal_id)
        .where(*_closed_in(since, until), *_owned(owner_id))
        .group_by(DealStageHistory.stage_id)
    )
    return {stage: (closed, won_count) for stage, closed, won_count in ctx.session.execute(query)}


def forecast(
    ctx: Context,
    *,
    pipeline_id: uuid.UUID | None = None,
    min_history: int = MIN_HISTORY,
    since: datetime | None = None,
    until: datetime | None = None,
    owner_id: uuid.UUID | None = None,
) -> tuple[list[StageForecast], dict[str, Decimal]]:
    """Expected won amount of the open deals, stage by stage, from the conversion of the deals
    closed in the period (all history by default)."""
    ctx.require("deals:read")
    rates = stage_win_rates(ctx, since=since, until=until, owner_id=owner_id)
    query = (
        select(Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.amount))
        .where(Deal.status == DealStatus.OPEN, *_owned(owner_id))
        .group_by(Deal.stage_id, Deal.currency)
    )
    if pipeline_id is not None:
        query = query.where(Deal.pipeline_id == pipeline_id)
    open_rows = list(ctx.session.execute(query))
    stages = _stages(ctx, {row[0] for row in open_rows})
    result: list[StageForecast] = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for stage_id, currency, count, amount in open_rows:
        stage = stages[stage_id]
        closed, won = rates.get(stage_id, (0, 0))
        if closed >= min_history:
            rate, source = won / closed, "history"
        else:
            rate, source = stage.probability / 100, "static"
        expected = _money(Decimal(amount or 0) * Decimal(str(rate)))
        totals[currency] += expected
        result.append(
            StageForecast(stage_id, stage.name, currency, count, _money(amount), rate, source,
                          closed, expected)
        )  # fmt: skip
    result.sort(key=lambda f: (stages[f.stage_id].pipeline_id, stages[f.stage_id].position))
    return result, dict(totals)


def summary(
    ctx: Context,
    *,
    pipeline_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    owner_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Win rate, average won amount per currency and average sales cycle in days (of the deals
    closed in the period, when given)."""
    ctx.require("deals:read")
    scope: list[ColumnElement[bool]] = [*_closed_in(since, until), *_owned(owner_id)]
    if pipeline_id is not None:
        scope.append(Deal.pipeline_id == pipeline_id)
    counts = dict(
        ctx.session.execute(
            select(Deal.status, func.count()).where(*scope).group_by(Deal.status)
        ).all()
    )
    won, lost = counts.get(DealStatus.WON, 0), counts.get(DealStatus.LOST, 0)
    averages = ctx.session.execute(
        select(Deal.currency, func.avg(Deal.amount))
        .where(Deal.status == DealStatus.WON, *scope)
        .group_by(Deal.currency)
    ).all()
    cycle = ctx.session.scalar(
        select(func.avg(_seconds(ctx, Deal.created_at, Deal.closed_at))).where(
            Deal.status == DealStatus.WON, *scope
        )
    )
    return {
        "won": won,
        "lost": lost,
        "win_rate": won / (won + lost) if won + lost else None,
        "average_won_amount": {c: _money(a) for c, a in averages},
        "average_cycle_days": float(cycle) / DAY if cycle is not None else None,
    }


def funnel(
    ctx: Context,
    *,
    pipeline_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    owner_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Deals that entered each stage (in the period, when given; lost stages left out) and the
    share that went on."""
    ctx.require("deals:read")
    pipeline = pipelines.get(ctx, pipeline_id) if pipeline_id else pipelines.default_pipeline(ctx)
    if pipeline is None:
        return []
    stages = [s for s in pipelines.stages_of(ctx, pipeline.id) if not s.is_lost]
    stages.sort(key=lambda s: (s.is_won, s.position))
    query = select(
        DealStageHistory.stage_id, func.count(DealStageHistory.deal_id.distinct())
    ).where(DealStageHistory.stage_id.in_([s.id for s in stages]))
    if since is not None:
        query = query.where(DealStageHistory.entered_at >= since)
    if until is not None:
        query = query.where(DealStageHistory.entered_at < until)
    if owner_id is not None:
        query = query.join(Deal, Deal.id == DealStageHistory.deal_id).where(*_owned(owner_id))
    entered = dict(ctx.session.execute(query.group_by(DealStageHistory.stage_id)).all())
    rows = []
    for index, stage in enumerate(stages):
        here = entered.get(stage.id, 0)
        after = stages[index + 1] if index + 1 < len(stages) and not stage.is_won else None
        conversion = entered.get(after.id, 0) / here if after is not None and here else None
        rows.append(
            {"stage_id": stage.id, "name": stage.name, "entered": here,
             "conversion_to_next": conversion}
        )  # fmt: skip
    return rows


def bottlenecks(
    ctx: Context,
    *,
    pipeline_id: uuid.UUID | None = None,
    factor: float = 1.5,
    since: datetime | None = None,
    until: datetime | None = None,
    owner_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Per open stage: open deals' median days in it against the median stay of past deals in
    it (of all finished stays, or with a period, of the deals closed in it)."""
    ctx.require("deals:read")
    pipeline = pipelines.get(ctx, pipeline_id) if pipeline_id else pipelines.default_pipeline(ctx)
    if pipeline is None:
        return []
    stages = [s for s in pipelines.stages_of(ctx, pipeline.id) if not (s.is_won or s.is_lost)]
    ids = [s.id for s in stages]
    stay = _seconds(ctx, DealStageHistory.entered_at, DealStageHistory.left_at)
    past: list[Any] = [DealStageHistory.stage_id.in_(ids), DealStageHistory.left_at.is_not(None)]
    if since is not None or until is not None or owner_id is not None:
        deals_ = select(Deal.id).where(*_owned(owner_id))
        if since is not None or until is not None:
            deals_ = deals_.where(*_closed_in(since, until))
        past.append(DealStageHistory.deal_id.in_(deals_))
    history = _median_by(ctx, DealStageHistory.stage_id, stay, past)
    now = literal(utcnow(), UTCDateTime())
    waiting = _seconds(ctx, Deal.stage_entered_at, now)
    open_only = [Deal.stage_id.in_(ids), Deal.status == DealStatus.OPEN, *_owned(owner_id)]
    current = _median_by(ctx, Deal.stage_id, waiting, open_only)
    counts = dict(
        ctx.session.execute(
            select(Deal.stage_id, func.count()).where(*open_only).group_by(Deal.stage_id)
        ).all()
    )
    rows = []
    for stage in stages:
        now_days, past_days = current.get(stage.id), history.get(stage.id)
        ratio = now_days / past_days if now_days is not None and past_days else None
        rows.append(
            {"stage_id": stage.id, "name": stage.name, "open_deals": counts.get(stage.id, 0),
             "current_median_days": now_days, "historical_median_days": past_days,
             "ratio": ratio, "is_bottleneck": ratio is not None and ratio >= factor}
        )  # fmt: skip
    return rows


# --- SQL helpers that differ by database ----------------------------------------------------


def _dialect(ctx: Context) -> str:
    return ctx.session.get_bind().dialect.name


def _month(ctx: Context, column: Any) -> ColumnElement[str]:
    if _dialect(ctx) == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _seconds(ctx: Context, start: Any, end: Any) -> ColumnElement[float]:
    """Seconds from ``start`` to ``end`` (SQLite stores UTC text that julianday reads)."""
    if _dialect(ctx) == "postgresql":
        return cast(ColumnElement[float], extract("epoch", end - start))
    return (func.julianday(end) - func.julianday(start)) * DAY


def _median_by(
    ctx: Context, key: Any, value: ColumnElement[float], where: list[Any]
) -> dict[uuid.UUID, float]:
    """Median of ``value`` (seconds) per ``key``, in days. PostgreSQL has percentile_cont;
    SQLite gets the middle row(s) of each group from window functions."""
    query: Select[Any]
    if _dialect(ctx) == "postgresql":
        query = select(key, func.percentile_cont(0.5).within_group(value)).where(*where)
        query = query.group_by(key)
    else:
        ranked = (
            select(
                key.label("k"),
                value.label("v"),
                func.row_number().over(partition_by=key, order_by=value).label("rn"),
                func.count().over(partition_by=key).label("n"),
            )
            .where(*where)
            .subquery()
        )
        middle = and_(ranked.c.rn >= (ranked.c.n + 1) // 2, ranked.c.rn <= (ranked.c.n + 2) // 2)
        query = select(ranked.c.k, func.avg(ranked.c.v)).where(middle).group_by(ranked.c.k)
    return {k: float(v) / DAY for k, v in ctx.session.execute(query) if v is not None}


def _stages(ctx: Context, ids: set[uuid.UUID]) -> dict[uuid.UUID, Stage]:
    if not ids:
        return {}
    return {s.id: s for s in ctx.session.scalars(select(Stage).where(Stage.id.in_(list(ids))))}


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)
