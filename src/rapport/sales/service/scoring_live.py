"""A person's whole score — the rule score with its reasons and the predictive probability
(or why there is none) — and keeping the stored copy (``lead_scores``) fresh when a lead is
captured, an activity arrives, the person or their company changes, or the model retrains."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.events import record
from rapport.hub.models import LifecycleStage, Person
from rapport.sales.events import LEAD_SCORE_UPDATED
from rapport.sales.models import LeadScore, ScoringModel
from rapport.sales.service import predictive, scoring

PROSPECT_STAGES = (
    LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD, LifecycleStage.MARKETING_QUALIFIED,
    LifecycleStage.SALES_QUALIFIED, LifecycleStage.OPPORTUNITY,
)  # fmt: skip
NO_MODEL = "No predictive model trained yet; scores come from the rules alone"


@dataclass
class PersonScore:
    """What the score endpoint and the pages show."""

    person_id: uuid.UUID
    score: int
    reasons: list[dict[str, Any]]
    computed_at: datetime | None
    probability: float | None = None
    fallback_reason: str | None = None
    factors: list[dict[str, Any]] = field(default_factory=list)
    model_auc: float | None = None
    model_trained_at: datetime | None = None
    model_warnings: list[str] = field(default_factory=list)


def _why_not(model: ScoringModel | None) -> str | None:
    if model is None:
        return NO_MODEL
    return model.reason if model.status != "trained" else None


def _whole(
    rule: scoring.Scored, model: ScoringModel | None, predicted: tuple[float, list[Any]] | None
) -> PersonScore:
    result = PersonScore(rule.person_id, rule.score, rule.reasons, rule.computed_at)
    result.fallback_reason = _why_not(model)
    if model is not None and model.status == "trained":
        result.model_auc, result.model_trained_at = model.auc, model.trained_at
        result.model_warnings = predictive.warnings(model)
    if predicted is not None:
        result.probability, result.factors = predicted[0], _labelled(predicted[1])
    return result


def _labelled(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**f, "label": predictive.label(f["feature"])} for f in found]


def person_score(
    ctx: Context, person_id: uuid.UUID, *, as_of: datetime | None = None
) -> PersonScore:
    """The stored score (or one computed now when the person was never scored), with the
    predictive probability under the current model; with ``as_of``, both as they were from
    what was known then (computed, not stored)."""
    ctx.require("people:read")
    rule = (
        scoring.latest(ctx, person_id)
        if as_of is None
        else scoring.score(ctx, person_id, as_of=as_of)
    )
    model = predictive.current(ctx)
    predicted = predictive.probabilities(ctx, [person_id], model, as_of=as_of).get(person_id)
    return _whole(rule, model, predicted)


def rescore_person(ctx: Context, person_id: uuid.UUID) -> PersonScore:
    """Compute both scores now and store them as the person's latest; an event is recorded
    only when the score or the probability changed (rescoring runs on every activity)."""
    ctx.require("leads:write")
    rule = scoring.score(ctx, person_id)
    model = predictive.current(ctx)
    predicted = predictive.probabilities(ctx, [person_id], model).get(person_id)
    stored = _stored(ctx, [person_id]).get(person_id)
    _store(ctx, rule, predicted[0] if predicted else None, stored)
    ctx.session.flush()
    return _whole(rule, model, predicted)


def _still_here(ctx: Context, ids: list[uuid.UUID], only_worth: bool) -> list[uuid.UUID]:
    """``ids`` of people that exist (deleted ones are hidden by the session), in order."""
    query = select(Person.id).where(Person.id.in_(ids))
    if only_worth:
        scored = select(LeadScore.person_id).where(LeadScore.person_id == Person.id).exists()
        query = query.where(Person.lifecycle_stage.in_(PROSPECT_STAGES) | scored)
    present = set(ctx.session.scalars(query))
    return [person_id for person_id in ids if person_id in present]


def _worth_scoring(ctx: Context, person: Person) -> bool:
    """Prospects, and anybody whose score is already stored (it must not go stale); a
    customer's hundredth support email does not need a lead score."""
    if person.lifecycle_stage in PROSPECT_STAGES:
        return True
    query = select(LeadScore.id).where(LeadScore.person_id == person.id)
    return ctx.session.scalar(query) is not None


