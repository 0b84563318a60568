"""Lead routing: ordered rules decide who owns a new lead, and every decision keeps its reason.

Rules are tried in ``position`` order; the first that matches assigns the lead:

1. ``territory``: the lead's country (its own address, else its company's) is in the list;
2. ``score_threshold``: the lead's score is at least ``min_score``;
3. ``company_owner``: the lead's company has an owner, who gets the lead;
4. ``round_robin``: always matches; the next member of the team in turn gets it.

A territory or score rule may also name a team instead of a user: the team then takes turns.
The turn is the rule's ``rr_counter``, advanced by one atomic ``UPDATE … RETURNING`` in the
assigning transaction, so turns survive restarts and concurrent leads never share one (the row
lock serialises them on PostgreSQL, the write lock on SQLite).

Each assignment is a ``lead_assignments`` row ("country DE → territory rule 'DACH' → Max") and
an audit entry on the person; it starts the first-touch SLA (see ``reminders``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import update as sql_update

from rapport.accounts.models import Membership, Team, User, Workspace
from rapport.accounts.public import teams
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import Conflict, FieldError, Invalid, NotFound
from rapport.core.events import check_version, diff_fields, jsonable, record
from rapport.core.schemas import accepts_null
from rapport.hub.models import Company, Person
from rapport.hub.public import check_owner, validation
from rapport.sales.events import (
    PERSON_ASSIGNED,
    ROUTING_RULE_CREATED,
    ROUTING_RULE_DELETED,
    ROUTING_RULE_UPDATED,
    WORKSPACE_SETTINGS_UPDATED,
)
from rapport.sales.models import LeadAssignment, RoutingRule
from rapport.sales.schemas import (
    RoutingRuleIn,
    RoutingRulePatch,
    SalesSettings,
    SalesSettingsPatch,
    TeamIn,
)
from rapport.sales.service import scoring

SETTINGS_KEY = "sales"
MAX_RULES = 200


@dataclass
class Decision:
    """The outcome of trying the rules on one lead."""

    rule: RoutingRule | None
    assignee_id: uuid.UUID | None
    reason: str


# --- rules ------------------------------------------------------------------------------------


def list_rules(ctx: Context) -> list[RoutingRule]:
    """The workspace's rules in the order they are tried."""
    ctx.require("people:read")
    query = select(RoutingRule).order_by(RoutingRule.position, RoutingRule.created_at)
    return list(ctx.session.scalars(query))


def create_rule(ctx: Context, data: RoutingRuleIn) -> RoutingRule:
    """A new rule, at ``position`` (the others move down) or at the end."""
    ctx.require("routing:manage")
    rules = list_rules(ctx)
    if len(rules) >= MAX_RULES:
        raise Conflict(f"A workspace has at most {MAX_RULES} routing rules")
    params = _check(ctx, data.kind, data.params, data.user_id, data.team_id)
    rule = RoutingRule(
        workspace_id=ctx.workspace_id,
        name=data.name,
        kind=data.kind,
        params=params,
        user_id=data.user_id,
        team_id=data.team_id,
        is_active=data.is_active,
    )
    ctx.session.add(rule)
    _place(rules, rule, data.position)
    ctx.session.flush()
    values = {"name": rule.name, "kind": rule.kind, "params": params, "position": rule.position,
              "user_id": rule.user_id, "team_id": rule.team_id}  # fmt: skip
    record(ctx, ROUTING_RULE_CREATED, rule.id, {k: (None, v) for k, v in values.items()})
    return rule


def update_rule(
    ctx: Context,
    rule_id: uuid.UUID,
    patch: RoutingRulePatch,
    *,
    expected_version: int | None = None,
) -> RoutingRule:
    """Change a rule; its kind is fixed (make a new rule instead)."""
    ctx.require("routing:manage")
    rule = _rule(ctx, rule_id)
    check_version(rule.version, expected_version)
    values: dict[str, Any] = patch.model_dump(exclude_unset=True)
    for name in ("name", "params", "is_active"):
        if name in values and values[name] is None:
            raise Invalid(f"{name}: cannot be null", errors=[FieldError((name,), "cannot be null")])
    user_id = values.get("user_id", rule.user_id)
    team_id = values.get("team_id", rule.team_id)
    params = values.get("params", rule.params)
    values["params"] = _check(ctx, rule.kind, params, user_id, team_id)
    position = values.pop("position", None)
    changes = diff_fields(rule, values)
    if position is not None and position != rule.position:
        old = rule.position
        _place([r for r in list_rules(ctx) if r.id != rule.id], rule, position)
        changes["position"] = (old, rule.position)
    if changes:
        ctx.session.flush()
        record(ctx, ROUTING_RULE_UPDATED, rule.id, changes)
    return rule


