"""Lead scoring: the workspace's rules, the predictive model, and each person's score with
its reasons and win probability."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx, IfMatch
from rapport.sales.models import ScoringModel, ScoringRule
from rapport.sales.schemas import PersonScoreOut, RuleIn, RuleOut, RulePatch, ScoringModelOut
from rapport.sales.service import predictive, scoring, scoring_live

router = domain_router(tags=["lead scoring"])
AsOf = Annotated[
    datetime | None,
    Query(description="Use only what was known by this instant (UTC when no zone); default now"),
]


def _utc(as_of: datetime | None) -> datetime | None:
    """A date or instant without a zone is read as UTC."""
    return as_of.replace(tzinfo=UTC) if as_of is not None and as_of.tzinfo is None else as_of


@router.get(
    "/scoring/rules",
    response_model=list[RuleOut],
    responses=problems(401, 403),
    dependencies=[requires("people:read")],
)
def list_rules(ctx: Ctx) -> list[ScoringRule]:
    """The workspace's scoring rules."""
    return scoring.list_rules(ctx)


@router.post(
    "/scoring/rules",
    response_model=RuleOut,
    status_code=201,
    responses=problems(401, 403, 422),
    dependencies=[requires("scoring:write")],
)
def create_rule(body: RuleIn, ctx: Ctx) -> ScoringRule:
    """Add a fit or engagement rule."""
    return scoring.create_rule(ctx, body)


@router.patch(
    "/scoring/rules/{rule_id}",
    response_model=RuleOut,
    responses=problems(401, 403, 404, 412, 422),
    dependencies=[requires("scoring:write")],
)
def update_rule(rule_id: uuid.UUID, body: RulePatch, ctx: Ctx, version: IfMatch) -> ScoringRule:
    """Change a rule."""
    return scoring.update_rule(ctx, rule_id, body, expected_version=version)


@router.delete(
    "/scoring/rules/{rule_id}",
    status_code=204,
    responses=problems(401, 403, 404),
    dependencies=[requires("scoring:write")],
)
def delete_rule(rule_id: uuid.UUID, ctx: Ctx) -> None:
    """Remove a rule."""
    scoring.delete_rule(ctx, rule_id)


@router.get(
    "/people/{person_id}/score",
    response_model=PersonScoreOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("people:read")],
)
def get_score(person_id: uuid.UUID, ctx: Ctx, as_of: AsOf = None) -> scoring_live.PersonScore:
    """The person's latest rule score with its reasons, and the predictive win probability
    (or, without a trained model, why there is none); ``as_of`` scores from what was known
    then (engagement counted before it and decayed from it)."""
    return scoring_live.person_score(ctx, person_id, as_of=_utc(as_of))


@router.post(
    "/people/{person_id}/score",
    response_model=PersonScoreOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("leads:write")],
)
def rescore(person_id: uuid.UUID, ctx: Ctx) -> scoring_live.PersonScore:
    """Score the person again now under the current rules and model, and keep the result."""
    return scoring_live.rescore_person(ctx, person_id)


@router.get(
    "/sales/scoring/model",
    response_model=ScoringModelOut,
    responses=problems(401, 403),
    dependencies=[requires("people:read")],
)
def get_model(ctx: Ctx) -> ScoringModelOut:
    """The predictive model: held-out AUC (and the rules' AUC on the same people), sample
    sizes, when it was trained and what weighs most."""
    model = predictive.get_model(ctx)
    if model is None:
        return ScoringModelOut(status="untrained", reason=scoring_live.NO_MODEL)
    return _model_out(model)


@router.post(
    "/sales/scoring/model/train",
    response_model=ScoringModelOut,
    responses=problems(401, 403),
    dependencies=[requires("scoring:write")],
)
def train_model(ctx: Ctx, as_of: AsOf = None) -> ScoringModelOut:
    """Train on the workspace's leads and what became of them by ``as_of`` (default now),
    time-correctly (or record the fallback to rules when there is too little), then rescore
    every lead. The answer carries the leakage guard's warnings."""
    return _model_out(scoring_live.train(ctx, as_of=_utc(as_of)))


def _model_out(model: ScoringModel) -> ScoringModelOut:
    out = ScoringModelOut.model_validate(model)
    return out.model_copy(update=predictive.quality(model))


@router.get(
    "/sales/scoring/rules/suggested",
    response_model=list[RuleIn],
    responses=problems(401, 403, 422),
    dependencies=[requires("people:read")],
)
def suggested_rules(ctx: Ctx, as_of: AsOf = None) -> list[RuleIn]:
    """Rules derived from the workspace's own history (each engagement kind, industry and
    size band worth points by its lift on conversion); post the ones you want to /scoring/rules."""
    return predictive.suggested_rules(ctx, _utc(as_of))
