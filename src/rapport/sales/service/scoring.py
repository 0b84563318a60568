"""Lead scoring by transparent, per-workspace rules: fit (job title, company size, industry,
custom fields) and engagement (timeline activities, each worth less as it ages:
points * 0.5^(age in days / half-life)). Every score comes with the rules that made it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import NotFound, invalid
from rapport.core.events import check_version, diff_fields, record
from rapport.hub.models import Activity, Company, Person
from rapport.sales.events import SCORING_RULE_CREATED, SCORING_RULE_DELETED, SCORING_RULE_UPDATED
from rapport.sales.models import LeadScore, ScoringRule
from rapport.sales.schemas import RuleIn, RulePatch

MAX_ACTIVITIES = 1000  # per engagement rule; older ones are worth next to nothing anyway
_PARAMS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "job_title_contains": {"text": str},
    "company_size_between": {"min": (int, type(None)), "max": (int, type(None))},
    "industry_equals": {"industry": str},
    "custom_field_equals": {"key": str, "value": (str, int, float, bool)},
    "engagement": {
        "kind": str, "channel": (str, type(None)), "source": (str, type(None)),
        "half_life_days": (int, float), "max_points": (int, float, type(None)),
    },
}  # fmt: skip
_REQUIRED = {"job_title_contains": {"text"}, "industry_equals": {"industry"},
             "custom_field_equals": {"key", "value"}, "engagement": {"kind"},
             "company_size_between": set()}  # fmt: skip


@dataclass
class Scored:
    person_id: uuid.UUID
    score: int
    reasons: list[dict[str, Any]] = field(default_factory=list)
    computed_at: Any = None


def list_rules(ctx: Context) -> list[ScoringRule]:
    """The workspace's scoring rules."""
    ctx.require("people:read")
    query = select(ScoringRule).order_by(ScoringRule.position, ScoringRule.created_at)
    return list(ctx.session.scalars(query))


def create_rule(ctx: Context, data: RuleIn) -> ScoringRule:
    """Add a rule; its params are checked against its kind."""
    ctx.require("scoring:write")
    count = ctx.session.scalar(select(func.count()).select_from(ScoringRule)) or 0
    rule = ScoringRule(
        workspace_id=ctx.workspace_id,
        position=count,
        name=data.name,
        kind=data.kind,
        params=_check_params(data.kind, data.params),
        points=data.points,
        is_active=data.is_active,
    )
    ctx.session.add(rule)
    ctx.session.flush()
    record(ctx, SCORING_RULE_CREATED, rule.id, {"name": (None, rule.name)})
    return rule


def update_rule(
    ctx: Context, rule_id: uuid.UUID, patch: RulePatch, *, expected_version: int | None
) -> ScoringRule:
    """Change a rule's name, params, points or whether it counts."""
    ctx.require("scoring:write")
    rule = _rule(ctx, rule_id)
    check_version(rule.version, expected_version)
    values = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None}
    if "params" in values:
        values["params"] = _check_params(rule.kind, values["params"])
    changes = diff_fields(rule, values)
    if changes:
        ctx.session.flush()
        record(ctx, SCORING_RULE_UPDATED, rule.id, changes)
    return rule


def delete_rule(ctx: Context, rule_id: uuid.UUID) -> None:
    """Remove a rule (scores change at the next rescore)."""
    ctx.require("scoring:write")
    rule = _rule(ctx, rule_id)
    ctx.session.delete(rule)
    ctx.session.flush()
    record(ctx, SCORING_RULE_DELETED, rule.id, {"name": (rule.name, None)})


def score(ctx: Context, person_id: uuid.UUID, *, as_of: datetime | None = None) -> Scored:
    """The person's score under the current rules, with one reason per rule that counted
    (from what was known by ``as_of``, default now)."""
    ctx.require("people:read")
    if get_scoped(ctx.session, Person, person_id) is None:
        raise NotFound("No person with this id")
    return score_many(ctx, [person_id], as_of=as_of)[person_id]


def score_many(
    ctx: Context,
    person_ids: Sequence[uuid.UUID],
    *,
    as_of: Mapping[uuid.UUID, datetime] | datetime | None = None,
) -> dict[uuid.UUID, Scored]:
    """The scores of many people in a few queries (one per engagement rule, not per person):
    a rescore of every lead is bounded by its batches, not by round trips. People who do not
    exist are left out. ``as_of`` (one instant, or one per person; default now) is the
    moment engagement is counted up to (strictly before) and decays from, so a score of
    loaded history is the score it had then."""
    ctx.require("people:read")
    now = utcnow()
    at = _moments(as_of, now)
    wanted = list(dict.fromkeys(person_ids))
    if not wanted:
        return {}
    people = list(ctx.session.scalars(select(Person).where(Person.id.in_(wanted))))
    company_ids = {p.company_id for p in people if p.company_id is not None}
    companies = (
        {c.id: c for c in ctx.session.scalars(select(Company).where(Company.id.in_(company_ids)))}
        if company_ids
        else {}
    )
    rules = list(
        ctx.session.scalars(
            select(ScoringRule)
            .where(ScoringRule.is_active.is_(True))
            .order_by(ScoringRule.position, ScoringRule.created_at)
        )
    )
    engaged = {
        rule.id: _engagement_many(ctx, rule, [p.id for p in people], at)
        for rule in rules
        if rule.kind not in _FIT_KINDS
    }
    found: dict[uuid.UUID, Scored] = {}
    for person in people:
        company = companies.get(person.company_id) if person.company_id else None
        reasons: list[dict[str, Any]] = []
        for rule in rules:
            if rule.kind in _FIT_KINDS:
                points = _fit_points(rule, person, company)
            else:
                points = engaged[rule.id].get(person.id, 0.0)
            if points:
                reasons.append({"rule": rule.name, "rule_id": str(rule.id), "points": points})
        total = round(sum(r["points"] for r in reasons))
        found[person.id] = Scored(person.id, total, reasons, at(person.id))
    return found


