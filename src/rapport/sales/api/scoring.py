"""Lead scoring: the workspace's rules, and each person's score with its reasons."""

from __future__ import annotations

import uuid

from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx, IfMatch
from rapport.sales.models import ScoringRule
from rapport.sales.schemas import RuleIn, RuleOut, RulePatch, ScoreOut
from rapport.sales.service import scoring

router = domain_router(tags=["lead scoring"])


@router.get("/scoring/rules", response_model=list[RuleOut], responses=problems(401, 403))
def list_rules(ctx: Ctx) -> list[ScoringRule]:
    """The workspace's scoring rules."""
    return scoring.list_rules(ctx)


@router.post(
    "/scoring/rules", response_model=RuleOut, status_code=201, responses=problems(401, 403, 422)
)
def create_rule(body: RuleIn, ctx: Ctx) -> ScoringRule:
    """Add a fit or engagement rule."""
    return scoring.create_rule(ctx, body)


@router.patch(
    "/scoring/rules/{rule_id}", response_model=RuleOut, responses=problems(401, 403, 404, 412, 422)
)
def update_rule(rule_id: uuid.UUID, body: RulePatch, ctx: Ctx, version: IfMatch) -> ScoringRule:
    """Change a rule."""
    return scoring.update_rule(ctx, rule_id, body, expected_version=version)


@router.delete("/scoring/rules/{rule_id}", status_code=204, responses=problems(401, 403, 404))
def delete_rule(rule_id: uuid.UUID, ctx: Ctx) -> None:
    """Remove a rule."""
    scoring.delete_rule(ctx, rule_id)


@router.get("/people/{person_id}/score", response_model=ScoreOut, responses=problems(401, 403, 404))
def get_score(person_id: uuid.UUID, ctx: Ctx) -> scoring.Scored:
    """The person's latest score and the rules behind it."""
    return scoring.latest(ctx, person_id)


@router.post(
    "/people/{person_id}/score", response_model=ScoreOut, responses=problems(401, 403, 404)
)
def rescore(person_id: uuid.UUID, ctx: Ctx) -> scoring.Scored:
    """Score the person again now under the current rules, and keep the result."""
    return scoring.rescore(ctx, person_id)