def rescore_if_present(ctx: Context, person_id: uuid.UUID | None) -> bool:
    """:func:`rescore_person` for event consumers: a person deleted since, or one who is no
    prospect and was never scored, is skipped. Says whether it rescored."""
    person = get_scoped(ctx.session, Person, person_id) if person_id is not None else None
    if person is None or not _worth_scoring(ctx, person):
        return False
    rescore_person(ctx, person.id)
    return True


def company_people(ctx: Context, company_id: uuid.UUID) -> list[uuid.UUID]:
    """The people at a company (whose size or industry changed, so their fit points move)."""
    return list(ctx.session.scalars(select(Person.id).where(Person.company_id == company_id)))


def rescore_company(ctx: Context, company_id: uuid.UUID) -> int:
    """Rescore the people at a company worth scoring; returns how many."""
    return rescore_people(ctx, company_people(ctx, company_id), only_worth_scoring=True)


def lead_ids(ctx: Context) -> list[uuid.UUID]:
    """Every lead and everybody already scored (what a retrain or a rule change rescores);
    scores of people deleted since are not theirs to refresh."""
    leads = select(Person.id).where(Person.lifecycle_stage == LifecycleStage.LEAD)
    scored = select(LeadScore.person_id).join(Person, Person.id == LeadScore.person_id)
    return sorted(set(ctx.session.scalars(leads)) | set(ctx.session.scalars(scored)))


def rescore_leads(ctx: Context, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Rescore every lead and everybody already scored (after a retrain or a rule change)."""
    ctx.require("leads:write")
    return rescore_people(ctx, lead_ids(ctx), progress=progress)


def rescore_people(
    ctx: Context,
    person_ids: Sequence[uuid.UUID],
    *,
    only_worth_scoring: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rescore many people, computing predictive features a chunk at a time. People who no
    longer exist (deleted since the work was queued) are skipped, not an error; with
    ``only_worth_scoring``, so is anyone who is no prospect and was never scored."""
    ctx.require("leads:write")
    ordered = list(dict.fromkeys(person_ids))
    model = predictive.current(ctx)
    done = 0
    for start in range(0, len(ordered), predictive.CHUNK):
        chunk = _still_here(ctx, ordered[start : start + predictive.CHUNK], only_worth_scoring)
        predicted = predictive.probabilities(ctx, chunk, model)
        scored = scoring.score_many(ctx, chunk)
        stored = _stored(ctx, chunk)
        for person_id in chunk:
            hit = predicted.get(person_id)
            _store(ctx, scored[person_id], hit[0] if hit else None, stored.get(person_id))
        ctx.session.flush()
        done += len(chunk)
        if progress:
            progress(done, len(ordered))
    return done


def train(
    ctx: Context,
    *,
    as_of: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScoringModel:
    """Train the workspace's model on what was known by ``as_of`` (default now), then bring
    every stored (current) score up to date with it."""
    model = predictive.train(ctx, as_of=as_of)
    rescore_leads(ctx, progress=progress)
    return model


def _stored(ctx: Context, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LeadScore]:
    query = select(LeadScore).where(LeadScore.person_id.in_(person_ids))
    return {row.person_id: row for row in ctx.session.scalars(query)}


def _store(
    ctx: Context, rule: scoring.Scored, probability: float | None, stored: LeadScore | None
) -> None:
    """Keep ``rule``'s score as the person's latest (``stored`` is the row there is, if any);
    the caller flushes, once per batch."""
    old: tuple[int | None, float | None] = (None, None)
    if stored is None:
        stored = LeadScore(workspace_id=ctx.workspace_id, person_id=rule.person_id)
        ctx.session.add(stored)
    else:
        old = (stored.score, stored.probability)
    stored.score, stored.reasons, stored.probability = rule.score, rule.reasons, probability
    stored.computed_at = rule.computed_at
    if old != (rule.score, probability):
        changes = {"score": (old[0], rule.score), "probability": (old[1], probability)}
        record(ctx, LEAD_SCORE_UPDATED, rule.person_id, changes)