def _moments(
    as_of: Mapping[uuid.UUID, datetime] | datetime | None, now: datetime
) -> Callable[[uuid.UUID], datetime]:
    if as_of is None:
        return lambda _: now
    if isinstance(as_of, datetime):
        return lambda _: as_of
    return lambda pid: as_of.get(pid, now)


def latest(ctx: Context, person_id: uuid.UUID) -> Scored:
    """The stored score, or (never scored yet) one computed now without storing it."""
    ctx.require("people:read")
    if get_scoped(ctx.session, Person, person_id) is None:
        raise NotFound("No person with this id")
    stored = ctx.session.scalars(select(LeadScore).where(LeadScore.person_id == person_id)).first()
    if stored is None:
        return score(ctx, person_id)
    return Scored(person_id, stored.score, list(stored.reasons), stored.computed_at)


_FIT_KINDS = frozenset(
    {"job_title_contains", "company_size_between", "industry_equals", "custom_field_equals"}
)


def _fit_points(rule: ScoringRule, person: Person, company: Company | None) -> float:
    p = rule.params
    if rule.kind == "job_title_contains":
        hit = str(p["text"]).lower() in (person.job_title or "").lower()
    elif rule.kind == "company_size_between":
        size = company.size if company else None
        hit = size is not None and (p.get("min") is None or size >= p["min"])
        hit = hit and (p.get("max") is None or size <= p["max"])
    elif rule.kind == "industry_equals":
        hit = bool(company and (company.industry or "").lower() == str(p["industry"]).lower())
    else:  # custom_field_equals
        hit = (person.custom or {}).get(p["key"]) == p["value"]
    return float(rule.points) if hit else 0.0


def _engagement_many(
    ctx: Context,
    rule: ScoringRule,
    person_ids: list[uuid.UUID],
    at: Callable[[uuid.UUID], datetime],
) -> dict[uuid.UUID, float]:
    """Each person's engagement points under ``rule``: each matching activity (the latest
    ``MAX_ACTIVITIES`` a person has) is worth ``points * 0.5^(age / half-life)``, capped."""
    p = rule.params
    query = select(Activity.person_id, Activity.occurred_at).where(
        Activity.person_id.in_(person_ids), Activity.kind == p["kind"]
    )
    if p.get("channel"):
        query = query.where(Activity.channel == p["channel"])
    if p.get("source"):
        query = query.where(Activity.source == p["source"])
    times: dict[uuid.UUID, list[datetime]] = {}
    for person_id, occurred_at in ctx.session.execute(query):
        if person_id is not None:
            times.setdefault(person_id, []).append(occurred_at)
    half_life = float(p.get("half_life_days") or 30)
    cap = p.get("max_points")
    points: dict[uuid.UUID, float] = {}
    for person_id, moments in times.items():
        total, ref = 0.0, at(person_id)
        known = sorted((m for m in moments if m < ref), reverse=True)
        for occurred_at in known[:MAX_ACTIVITIES]:
            age_days = max(0.0, (ref - occurred_at).total_seconds() / 86400)
            total += rule.points * 0.5 ** (age_days / half_life)
        if cap is not None:
            total = max(-abs(cap), min(abs(cap), total))
        points[person_id] = round(total, 2)
    return points


def _check_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    allowed = _PARAMS[kind]
    for name in params:
        if name not in allowed:
            raise invalid(("params", name), f"'{name}' is not a parameter of {kind}")
    for name in _REQUIRED[kind]:
        if name not in params:
            raise invalid(("params", name), f"{kind} needs '{name}'")
    for name, value in params.items():
        if not isinstance(value, allowed[name]):
            raise invalid(("params", name), f"'{name}' has the wrong type")
    if kind == "engagement" and float(params.get("half_life_days", 30)) <= 0:
        raise invalid(("params", "half_life_days"), "must be more than 0")
    return dict(params)


def _rule(ctx: Context, rule_id: uuid.UUID) -> ScoringRule:
    rule = get_scoped(ctx.session, ScoringRule, rule_id)
    if rule is None:
        raise NotFound("No scoring rule with this id")
    return rule


def reorder(ctx: Context, order: Sequence[uuid.UUID]) -> list[ScoringRule]:
    """Put the rules in ``order`` (each once), the order the settings page lists them in."""
    ctx.require("scoring:write")
    rules = list_rules(ctx)
    by_id = {r.id: r for r in rules}
    if len(order) != len(rules) or set(order) != set(by_id):
        raise invalid(("order",), "give every rule once")
    for position, rule_id in enumerate(order):
        rule = by_id[rule_id]
        if rule.position != position:
            old, rule.position = rule.position, position
            ctx.session.flush()
            record(ctx, SCORING_RULE_UPDATED, rule.id, {"position": (old, position)})
    return [by_id[i] for i in order]


def move(ctx: Context, rule_id: uuid.UUID, step: int) -> list[ScoringRule]:
    """One place up (-1) or down (+1)."""
    _rule(ctx, rule_id)
    ids = [r.id for r in list_rules(ctx)]
    index = ids.index(rule_id)
    if 0 <= index + step < len(ids):
        ids[index], ids[index + step] = ids[index + step], ids[index]
    return reorder(ctx, ids)


def get_rule(ctx: Context, rule_id: uuid.UUID) -> ScoringRule:
    """One scoring rule of the workspace; NotFound otherwise."""
    ctx.require("people:read")
    return _rule(ctx, rule_id)
