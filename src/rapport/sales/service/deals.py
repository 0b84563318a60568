"""Deals: money in a currency moving through the stages of a pipeline.

Every stage change goes through :func:`_enter_stage`, which closes the open stay in
``deal_stage_history`` and opens the next, so the history is complete by construction. A won
or lost deal is closed: it moves again only after an explicit :func:`reopen`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy import update as sql_update

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import flush_unique, get_scoped
from rapport.core.errors import Conflict, FieldError, Invalid, NotFound, invalid
from rapport.core.events import Changes, check_version, diff_fields, record
from rapport.core.pagination import Page
from rapport.core.records import move_to_bin, record_type, restore_from_bin
from rapport.core.search import Document, index_documents
from rapport.core.topics import Topic
from rapport.hub.models import Activity, Company, Person
from rapport.hub.public import check_owner, fields, timeline_read, without_unchanged
from rapport.sales.events import (
    DEAL_CREATED,
    DEAL_LOST,
    DEAL_MOVED,
    DEAL_REOPENED,
    DEAL_UPDATED,
    DEAL_WON,
    DealStageEntered,
)
from rapport.sales.models import Deal, DealStageHistory, DealStatus, Pipeline, Stage
from rapport.sales.schemas import DealIn, DealPatch
from rapport.sales.service import pipelines


class DealClosed(Conflict):
    code = "deal-closed"
    title = "The deal is closed"


class DuplicateExternalId(Conflict):
    code = "duplicate-external-id"
    title = "Another deal in this workspace has this external id"


def _external_id_race() -> DuplicateExternalId:
    return DuplicateExternalId("This external id was just given to another deal")


def get(ctx: Context, deal_id: uuid.UUID, *, include_deleted: bool = False) -> Deal:
    """One deal of the workspace; NotFound otherwise."""
    ctx.require("deals:read")
    deal = get_scoped(ctx.session, Deal, deal_id, include_deleted=include_deleted)
    if deal is None:
        raise NotFound("No deal with this id")
    return deal


def create(ctx: Context, data: DealIn) -> Deal:
    """A new deal in the given (or default) pipeline, at the given (or first) stage."""
    ctx.require("deals:write")
    if data.pipeline_id is not None:
        pipeline = _pipeline_or_invalid(ctx, data.pipeline_id)
    elif data.stage_id is not None:
        stage = _stage_or_invalid(ctx, data.stage_id, None)
        pipeline = pipelines.get(ctx, stage.pipeline_id)
    else:  # the default pipeline; making the workspace's first one needs pipelines:write
        pipeline = pipelines.default_pipeline(ctx) or pipelines.ensure_default(ctx)
    stage = (
        _stage_or_invalid(ctx, data.stage_id, pipeline.id)
        if data.stage_id is not None
        else _first_open_stage(ctx, pipeline)
    )
    values = data.model_dump(exclude={"pipeline_id", "stage_id", "created_at"})
    values["owner_id"] = values["owner_id"] or ctx.user_id
    values["currency"] = pipelines.check_currency(values["currency"])
    _validate(ctx, values, pipeline, creating=True)
    _check_external_id(ctx, values, None)
    now = _past_or_now(data.created_at, ("created_at",))
    deal = Deal(
        workspace_id=ctx.workspace_id,
        created_at=now,
        pipeline_id=pipeline.id,
        stage_id=stage.id,
        stage_entered_at=now,
        status=_status_of(stage),
        closed_at=now if _status_of(stage) != DealStatus.OPEN else None,
        **values,
    )
    ctx.session.add(deal)
    flush_unique(ctx.session, _external_id_race)
    ctx.session.add(_stay(ctx, deal, stage, now))
    ctx.session.flush()
    changes: Changes = {k: (None, v) for k, v in values.items() if v is not None}
    changes["stage_id"] = (None, stage.id)
    if data.created_at is not None:
        changes["created_at"] = (None, now)  # back-dated: the audit says so
    record(ctx, DEAL_CREATED, deal.id, changes)
    reindex(ctx, deal)
    return deal


def update(
    ctx: Context, deal_id: uuid.UUID, patch: DealPatch, *, expected_version: int | None = None
) -> Deal:
    """Change the fields sent; 412 if the deal changed since ``expected_version``."""
    ctx.require("deals:write")
    deal = get(ctx, deal_id)
    check_version(deal.version, expected_version)
    values = without_unchanged(patch.model_dump(exclude_unset=True), deal, "owner_id")
    for name in ("title", "amount", "currency"):
        if name in values and values[name] is None:
            raise invalid((name,), "cannot be null")
    if "currency" in values:
        values["currency"] = pipelines.check_currency(values["currency"])
    _validate(
        ctx,
        values,
        pipelines.get(ctx, deal.pipeline_id),
        current_currency=deal.currency,
        existing_custom=deal.custom,
    )
    _check_external_id(ctx, values, deal.id)
    changes = diff_fields(deal, values)
    if changes:
        flush_unique(ctx.session, _external_id_race)
        record(ctx, DEAL_UPDATED, deal.id, changes)
        reindex(ctx, deal)
    return deal


def delete(ctx: Context, deal_id: uuid.UUID, *, expected_version: int | None = None) -> Deal:
    """Move a deal to the bin."""
    return move_to_bin(ctx, record_type("deal"), deal_id, expected_version=expected_version)


def restore(ctx: Context, deal_id: uuid.UUID) -> Deal:
    """Bring a deal back from the bin."""
    return restore_from_bin(ctx, record_type("deal"), deal_id)


def move_to_stage(
    ctx: Context, deal_id: uuid.UUID, stage_id: uuid.UUID, *, expected_version: int | None = None
) -> Deal:
    """Move an open deal to another stage of its pipeline (a won/lost stage closes it)."""
    ctx.require("deals:write")
    deal = get(ctx, deal_id)
    check_version(deal.version, expected_version)
    _require_open(deal)
    stage = _stage_or_invalid(ctx, stage_id, deal.pipeline_id)
    if stage.id != deal.stage_id:
        _enter_stage(ctx, deal, stage, topic=DEAL_MOVED)
    return deal


def move_to_pipeline(
    ctx: Context, deal_id: uuid.UUID, stage_id: uuid.UUID, *, expected_version: int | None = None
) -> Deal:
    """Move an open deal to an open stage of any pipeline (its pipeline follows the stage)."""
    ctx.require("deals:write")
    deal = get(ctx, deal_id)
    check_version(deal.version, expected_version)
    _require_open(deal)
    stage = _stage_or_invalid(ctx, stage_id, None)
    if stage.pipeline_id == deal.pipeline_id:
        if stage.id != deal.stage_id:
            _enter_stage(ctx, deal, stage, topic=DEAL_MOVED)
        return deal
    if stage.is_won or stage.is_lost:
        raise invalid(("stage_id",), "move it to an open stage, then close it", "closed-stage")
    old_pipeline = deal.pipeline_id
    deal.pipeline_id = stage.pipeline_id
    _enter_stage(
        ctx, deal, stage, topic=DEAL_MOVED, extra={"pipeline_id": (old_pipeline, stage.pipeline_id)}
    )
    return deal


def mark_won(
    ctx: Context,
    deal_id: uuid.UUID,
    *,
    reason: str | None,
    expected_version: int | None = None,
    closed_at: datetime | None = None,
) -> Deal:
    """Close an open deal as won, in its pipeline's won stage; ``closed_at`` records a close
    that happened earlier (history being loaded), else it closes now."""
    return _close(
        ctx, deal_id, won=True, reason=reason, expected_version=expected_version,
        closed_at=closed_at,
    )  # fmt: skip


def mark_lost(
    ctx: Context,
    deal_id: uuid.UUID,
    *,
    reason: str | None,
    expected_version: int | None = None,
    closed_at: datetime | None = None,
) -> Deal:
    """Close an open deal as lost, in its pipeline's lost stage, with the reason (and, for
    history, the past moment it was lost)."""
    return _close(
        ctx, deal_id, won=False, reason=reason, expected_version=expected_version,
        closed_at=closed_at,
    )  # fmt: skip


def reopen(
    ctx: Context,
    deal_id: uuid.UUID,
    *,
    stage_id: uuid.UUID | None = None,
    expected_version: int | None = None,
) -> Deal:
    """Reopen a closed deal, in ``stage_id`` or the open stage it was in before closing."""
    ctx.require("deals:write")
    deal = get(ctx, deal_id)
    check_version(deal.version, expected_version)
    if deal.status == DealStatus.OPEN:
        raise Conflict("The deal is already open")
    if stage_id is not None:
        stage = _stage_or_invalid(ctx, stage_id, deal.pipeline_id)
        if stage.is_won or stage.is_lost:
            raise invalid(("stage_id",), "reopen into an open stage", "closed-stage")
    else:
        stage = _previous_open_stage(ctx, deal) or _first_open_stage(
            ctx, pipelines.get(ctx, deal.pipeline_id)
        )
    deal.close_reason = None
    _enter_stage(ctx, deal, stage, topic=DEAL_REOPENED)
    return deal


def timeline(ctx: Context, deal_id: uuid.UUID, **window: Any) -> Page[Activity]:
    """A page of the activities about the deal, newest first; NotFound for an unknown deal
    (``window``: kinds, channels, before, after, limit, cursor as a person's timeline)."""
    deal = get(ctx, deal_id)
    return timeline_read.list_activities(ctx, deal_id=deal.id, **window)


def history(ctx: Context, deal_id: uuid.UUID) -> list[DealStageHistory]:
    """The deal's stays in each stage, oldest first."""
    deal = get(ctx, deal_id)
    query = select(DealStageHistory).where(DealStageHistory.deal_id == deal.id)
    return list(ctx.session.scalars(query.order_by(DealStageHistory.entered_at)))


def of_record(ctx: Context, limit: int, **link: uuid.UUID) -> list[tuple[Deal, str]]:
    """Up to ``limit`` deals of one person or company (``person_id=`` or ``company_id=``) with
    their stage names, in one query for its page: the open ones by expected close date (the
    most pressing first), then the closed ones, the latest first."""
    ctx.require("deals:read")
    ((name, value),) = link.items()
    is_open = Deal.status == DealStatus.OPEN
    query = (
        select(Deal, Stage.name)
        .join(Stage, Stage.id == Deal.stage_id)
        .where(getattr(Deal, name) == value)
        .order_by(
            case((is_open, 0), else_=1),
            case((is_open, Deal.expected_close_date)).asc().nulls_last(),
            Deal.closed_at.desc(),
            Deal.id,
        )
        .limit(limit)
    )
    return [(deal, stage) for deal, stage in ctx.session.execute(query)]


# --- internals ------------------------------------------------------------------------------


def _past_or_now(moment: datetime | None, loc: tuple[str, ...]) -> datetime:
    """``moment`` checked to be a real past instant (history being loaded), or now."""
    now = utcnow()
    if moment is None:
        return now
    if moment.tzinfo is None:
        raise invalid(loc, "give a time zone (e.g. 2026-03-01T10:00:00Z)", "naive-datetime")
    if moment > now:
        raise invalid(loc, "cannot be in the future", "in-the-future")
    return moment


def _close(
    ctx: Context,
    deal_id: uuid.UUID,
    *,
    won: bool,
    reason: str | None,
    expected_version: int | None,
    closed_at: datetime | None = None,
) -> Deal:
    ctx.require("deals:write")
    deal = get(ctx, deal_id)
    check_version(deal.version, expected_version)
    _require_open(deal)
    moment = _past_or_now(closed_at, ("closed_at",))
    if closed_at is not None and moment < _aware(deal.stage_entered_at):
        raise invalid(
            ("closed_at",),
            "cannot be before the deal was created or entered its current stage "
            f"({_aware(deal.stage_entered_at).isoformat()})",
            "before-stage",
        )
    flag = Stage.is_won if won else Stage.is_lost
    stage = ctx.session.scalars(
        select(Stage)
        .where(Stage.pipeline_id == deal.pipeline_id, flag.is_(True), Stage.archived_at.is_(None))
        .order_by(Stage.position)
    ).first()
    if stage is None:
        outcome = "won" if won else "lost"
        raise invalid(("stage_id",), f"this pipeline has no {outcome} stage", "no-closing-stage")
    deal.close_reason = (reason or "").strip() or None
    extra: Changes = {"closed_at": (None, moment)} if closed_at is not None else {}
    _enter_stage(ctx, deal, stage, topic=DEAL_WON if won else DEAL_LOST, extra=extra, at=moment)
    return deal


def _aware(moment: datetime) -> datetime:
    """A stored instant as UTC-aware (SQLite gives it back naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _enter_stage(
    ctx: Context,
    deal: Deal,
    stage: Stage,
    *,
    topic: Topic[DealStageEntered],
    extra: Changes | None = None,
    at: datetime | None = None,
) -> None:
    now = at or utcnow()
    ctx.session.execute(
        sql_update(DealStageHistory)
        .where(DealStageHistory.deal_id == deal.id, DealStageHistory.left_at.is_(None))
        .values(left_at=now)
        .execution_options(synchronize_session=False)
    )
    old_stage, old_status = deal.stage_id, deal.status
    deal.stage_id = stage.id
    deal.stage_entered_at = now
    deal.status = _status_of(stage)
    deal.closed_at = now if deal.status != DealStatus.OPEN else None
    ctx.session.add(_stay(ctx, deal, stage, now))
    ctx.session.flush()
    changes: Changes = {"stage_id": (old_stage, stage.id), **(extra or {})}
    if old_status != deal.status:
        changes["status"] = (old_status, deal.status)
    record(ctx, topic, deal.id, changes, payload={"reason": deal.close_reason})
    reindex(ctx, deal)


def _stay(ctx: Context, deal: Deal, stage: Stage, entered_at: Any) -> DealStageHistory:
    return DealStageHistory(
        workspace_id=ctx.workspace_id,
        deal_id=deal.id,
        stage_id=stage.id,
        entered_at=entered_at,
        actor_id=ctx.user_id,
    )


def _status_of(stage: Stage) -> DealStatus:
    if stage.is_won:
        return DealStatus.WON
    return DealStatus.LOST if stage.is_lost else DealStatus.OPEN


def _require_open(deal: Deal) -> None:
    if deal.status != DealStatus.OPEN:
        raise DealClosed(f"The deal is {deal.status}; reopen it before moving it")


def _pipeline_or_invalid(ctx: Context, pipeline_id: uuid.UUID) -> Pipeline:
    pipeline = get_scoped(ctx.session, Pipeline, pipeline_id)
    if pipeline is None:
        raise invalid(("pipeline_id",), "no pipeline with this id", "unknown-pipeline")
    return pipeline


def _stage_or_invalid(ctx: Context, stage_id: uuid.UUID, pipeline_id: uuid.UUID | None) -> Stage:
    stage = get_scoped(ctx.session, Stage, stage_id)
    if stage is None or (pipeline_id is not None and stage.pipeline_id != pipeline_id):
        raise invalid(
            ("stage_id",), "no stage with this id in the deal's pipeline", "unknown-stage"
        )
    if stage.archived_at is not None:
        raise invalid(("stage_id",), f"the stage “{stage.name}” is archived", "archived-stage")
    return stage


def _first_open_stage(ctx: Context, pipeline: Pipeline) -> Stage:
    for stage in pipelines.stages_of(ctx, pipeline.id):
        if not (stage.is_won or stage.is_lost):
            return stage
    raise invalid(("pipeline_id",), "this pipeline has no open stage", "no-open-stage")


def _previous_open_stage(ctx: Context, deal: Deal) -> Stage | None:
    query = (
        select(Stage)
        .join(DealStageHistory, DealStageHistory.stage_id == Stage.id)
        .where(DealStageHistory.deal_id == deal.id, Stage.archived_at.is_(None))
        .where(Stage.is_won.is_(False), Stage.is_lost.is_(False))
        .order_by(DealStageHistory.entered_at.desc())
    )
    return ctx.session.scalars(query.limit(1)).first()


def _validate(
    ctx: Context,
    values: dict[str, Any],
    pipeline: Pipeline,
    *,
    current_currency: str | None = None,
    creating: bool = False,
    existing_custom: dict[str, Any] | None = None,
) -> None:
    """Amount, currency, owner, links and custom values (merged into ``values["custom"]``);
    every problem at once, as one Invalid."""
    errors: list[FieldError] = []
    if "custom" in values or creating:
        merged, custom_errors = fields.validate_values(
            ctx, "deal", values.get("custom") or {}, existing=existing_custom
        )
        values["custom"] = merged
        errors += custom_errors
    amount = values.get("amount")
    if isinstance(amount, Decimal) and amount < 0:
        errors.append(FieldError(("amount",), "must be zero or more", "negative-amount"))
    currency = values.get("currency", current_currency)
    if pipeline.currency and currency and currency != pipeline.currency:
        message = f"currency mismatch: the pipeline uses {pipeline.currency}, not {currency}"
        errors.append(FieldError(("currency",), message, "currency-mismatch"))
    if "owner_id" in values:
        errors += check_owner(ctx, values["owner_id"])
    for name, model in (("person_id", Person), ("company_id", Company)):
        linked = values.get(name)
        if linked is not None and get_scoped(ctx.session, model, linked) is None:
            errors.append(FieldError((name,), f"no {name[:-3]} with this id", f"unknown-{name}"))
    if errors:
        summary = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.message}" for e in errors)
        raise Invalid(summary, errors=errors)


def _check_external_id(ctx: Context, values: dict[str, Any], deal_id: uuid.UUID | None) -> None:
    """An external id sent is trimmed (blank: none) and must name no other deal, even one in
    the bin; DuplicateExternalId otherwise."""
    if "external_id" not in values:
        return
    external_id = values["external_id"] = (values["external_id"] or "").strip() or None
    if external_id is None:
        return
    owner = ctx.session.execute(
        select(Deal.id, Deal.title, Deal.deleted_at)
        .where(Deal.external_id == external_id)
        .execution_options(include_deleted=True)
    ).first()
    if owner is not None and owner.id != deal_id:  # named by its title, not its id
        title = f"“{owner.title}”" + (" (in the bin)" if owner.deleted_at is not None else "")
        error = FieldError(("external_id",), f"already names the deal {title}", "duplicate")
        raise DuplicateExternalId(
            f"the deal {title} already has the external id {external_id!r}", errors=[error]
        )


def search_document(ctx: Context, deal: Deal) -> Document:
    """The deal as search knows it: found by its title, its company's and its contact's names;
    shown with its stage and amount."""
    stage = ctx.session.get(Stage, deal.stage_id)
    company = ctx.session.get(Company, deal.company_id) if deal.company_id else None
    person = ctx.session.get(Person, deal.person_id) if deal.person_id else None
    amount = f"{deal.amount:,.2f}".removesuffix(".00") + f" {deal.currency}"
    subtitle = " · ".join(
        part for part in (stage.name if stage else None, amount, company and company.name) if part
    )
    parts = [
        company.name if company else None,
        person.full_name if person else None,
        person.email if person else None,
    ]
    return Document("deal", deal.id, deal.title, subtitle, parts)


def reindex(ctx: Context, deal: Deal) -> None:
    """Write the deal's search document again."""
    index_documents(ctx.session, ctx.workspace_id, [search_document(ctx, deal)])


def reindex_linked(
    ctx: Context,
    *,
    person_ids: Sequence[uuid.UUID] = (),
    company_ids: Sequence[uuid.UUID] = (),
) -> int:
    """Write again the search documents of the deals of these people and companies (their
    names changed, or a merge moved deals to them); how many were written."""
    conditions = []
    if person_ids:
        conditions.append(Deal.person_id.in_(person_ids))
    if company_ids:
        conditions.append(Deal.company_id.in_(company_ids))
    if not conditions:
        return 0
    found = list(ctx.session.scalars(select(Deal).where(or_(*conditions)).limit(5000)))
    if found:
        documents = [search_document(ctx, deal) for deal in found]
        index_documents(ctx.session, ctx.workspace_id, documents)
    return len(found)


def reindex_all(ctx: Context, *, batch: int = 500) -> int:
    """Write the search document of every live deal of the workspace again (the backfill of
    deals indexed before they carried their stage and names); how many were written."""
    ctx.require("deals:write")
    written, after = 0, None
    while True:
        query = select(Deal).order_by(Deal.id).limit(batch)
        if after is not None:
            query = query.where(Deal.id > after)
        found = list(ctx.session.scalars(query))
        if not found:
            return written
        documents = [search_document(ctx, deal) for deal in found]
        index_documents(ctx.session, ctx.workspace_id, documents)
        written += len(found)
        after = found[-1].id


def empty_stage(ctx: Context, stage: Stage, target: Stage) -> int:
    """Move every deal of ``stage`` (the bin's too) to ``target`` of the same pipeline, each
    with its stage history and audit entry; the count moved. The caller's transaction holds
    it all, so either every deal moves or none does."""
    ctx.require("deals:write")
    query = (
        select(Deal)
        .where(Deal.stage_id == stage.id)
        .order_by(Deal.id)
        .execution_options(include_deleted=True)
    )
    moved = 0
    for deal in ctx.session.scalars(query).all():
        _enter_stage(ctx, deal, target, topic=DEAL_MOVED)
        moved += 1
    return moved
