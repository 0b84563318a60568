"""Lead routing: the rules, teams, routing a person on request and the reasons, and the
workspace's first-touch SLA and follow-up settings."""

from __future__ import annotations

import uuid

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx, IfMatch
from rapport.sales.models import LeadAssignment, RoutingRule
from rapport.sales.schemas import (
    AssignmentOut,
    RouteOut,
    RoutingRuleIn,
    RoutingRuleOut,
    RoutingRulePatch,
    SalesSettings,
    SalesSettingsPatch,
    TeamIn,
    TeamMembersIn,
    TeamOut,
)
from rapport.sales.service import routing

router = domain_router(tags=["routing"])
WRITE_PROBLEMS = problems(401, 403, 404, 409, 412, 422)


@router.get(
    "/routing/rules",
    response_model=list[RoutingRuleOut],
    responses=problems(401, 403),
    dependencies=[requires("people:read")],
)
def list_rules(ctx: Ctx) -> list[RoutingRule]:
    """The routing rules in the order they are tried (the first match assigns the lead)."""
    return routing.list_rules(ctx)


@router.post(
    "/routing/rules",
    response_model=RoutingRuleOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[requires("routing:manage")],
)
def create_rule(body: RoutingRuleIn, ctx: Ctx) -> RoutingRule:
    """A new rule: territory, round_robin, company_owner or score_threshold."""
    return routing.create_rule(ctx, body)


@router.patch(
    "/routing/rules/{rule_id}",
    response_model=RoutingRuleOut,
    responses=WRITE_PROBLEMS,
    dependencies=[requires("routing:manage")],
)
def update_rule(
    rule_id: uuid.UUID, body: RoutingRulePatch, ctx: Ctx, version: IfMatch
) -> RoutingRule:
    """Change a rule (its name, params, user or team, position, active flag)."""
    return routing.update_rule(ctx, rule_id, body, expected_version=version)


@router.delete(
    "/routing/rules/{rule_id}",
    status_code=204,
    responses=problems(401, 403, 404),
    dependencies=[requires("routing:manage")],
)
def delete_rule(rule_id: uuid.UUID, ctx: Ctx) -> None:
    """Remove a rule; past assignments keep its name."""
    routing.delete_rule(ctx, rule_id)


@router.post(
    "/people/{person_id}/route",
    response_model=RouteOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("people:write", note="and leads:write")],
)
def route(person_id: uuid.UUID, ctx: Ctx) -> RouteOut:
    """Apply the routing rules to this person now; says who got the lead and why."""
    decision, assignment = routing.route(ctx, person_id)
    return RouteOut(
        assigned=assignment is not None,
        reason=decision.reason,
        assignment=AssignmentOut.model_validate(assignment) if assignment else None,
    )


@router.get(
    "/people/{person_id}/assignments",
    response_model=list[AssignmentOut],
    responses=problems(401, 403, 404),
    dependencies=[requires("people:read")],
)
def assignments(person_id: uuid.UUID, ctx: Ctx) -> list[LeadAssignment]:
    """Who this person was routed to, newest first, with each reason."""
    return routing.assignments(ctx, person_id)


@router.get(
    "/teams",
    response_model=list[TeamOut],
    responses=problems(401, 403),
    dependencies=[requires("people:read")],
)
def list_teams(ctx: Ctx) -> list[TeamOut]:
    """The teams and their members (round-robin rules rotate through a team)."""
    return [TeamOut(id=t.id, name=t.name, member_ids=m) for t, m in routing.list_teams(ctx)]


@router.post(
    "/teams",
    response_model=TeamOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[requires("members:manage")],
)
def create_team(body: TeamIn, ctx: Ctx) -> TeamOut:
    """A new team; the members named leave any team they were in."""
    team, members = routing.create_team(ctx, body)
    return TeamOut(id=team.id, name=team.name, member_ids=members)


@router.put(
    "/teams/{team_id}/members",
    response_model=list[uuid.UUID],
    responses=problems(401, 403, 404, 422),
    dependencies=[requires("members:manage")],
)
def set_members(team_id: uuid.UUID, body: TeamMembersIn, ctx: Ctx) -> list[uuid.UUID]:
    """Make exactly these members the team."""
    return routing.set_team_members(ctx, team_id, body.member_ids)


@router.get(
    "/sales/settings",
    response_model=SalesSettings,
    responses=problems(401, 403),
    dependencies=[requires("people:read")],
)
def get_settings(ctx: Ctx) -> SalesSettings:
    """First-touch SLA hours and follow-up reminder days."""
    return routing.get_settings(ctx)


@router.patch(
    "/sales/settings",
    response_model=SalesSettings,
    responses=problems(401, 403, 422),
    dependencies=[requires("workspace:manage")],
)
def update_settings(body: SalesSettingsPatch, ctx: Ctx) -> SalesSettings:
    """Change the SLA hours or follow-up days (null switches one off)."""
    return routing.update_settings(ctx, body)