def delete_rule(ctx: Context, rule_id: uuid.UUID) -> None:
    """Remove a rule; past assignments keep its name."""
    ctx.require("routing:manage")
    rule = _rule(ctx, rule_id)
    ctx.session.delete(rule)
    ctx.session.flush()
    record(ctx, ROUTING_RULE_DELETED, rule_id, {"name": (rule.name, None)})


# --- routing a lead ---------------------------------------------------------------------------


def assign_lead(ctx: Context, person_id: uuid.UUID) -> LeadAssignment | None:
    """Route a lead that has no owner yet (the lead capture path calls this); a lead that
    already has an owner, or that no rule matches, is left as it is."""
    person = get_scoped(ctx.session, Person, person_id)
    if person is None or person.owner_id is not None:
        return None
    decision = decide(ctx, person)
    if decision.assignee_id is None:
        return None
    return _assign(ctx, person, decision)


def route(ctx: Context, person_id: uuid.UUID) -> tuple[Decision, LeadAssignment | None]:
    """Apply the rules to a person now, even one who has an owner (re-routing on request)."""
    ctx.require("people:write")
    ctx.require("leads:write")
    person = get_scoped(ctx.session, Person, person_id)
    if person is None:
        raise NotFound("No person with this id")
    decision = decide(ctx, person)
    if decision.assignee_id is None:
        return decision, None
    return decision, _assign(ctx, person, decision)


def decide(ctx: Context, person: Person) -> Decision:
    """The first active rule that matches and can name an assignee, with the reason."""
    company = get_scoped(ctx.session, Company, person.company_id) if person.company_id else None
    skipped: list[str] = []
    for rule in list_rules(ctx):
        if not rule.is_active:
            continue
        why = _match(ctx, rule, person, company)
        if why is None:
            continue
        if rule.kind == "company_owner" and company is not None and company.owner_id:
            owner = company.owner_id
            assignee, how = (owner, "") if _is_member(ctx, owner) else (None, "not a member")
        else:
            assignee, how = _target(ctx, rule)
        if assignee is None:
            skipped.append(f"{_label(rule)} matched but {how}")
            continue
        return Decision(rule, assignee, f"{why} → {_label(rule)}{how} → {_name(ctx, assignee)}")
    reason = "no routing rule matched"
    if skipped:
        reason += " (" + "; ".join(skipped) + ")"
    return Decision(None, None, reason)


def assignments(ctx: Context, person_id: uuid.UUID) -> list[LeadAssignment]:
    """Who the person was routed to, newest first, with the reasons."""
    ctx.require("people:read")
    if get_scoped(ctx.session, Person, person_id) is None:
        raise NotFound("No person with this id")
    query = select(LeadAssignment).where(LeadAssignment.person_id == person_id)
    return list(ctx.session.scalars(query.order_by(LeadAssignment.assigned_at.desc())))


def _assign(ctx: Context, person: Person, decision: Decision) -> LeadAssignment:
    now = utcnow()
    hours = get_settings(ctx).first_touch_sla_hours
    rule = decision.rule
    assignment = LeadAssignment(
        workspace_id=ctx.workspace_id,
        person_id=person.id,
        rule_id=rule.id if rule else None,
        rule_name=rule.name if rule else None,
        assignee_id=decision.assignee_id,
        previous_owner_id=person.owner_id,
        reason=decision.reason[:1000],
        assigned_at=now,
        first_touch_due_at=now + timedelta(hours=hours) if hours else None,
    )
    ctx.session.add(assignment)
    old_owner = person.owner_id
    person.owner_id = decision.assignee_id
    ctx.session.flush()
    changes = {"owner_id": (old_owner, person.owner_id), "reason": (None, assignment.reason)}
    payload = {"rule_id": assignment.rule_id, "assignment_id": assignment.id}
    record(ctx, PERSON_ASSIGNED, person.id, changes, payload=payload)
    return assignment


