"""Settings → Lead routing and Lead scoring: ordered rules, and a dry run on a chosen person.

Routing rules are tried in order and the first that matches assigns the lead; scoring rules
each add their points. Both lists add, edit, delete and reorder (drag, or up/down buttons).
The dry run picks a person (a search box) and shows which routing rule would fire and why,
the assignee it would pick, and the score with each rule's points, changing nothing.
Routing needs ``routing:manage``, scoring ``scoring:write`` (admins); the services audit.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from rapport.core.context import Context
from rapport.core.errors import Conflict, Invalid, NotFound
from rapport.core.listing import ListParams
from rapport.hub.public import lookups, people_list
from rapport.sales.schemas import RoutingRuleIn, RoutingRulePatch, RuleIn, RulePatch
from rapport.sales.service import routing, scoring
from rapport.web.forms import form_errors
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
ROUTING = "/settings/routing"
SCORING = "/settings/scoring"
ROUTING_KINDS = [
    ("territory", "Territory: the lead's country is one of…"),
    ("score_threshold", "Score: the lead's score is at least…"),
    ("company_owner", "Company owner: the owner of the lead's company"),
    ("round_robin", "Round robin: every lead, in turn within a team"),
]
SCORING_KINDS = [
    ("job_title_contains", "Job title contains…"),
    ("company_size_between", "Company size between…"),
    ("industry_equals", "Industry is…"),
    ("custom_field_equals", "Custom field equals…"),
    ("engagement", "Engagement: activities of a kind (worth less as they age)"),
]
ACTIVITY_KINDS = ["email", "call", "meeting", "chat", "social", "visit", "purchase", "note"]


# --- the dry run ------------------------------------------------------------------------------


def _dry_run(ctx: Context, q: str, person: str) -> dict[str, Any]:
    """What the dry-run card shows: people matching the search, or the run on one of them."""
    out: dict[str, Any] = {"q": q, "matches": [], "person": None, "error": None}
    if q.strip():
        found = people_list.list_people(ctx, ListParams(limit=8, q=q.strip()))
        out["matches"] = found.items
    if person:
        try:
            chosen, trials = routing.dry_run(ctx, uuid.UUID(person))
        except (ValueError, NotFound):
            out["error"] = "No such person."
            return out
        scored = scoring.score(ctx, chosen.id)
        out |= {"person": chosen, "trials": trials, "score": scored,
                "fired": next((t for t in trials if t.fires), None),
                "names": {t.assignee_id: routing.member_name(ctx, t.assignee_id)
                          for t in trials if t.assignee_id}}  # fmt: skip
    return out


# --- routing ----------------------------------------------------------------------------------


def _targets(ctx: Context) -> list[tuple[str, str]]:
    members = [(f"user:{m.user_id}", m.name) for m in lookups.members(ctx)]
    teams = [(f"team:{t.id}", f"Team {t.name}") for t, _m in routing.list_teams(ctx)]
    return [("", "Nobody (company owner rules)"), *members, *teams]


def _routing_page(request: Request, page: Page, *, q: str = "", person: str = "",
                  values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                  status: int = 200) -> HTMLResponse:  # fmt: skip
    page.ctx.require("routing:manage")
    rules = routing.list_rules(page.ctx)
    names = {r.user_id: routing.member_name(page.ctx, r.user_id) for r in rules if r.user_id}
    teams = {t.id: t.name for t, _m in routing.list_teams(page.ctx)}
    response = render(
        request,
        "sales/settings/routing.html",
        title="Lead routing · Settings",
        rules=rules,
        names=names,
        teams=teams,
        kinds=ROUTING_KINDS,
        kind_labels={k: v.split(":")[0] for k, v in ROUTING_KINDS},
        targets=_targets(page.ctx),
        values=values or {"kind": "territory", "is_active": "1"},
        errors=errors or {},
        dry=_dry_run(page.ctx, q, person),
        dry_path=ROUTING,
    )
    response.status_code = status
    return response


@router.get(ROUTING, response_class=HTMLResponse)
def routing_page(
    request: Request,
    page: Page,
    q: Annotated[str, Query(max_length=200)] = "",
    person: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """The routing rules in the order they are tried, the add form and the dry run."""
    return _routing_page(request, page, q=q, person=person)


def _routing_values(
    kind: str, countries: str, min_score: str, target: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The rule's params and assignee from the form's text; errors for what is not a number."""
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if kind == "territory":
        params["countries"] = [c.strip() for c in countries.replace("\n", ",").split(",")
                               if c.strip()]  # fmt: skip
        if not params["countries"]:
            errors["countries"] = "Give at least one country (DE, France…)."
    if kind == "score_threshold":
        try:
            params["min_score"] = int(min_score.strip())
        except ValueError:
            errors["min_score"] = "Give a whole number of points."
    out: dict[str, Any] = {"params": params, "user_id": None, "team_id": None}
    what, _, ident = target.partition(":")
    if what in ("user", "team") and ident:
        try:
            out[f"{what}_id"] = uuid.UUID(ident)
        except ValueError:
            errors["target"] = "Choose a member or a team."
    return out, errors