def _match(ctx: Context, rule: RoutingRule, person: Person, company: Company | None) -> str | None:
    """Why the rule applies to this person, or None."""
    params = rule.params
    if rule.kind == "territory":
        country = lead_country(person, company)
        if country is not None and country in params.get("countries", []):
            return f"country {country}"
        return None
    if rule.kind == "score_threshold":
        score = scoring.latest(ctx, person.id).score
        minimum = int(params["min_score"])
        return f"score {score} ≥ {minimum}" if score >= minimum else None
    if rule.kind == "company_owner":
        if company is None or company.owner_id is None:
            return None
        return f"company {company.name} is owned by {_name(ctx, company.owner_id)}"
    if rule.kind == "round_robin":
        return "every lead"
    return None


def _target(ctx: Context, rule: RoutingRule) -> tuple[uuid.UUID | None, str]:
    """The assignee a matching rule names, and how it chose (empty for a fixed user)."""
    if rule.user_id is not None:
        if _is_member(ctx, rule.user_id):
            return rule.user_id, ""
        return None, "its user is no longer a member"
    if rule.team_id is None:
        return None, "it names no user or team"
    members = team_members(ctx, rule.team_id)
    if not members:
        return None, "its team has no members"
    turn = ctx.session.execute(
        sql_update(RoutingRule)
        .where(RoutingRule.id == rule.id)
        .values(rr_counter=RoutingRule.rr_counter + 1)
        .returning(RoutingRule.rr_counter)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    index = (turn - 1) % len(members)
    team = get_scoped(ctx.session, Team, rule.team_id)
    team_name = team.name if team else "?"
    return members[index], f" (team {team_name}, turn {index + 1} of {len(members)})"


def lead_country(person: Person, company: Company | None) -> str | None:
    """ISO alpha-2 country of the person's first address with one, else of the company's."""
    candidates = [a.get("country") for a in person.addresses or [] if isinstance(a, dict)]
    if company is not None and isinstance(company.address, dict):
        candidates.append(company.address.get("country"))
    for value in candidates:
        if value:
            try:
                return validation.normalise_country(str(value))
            except ValueError:
                continue
    return None


# --- teams --------------------------------------------------------------------------------


def list_teams(ctx: Context) -> list[tuple[Team, list[uuid.UUID]]]:
    """The workspace's teams with their members (a member is in at most one team)."""
    ctx.require("people:read")
    return teams.list_teams(ctx)


def create_team(ctx: Context, data: TeamIn) -> tuple[Team, list[uuid.UUID]]:
    """A new team; the members named move into it (accounts owns teams)."""
    return teams.create_team(ctx, data.name, data.member_ids)


set_team_members = teams.set_team_members
team_members = teams.team_members


# --- settings -------------------------------------------------------------------------------


def get_settings(ctx: Context) -> SalesSettings:
    """The workspace's first-touch SLA and follow-up settings (defaults where unset)."""
    workspace = ctx.session.get(Workspace, ctx.workspace_id)
    stored = (workspace.settings or {}).get(SETTINGS_KEY, {}) if workspace else {}
    # An earlier release stored null for fields that cannot hold it (a PATCH let it through);
    # such a value reads as the default, so the workspace works and the next write cleans it.
    fields = SalesSettings.model_fields
    return SalesSettings.model_validate(
        {
            key: value
            for key, value in (stored or {}).items()
            if value is not None or key not in fields or accepts_null(fields[key])
        }
    )


def update_settings(ctx: Context, patch: SalesSettingsPatch) -> SalesSettings:
    """Change the SLA hours or follow-up days; send null to switch one off."""
    ctx.require("workspace:manage")
    workspace = ctx.session.get(Workspace, ctx.workspace_id)
    if workspace is None:
        raise NotFound("No such workspace")
    current = get_settings(ctx)
    values = patch.model_dump(exclude_unset=True)
    pipelines_days = values.get("follow_up_days_by_pipeline") or {}
    bad = [(str(k), v) for k, v in pipelines_days.items() if not 1 <= v <= 365]
    if bad:
        loc = ("follow_up_days_by_pipeline", bad[0][0])
        raise Invalid("days must be between 1 and 365", errors=[FieldError(loc, "1 to 365")])
    updated = current.model_copy(update=values)
    old = jsonable(current.model_dump())
    new = jsonable(updated.model_dump())
    settings = dict(workspace.settings or {})
    settings[SETTINGS_KEY] = new
    workspace.settings = settings
    ctx.session.flush()
    changes = {k: (old[k], new[k]) for k in new if old[k] != new[k]}
    if changes:
        record(ctx, WORKSPACE_SETTINGS_UPDATED, ctx.workspace_id, changes)
    return updated


# --- internals ------------------------------------------------------------------------------


def _rule(ctx: Context, rule_id: uuid.UUID) -> RoutingRule:
    rule = get_scoped(ctx.session, RoutingRule, rule_id)
    if rule is None:
        raise NotFound("No routing rule with this id")
    return rule


def _place(others: list[RoutingRule], rule: RoutingRule, position: int | None) -> None:
    """Put ``rule`` at ``position`` among ``others`` and renumber them all 0, 1, 2…"""
    ordered = [r for r in others if r is not rule]
    index = len(ordered) if position is None else min(position, len(ordered))
    ordered.insert(index, rule)
    for i, item in enumerate(ordered):
        if item.position != i:
            item.position = i


def _check(
    ctx: Context,
    kind: str,
    params: dict[str, Any],
    user_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
) -> dict[str, Any]:
    """The rule's params, cleaned; every problem at once, as one Invalid."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    allowed = {"territory": {"countries"}, "score_threshold": {"min_score"}}.get(kind, set())
    for key in sorted(set(params) - allowed):
        errors.append(FieldError(("params", key), f"a {kind} rule takes no '{key}'", "unknown"))
    if kind == "territory":
        countries = params.get("countries")
        if not isinstance(countries, list) or not countries:
            errors.append(FieldError(("params", "countries"), "give a list of countries"))
        else:
            codes: list[str] = []
            for i, value in enumerate(countries):
                try:
                    codes.append(validation.normalise_country(str(value)))
                except ValueError as exc:
                    errors.append(FieldError(("params", "countries", i), str(exc), "country"))
            clean["countries"] = sorted(set(codes))
    if kind == "score_threshold":
        minimum = params.get("min_score")
        if isinstance(minimum, bool) or not isinstance(minimum, int):
            errors.append(FieldError(("params", "min_score"), "give a whole number of points"))
        else:
            clean["min_score"] = minimum
    if kind == "company_owner":
        if user_id is not None or team_id is not None:
            message = "a company-owner rule assigns to the company's owner; name no user or team"
            errors.append(FieldError(("user_id",), message, "no-target"))
    elif kind == "round_robin":
        if team_id is None or user_id is not None:
            errors.append(FieldError(("team_id",), "a round-robin rule needs a team (only)"))
    elif (user_id is None) == (team_id is None):
        errors.append(FieldError(("user_id",), "name either a user or a team", "one-target"))
    if user_id is not None:
        errors += check_owner(ctx, user_id, ("user_id",))
    if team_id is not None and get_scoped(ctx.session, Team, team_id) is None:
        errors.append(FieldError(("team_id",), "no team with this id", "unknown-team"))
    if errors:
        summary = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.message}" for e in errors)
        raise Invalid(summary, errors=errors)
    return clean


def _is_member(ctx: Context, user_id: uuid.UUID) -> bool:
    query = select(func.count()).select_from(Membership).where(Membership.user_id == user_id)
    return bool(ctx.session.scalar(query))


def _label(rule: RoutingRule) -> str:
    kinds = {"territory": "territory", "round_robin": "round-robin",
             "company_owner": "company-owner", "score_threshold": "score"}  # fmt: skip
    return f"{kinds.get(rule.kind, rule.kind)} rule '{rule.name}'"


def _name(ctx: Context, user_id: uuid.UUID) -> str:
    user = ctx.session.get(User, user_id)
    return (user.name or user.email) if user else str(user_id)


# --- the settings page: reorder, and a dry run that changes nothing ----------------------------


@dataclass
class Trial:
    """One rule tried on a lead in a dry run: whether it matched, why, and who it would pick."""

    rule: RoutingRule
    matched: bool
    why: str
    assignee_id: uuid.UUID | None = None
    fires: bool = False


def reorder(ctx: Context, order: list[uuid.UUID]) -> list[RoutingRule]:
    """Put the rules in ``order`` (each rule once); audited per rule that moved."""
    ctx.require("routing:manage")
    rules = list_rules(ctx)
    by_id = {r.id: r for r in rules}
    if len(order) != len(rules) or set(order) != set(by_id):
        raise Invalid(
            "give every rule once", errors=[FieldError(("order",), "give every rule once")]
        )
    for position, rule_id in enumerate(order):
        rule = by_id[rule_id]
        if rule.position != position:
            old, rule.position = rule.position, position
            ctx.session.flush()
            record(ctx, ROUTING_RULE_UPDATED, rule.id, {"position": (old, position)})
    return [by_id[i] for i in order]


def move(ctx: Context, rule_id: uuid.UUID, step: int) -> list[RoutingRule]:
    """One place up (-1) or down (+1)."""
    ids = [r.id for r in list_rules(ctx)]
    _rule(ctx, rule_id)
    index = ids.index(rule_id)
    if 0 <= index + step < len(ids):
        ids[index], ids[index + step] = ids[index + step], ids[index]
    return reorder(ctx, ids)


def dry_run(ctx: Context, person_id: uuid.UUID) -> tuple[Person, list[Trial]]:
    """Every rule tried on the person in order, as routing would, without assigning anyone or
    taking a round-robin turn: the first trial with ``fires`` is the rule that would win."""
    ctx.require("routing:manage")
    person = get_scoped(ctx.session, Person, person_id)
    if person is None:
        raise NotFound("No person with this id")
    company = get_scoped(ctx.session, Company, person.company_id) if person.company_id else None
    trials: list[Trial] = []
    fired = False
    for rule in list_rules(ctx):
        if not rule.is_active:
            trials.append(Trial(rule, False, "switched off"))
            continue
        why = _match(ctx, rule, person, company)
        if why is None:
            trials.append(Trial(rule, False, _miss(rule, person, company)))
            continue
        if rule.kind == "company_owner" and company is not None and company.owner_id:
            owner = company.owner_id
            assignee, how = (owner, "") if _is_member(ctx, owner) else (None, "not a member")
        else:
            assignee, how = _peek(ctx, rule)
        if assignee is None:
            trials.append(Trial(rule, True, f"{why}, but {how}"))
            continue
        trials.append(Trial(rule, True, f"{why}{how}", assignee, fires=not fired))
        fired = True
    return person, trials


def member_name(ctx: Context, user_id: uuid.UUID) -> str:
    """A member's name (or email) for a page."""
    return _name(ctx, user_id)


def _peek(ctx: Context, rule: RoutingRule) -> tuple[uuid.UUID | None, str]:
    """Who :func:`_target` would pick next, without advancing the turn."""
    if rule.user_id is not None:
        if _is_member(ctx, rule.user_id):
            return rule.user_id, ""
        return None, "its user is no longer a member"
    if rule.team_id is None:
        return None, "it names no user or team"
    members = team_members(ctx, rule.team_id)
    if not members:
        return None, "its team has no members"
    index = rule.rr_counter % len(members)
    team = get_scoped(ctx.session, Team, rule.team_id)
    team_name = team.name if team else "?"
    return members[index], f" (team {team_name}, next turn: {index + 1} of {len(members)})"


def _miss(rule: RoutingRule, person: Person, company: Company | None) -> str:
    """Why a rule did not match, in a reader's words."""
    if rule.kind == "territory":
        country = lead_country(person, company)
        wanted = ", ".join(rule.params.get("countries", []))
        return f"country {country} is not in {wanted}" if country else "no country known"
    if rule.kind == "score_threshold":
        return f"score below {rule.params.get('min_score')}"
    if rule.kind == "company_owner":
        return "no company" if company is None else f"company {company.name} has no owner"
    return "did not match"


def get_rule(ctx: Context, rule_id: uuid.UUID) -> RoutingRule:
    """One routing rule of the workspace; NotFound otherwise."""
    ctx.require("people:read")
    return _rule(ctx, rule_id)