def _routing_errors(exc: Invalid | ValidationError) -> dict[str, str]:
    errors = form_errors(exc)
    if isinstance(exc, Invalid):
        for e in exc.errors:
            if e.loc and e.loc[0] == "params" and len(e.loc) > 1:
                errors[str(e.loc[1])] = e.message
    for name in ("user_id", "team_id"):
        if name in errors:
            errors["target"] = errors.pop(name)
    errors.pop("params", None)
    return errors


@router.post(ROUTING)
def create_routing_rule(
    request: Request,
    page: Page,
    name: Annotated[str, Form(max_length=300)] = "",
    kind: Annotated[str, Form(max_length=30)] = "",
    countries: Annotated[str, Form(max_length=2000)] = "",
    min_score: Annotated[str, Form(max_length=20)] = "",
    target: Annotated[str, Form(max_length=50)] = "",
    is_active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Add a rule at the end of the list."""
    page.ctx.require("routing:manage")
    values = {"name": name, "kind": kind, "countries": countries, "min_score": min_score,
              "target": target, "is_active": is_active}  # fmt: skip
    data, errors = _routing_values(kind, countries, min_score, target)
    if not name.strip():
        errors["name"] = "Give the rule a name."
    if not errors:
        try:
            rule_in = RoutingRuleIn.model_validate(
                {"name": name.strip(), "kind": kind, "is_active": bool(is_active), **data}
            )
            rule = routing.create_rule(page.ctx, rule_in)
        except (Invalid, ValidationError) as exc:
            errors = _routing_errors(exc)
        except Conflict as exc:
            errors = {"name": exc.detail}
    if errors:
        return _routing_page(request, page, values=values, errors=errors, status=422)
    toast(request, f"Rule “{rule.name}” was added.")
    return redirect(request, ROUTING)


@router.get(ROUTING + "/{rule_id}", response_class=HTMLResponse)
def routing_rule_page(request: Request, page: Page, rule_id: uuid.UUID) -> HTMLResponse:
    """One rule's edit form."""
    page.ctx.require("routing:manage")
    rule = routing.get_rule(page.ctx, rule_id)
    return _routing_edit(request, page, rule, _rule_values(rule), {})


def _rule_values(rule: Any) -> dict[str, Any]:
    target = (
        f"user:{rule.user_id}" if rule.user_id else f"team:{rule.team_id}" if rule.team_id else ""
    )
    return {"name": rule.name, "kind": rule.kind,
            "countries": ", ".join(rule.params.get("countries", [])),
            "min_score": rule.params.get("min_score", ""), "target": target,
            "is_active": "1" if rule.is_active else ""}  # fmt: skip


def _routing_edit(request: Request, page: Page, rule: Any, values: dict[str, Any],
                  errors: dict[str, str], status: int = 200) -> HTMLResponse:  # fmt: skip
    response = render(
        request,
        "sales/settings/routing_rule.html",
        title=f"{rule.name} · Lead routing",
        rule=rule,
        kind_labels=dict(ROUTING_KINDS),
        targets=_targets(page.ctx),
        values=values,
        errors=errors,
    )
    response.status_code = status
    return response


@router.post(ROUTING + "/{rule_id}")
def update_routing_rule(
    request: Request,
    page: Page,
    rule_id: uuid.UUID,
    name: Annotated[str, Form(max_length=300)] = "",
    countries: Annotated[str, Form(max_length=2000)] = "",
    min_score: Annotated[str, Form(max_length=20)] = "",
    target: Annotated[str, Form(max_length=50)] = "",
    is_active: Annotated[str, Form(max_length=5)] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    """Save a rule's name, condition, assignee and whether it is on (its kind is fixed)."""
    page.ctx.require("routing:manage")
    rule = routing.get_rule(page.ctx, rule_id)
    values = {"name": name, "kind": rule.kind, "countries": countries, "min_score": min_score,
              "target": target, "is_active": is_active}  # fmt: skip
    data, errors = _routing_values(rule.kind, countries, min_score, target)
    if not name.strip():
        errors["name"] = "Give the rule a name."
    if not errors:
        try:
            patch = RoutingRulePatch.model_validate(
                {"name": name.strip(), "is_active": bool(is_active), **data}
            )
            routing.update_rule(page.ctx, rule_id, patch, expected_version=version)
        except (Invalid, ValidationError) as exc:
            errors = _routing_errors(exc)
        except Conflict:
            errors = {"name": "Someone else changed this rule meanwhile; reload to see it."}
    if errors:
        return _routing_edit(request, page, rule, values, errors, status=422)
    toast(request, "Rule saved.")
    return redirect(request, ROUTING)


@router.post(ROUTING + "/{rule_id}/delete")
def delete_routing_rule(request: Request, page: Page, rule_id: uuid.UUID) -> Response:
    """Remove a rule (past assignments keep its name)."""
    page.ctx.require("routing:manage")
    rule = routing.get_rule(page.ctx, rule_id)
    routing.delete_rule(page.ctx, rule_id)
    toast(request, f"Rule “{rule.name}” was deleted.")
    return redirect(request, ROUTING)


@router.post(ROUTING + "/{rule_id}/move")
def move_routing_rule(
    request: Request,
    page: Page,
    rule_id: uuid.UUID,
    direction: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """One place up or down."""
    page.ctx.require("routing:manage")
    routing.move(page.ctx, rule_id, -1 if direction == "up" else 1)
    return redirect(request, f"{ROUTING}#rule-{rule_id}")


@router.post(ROUTING + "-order")
def reorder_routing_rules(
    request: Request,
    page: Page,
    order: Annotated[list[uuid.UUID], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    """The rules in the order they were dragged to."""
    page.ctx.require("routing:manage")
    routing.reorder(page.ctx, order)
    toast(request, "Rules reordered.")
    return redirect(request, ROUTING)


# --- scoring ----------------------------------------------------------------------------------


def _scoring_page(request: Request, page: Page, *, q: str = "", person: str = "",
                  values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                  status: int = 200) -> HTMLResponse:  # fmt: skip
    page.ctx.require("scoring:write")
    response = render(
        request,
        "sales/settings/scoring.html",
        title="Lead scoring · Settings",
        rules=scoring.list_rules(page.ctx),
        kinds=SCORING_KINDS,
        kind_labels=dict(SCORING_KINDS),
        activity_choices=[(k, k.capitalize()) for k in ACTIVITY_KINDS],
        values=values or {"kind": "job_title_contains", "points": "10", "is_active": "1"},
        errors=errors or {},
        dry=_dry_run(page.ctx, q, person),
        dry_path=SCORING,
    )
    response.status_code = status
    return response


@router.get(SCORING, response_class=HTMLResponse)
def scoring_page(
    request: Request,
    page: Page,
    q: Annotated[str, Query(max_length=200)] = "",
    person: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """The scoring rules, the add form and the dry run."""
    return _scoring_page(request, page, q=q, person=person)


SCORING_FIELDS = ("text", "min", "max", "industry", "key", "value", "activity", "channel",
                  "half_life_days", "max_points")  # fmt: skip


def _scoring_params(kind: str, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The params a rule of ``kind`` takes, from the form's text."""
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def number(name: str, *, required: bool = False, whole: bool = True) -> None:
        raw = form.get(name, "").strip()
        if not raw:
            if required:
                errors[name] = "Give a number."
            return
        try:
            params[name] = int(raw) if whole else float(raw)
        except ValueError:
            errors[name] = "Give a whole number." if whole else "Give a number."

    def text(name: str, param: str | None = None) -> None:
        raw = form.get(name, "").strip()
        if raw:
            params[param or name] = raw
        else:
            errors[name] = "Fill this in for this kind of rule."

    if kind == "job_title_contains":
        text("text")
    elif kind == "company_size_between":
        number("min")
        number("max")
        if "min" not in params and "max" not in params and not errors:
            errors["min"] = "Give a smallest size, a largest, or both."
    elif kind == "industry_equals":
        text("industry")
    elif kind == "custom_field_equals":
        text("key")
        text("value")
    elif kind == "engagement":
        text("activity", "kind")
        if "activity" in errors:
            errors["activity"] = "Choose a kind of activity."
        if form.get("channel", "").strip():
            params["channel"] = form["channel"].strip()
        number("half_life_days", whole=False)
        number("max_points", whole=False)
    return params, errors


def _points(raw: str) -> int | str:
    try:
        return int(raw.strip())
    except ValueError:
        return raw


def _scoring_errors(exc: Invalid | ValidationError) -> dict[str, str]:
    errors = form_errors(exc)
    if isinstance(exc, Invalid):
        for e in exc.errors:
            if e.loc and e.loc[0] == "params" and len(e.loc) > 1:
                name = "activity" if e.loc[1] == "kind" else str(e.loc[1])
                errors[name] = e.message
    if "points" in errors:
        errors["points"] = "Points are a whole number from -1000 to 1000."
    errors.pop("params", None)
    return errors


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


@router.post(SCORING)
async def create_scoring_rule(request: Request, page: Page) -> Response:
    """Add a scoring rule at the end of the list."""
    page.ctx.require("scoring:write")
    form = await _form(request)
    kind = form.get("kind", "")
    params, errors = _scoring_params(kind, form)
    if not form.get("name", "").strip():
        errors["name"] = "Give the rule a name."
    if not errors:
        try:
            rule_in = RuleIn.model_validate(
                {
                    "name": form["name"].strip(),
                    "kind": kind,
                    "params": params,
                    "points": _points(form.get("points", "")),
                    "is_active": bool(form.get("is_active")),
                }
            )
            rule = scoring.create_rule(page.ctx, rule_in)
        except (Invalid, ValidationError) as exc:
            errors = _scoring_errors(exc)
    if errors:
        return _scoring_page(request, page, values=form, errors=errors, status=422)
    toast(request, f"Rule “{rule.name}” was added.")
    return redirect(request, SCORING)


@router.get(SCORING + "/{rule_id}", response_class=HTMLResponse)
def scoring_rule_page(request: Request, page: Page, rule_id: uuid.UUID) -> HTMLResponse:
    """One scoring rule's edit form."""
    page.ctx.require("scoring:write")
    rule = scoring.get_rule(page.ctx, rule_id)
    params = dict(rule.params)
    values = {k: "" if v is None else str(v) for k, v in params.items() if k != "kind"}
    values |= {"name": rule.name, "kind": rule.kind, "points": str(rule.points),
               "is_active": "1" if rule.is_active else ""}  # fmt: skip
    if "kind" in params:
        values["activity"] = str(params["kind"])
    return _scoring_edit(request, page, rule, values, {})


def _scoring_edit(request: Request, page: Page, rule: Any, values: dict[str, Any],
                  errors: dict[str, str], status: int = 200) -> HTMLResponse:  # fmt: skip
    response = render(
        request,
        "sales/settings/scoring_rule.html",
        title=f"{rule.name} · Lead scoring",
        rule=rule,
        kind_labels=dict(SCORING_KINDS),
        activity_choices=[(k, k.capitalize()) for k in ACTIVITY_KINDS],
        values=values,
        errors=errors,
    )
    response.status_code = status
    return response


@router.post(SCORING + "/{rule_id}")
async def update_scoring_rule(request: Request, page: Page, rule_id: uuid.UUID) -> Response:
    """Save a scoring rule's name, condition, points and whether it counts."""
    page.ctx.require("scoring:write")
    rule = scoring.get_rule(page.ctx, rule_id)
    form = await _form(request)
    form["kind"] = rule.kind
    params, errors = _scoring_params(rule.kind, form)
    if not form.get("name", "").strip():
        errors["name"] = "Give the rule a name."
    version = int(form["version"]) if form.get("version", "").isdigit() else None
    if not errors:
        try:
            patch = RulePatch.model_validate(
                {
                    "name": form["name"].strip(),
                    "params": params,
                    "points": _points(form.get("points", "")),
                    "is_active": bool(form.get("is_active")),
                }
            )
            scoring.update_rule(page.ctx, rule_id, patch, expected_version=version)
        except (Invalid, ValidationError) as exc:
            errors = _scoring_errors(exc)
        except Conflict:
            errors = {"name": "Someone else changed this rule meanwhile; reload to see it."}
    if errors:
        return _scoring_edit(request, page, rule, form, errors, status=422)
    toast(request, "Rule saved.")
    return redirect(request, SCORING)


@router.post(SCORING + "/{rule_id}/delete")
def delete_scoring_rule(request: Request, page: Page, rule_id: uuid.UUID) -> Response:
    """Remove a scoring rule (scores change at the next rescore)."""
    page.ctx.require("scoring:write")
    rule = scoring.get_rule(page.ctx, rule_id)
    scoring.delete_rule(page.ctx, rule_id)
    toast(request, f"Rule “{rule.name}” was deleted.")
    return redirect(request, SCORING)


@router.post(SCORING + "/{rule_id}/move")
def move_scoring_rule(
    request: Request,
    page: Page,
    rule_id: uuid.UUID,
    direction: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """One place up or down."""
    page.ctx.require("scoring:write")
    scoring.move(page.ctx, rule_id, -1 if direction == "up" else 1)
    return redirect(request, f"{SCORING}#rule-{rule_id}")


@router.post(SCORING + "-order")
def reorder_scoring_rules(
    request: Request,
    page: Page,
    order: Annotated[list[uuid.UUID], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    """The rules in the order they were dragged to."""
    page.ctx.require("scoring:write")
    scoring.reorder(page.ctx, order)
    toast(request, "Rules reordered.")
    return redirect(request, SCORING)
