"""The sales part of the demo workspace, the same for the same seed.

Two pipelines and two years of deals with believable stage histories: each deal starts in the
first stage, stays in each stage for a (log-normal) while, and at each step may be lost; the
ones that get through are won. Deals whose story reaches today stay open where they are. The
odds depend on the contact's seniority and the owner's knack, so the win-rate per owner and the
predictive lead score have something real to find. Every deal, move and close goes through the
sales services (audited, indexed); then its stage history is laid back onto the timeline it
would have had (the services stamp "now"). Around them: deal-linked calls, emails and meetings,
scoring and routing rules, open tasks for the demo owner (some overdue), scores for the leads,
and a few obvious duplicate people for the review queue.
"""

from __future__ import annotations

import bisect
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import table_of
from rapport.core.registry import DemoMade, DemoSeed
from rapport.hub.models import Company, Person
from rapport.hub.public import bulk, timeline
from rapport.sales.models import Deal, DealStageHistory, Pipeline
from rapport.sales.schemas import (
    DealIn,
    PipelineIn,
    RoutingRuleIn,
    RuleIn,
    StageIn,
    TaskIn,
)
from rapport.sales.service import deals, pipelines, routing, scoring, scoring_live, tasks

Progress = Callable[[str, int], None]
DAY = timedelta(days=1)
PRODUCTS = ["Platform licence", "Enterprise plan", "Team seats", "Onboarding package", "Pilot",
            "Data migration", "Premium support", "Analytics add-on", "Expansion"]  # fmt: skip
WON_REASONS = ["Best fit for their process", "Price", "Existing relationship", "Integrations",
               "Fast onboarding"]  # fmt: skip
LOST_REASONS = ["Price too high", "Went with a competitor", "No budget this year", "Timing",
                "No decision made", "Missing feature"]  # fmt: skip
SENIOR = ("chief", "director", "head", "vp", "vice", "president", "officer", "manager", "lead")
# What a touch is about, early in a deal (its first two stages) and later on.
TOUCHES = [
    ("call", "outbound", ["Intro call", "Discovery call"], ["Pricing call", "Check-in call"]),
    ("email", "outbound", ["Case study", "Re: next steps"], ["Proposal sent", "Contract draft"]),
    ("email", "inbound", ["Re: intro", "Questions about the product"],
     ["Re: proposal", "Questions about the contract"]),
    ("meeting", "outbound", ["Product demo", "Requirements workshop"],
     ["Stakeholder meeting", "Negotiation meeting"]),
    ("note", "internal", ["Champion identified", "Budget owner is the CFO"],
     ["Legal review pending", "Budget confirmed"]),
]  # fmt: skip
TASKS = [
    ("Send the revised proposal", "high"), ("Call back about pricing", "normal"),
    ("Book the technical demo", "normal"), ("Chase the signed contract", "high"),
    ("Prepare the QBR deck", "low"), ("Introduce the onboarding team", "normal"),
    ("Confirm budget with the CFO", "high"), ("Share the security questionnaire", "normal"),
    ("Follow up after the trade fair", "low"), ("Check in with the champion", "normal"),
    ("Update the close date", "low"), ("Send the case study", "normal"),
]  # fmt: skip


@dataclass
class _Flow:
    """How deals move through one pipeline: per open stage, the median stay (days) and the
    chance of being lost there."""

    pipeline: Pipeline
    open_stages: list[Any]
    won: Any
    lost: Any
    median_days: list[float]
    lose: list[float]
    amount_median: float


@dataclass
class SalesDemo:
    pipelines: int
    deals: int
    won: int
    lost: int
    open: int
    activities: int
    scoring_rules: int
    routing_rules: int
    tasks: int
    duplicates: int


def seed_sales(
    ctx: Context,
    rng: random.Random,
    *,
    owner_id: uuid.UUID,
    team: list[uuid.UUID],
    deal_count: int = 600,
    duplicate_count: int = 20,
    progress: Progress | None = None,
) -> SalesDemo:
    """Pipelines, deals, deal activities, rules, tasks, scores and planted duplicates."""
    tick = progress or (lambda _stage, _n: None)
    now = utcnow()
    flows = _pipelines(ctx)
    contacts = _contacts(ctx)
    owners = [owner_id, *team]
    knack = {o: rng.uniform(-0.12, 0.12) for o in owners}
    made: list[tuple[Deal, list[datetime], Any]] = []
    won = lost = 0
    for _ in range(deal_count):
        flow = flows[0] if rng.random() < 0.75 else flows[1]
        person_id, company_id, company_name, senior = rng.choice(contacts)
        owner = owner_id if rng.random() < 0.3 else rng.choice(owners)
        # two years of deals, more of them lately (the business grows): a full open pipeline
        created = now - timedelta(days=730 * rng.random() ** 1.6)
        times, outcome = _story(rng, flow, created, now, senior, knack[owner])
        amount = Decimal(round(rng.lognormvariate(math.log(flow.amount_median), 0.7), -2))
        close_hint = (times[-1] + timedelta(days=rng.uniform(-10, 60))).date()
        deal = deals.create(
            ctx,
            DealIn(
                title=f"{company_name or 'New customer'} - {rng.choice(PRODUCTS)}",
                amount=max(amount, Decimal(500)),
                currency="EUR",
                pipeline_id=flow.pipeline.id,
                stage_id=flow.open_stages[0].id,
                expected_close_date=close_hint if outcome is None else times[-1].date(),
                owner_id=owner,
                person_id=person_id,
                company_id=company_id,
            ),
        )
        for next_stage in flow.open_stages[1 : len(times) - (outcome is not None)]:
            deals.move_to_stage(ctx, deal.id, next_stage.id)
        if outcome == "won":
            deals.mark_won(ctx, deal.id, reason=rng.choice(WON_REASONS))
            won += 1
        elif outcome == "lost":
            deals.mark_lost(ctx, deal.id, reason=rng.choice(LOST_REASONS))
            lost += 1
        _backdate(ctx, deal, times)
        made.append((deal, times, outcome))
        tick("sales", 1)
    activities = _deal_activities(ctx, rng, made, now)
    rules = _scoring_rules(ctx)
    routes = _routing_rules(ctx, team)
    open_deals = [d for d, _t, outcome in made if outcome is None]
    task_count = _tasks(ctx, rng, owner_id, open_deals, now)
    duplicates = _plant_duplicates(ctx, rng, duplicate_count)
    scoring_live.train(ctx)  # learns from the won/lost history, then scores the leads
    return SalesDemo(len(flows), len(made), won, lost, len(open_deals), activities, rules, routes,
                     task_count, duplicates)  # fmt: skip


def _pipelines(ctx: Context) -> list[_Flow]:
    business = pipelines.create(
        ctx, PipelineIn(name="New business", currency="EUR", is_default=True)
    )
    renewals = pipelines.create(
        ctx,
        PipelineIn(
            name="Renewals",
            currency="EUR",
            stages=[
                StageIn(name="Renewal due", probability=40),
                StageIn(name="Pricing review", probability=65),
                StageIn(name="Renewed", probability=100, is_won=True),
                StageIn(name="Churned", probability=0, is_lost=True),
            ],
        ),
    )
    flows = []
    for pipeline, medians, lose, amount in (
        (business, [6.0, 11.0, 15.0, 9.0], [0.18, 0.16, 0.16, 0.12], 12_000.0),
        (renewals, [12.0, 8.0], [0.1, 0.12], 7_000.0),
    ):
        stages = pipelines.stages_of(ctx, pipeline.id)
        flows.append(
            _Flow(
                pipeline,
                [s for s in stages if not (s.is_won or s.is_lost)],
                next(s for s in stages if s.is_won),
                next(s for s in stages if s.is_lost),
                medians,
                lose,
                amount,
            )
        )
    return flows


def _contacts(ctx: Context) -> list[tuple[uuid.UUID, uuid.UUID | None, str | None, bool]]:
    """(person, company, company name, senior?) of the people deals can be with."""
    rows = ctx.session.execute(
        select(Person.id, Person.company_id, Company.name, Person.job_title)
        .outerjoin(Company, Company.id == Person.company_id)
        .order_by(Person.id)
    )
    found: list[tuple[uuid.UUID, uuid.UUID | None, str | None, bool]] = []
    for person_id, company_id, name, title in rows:
        words = set((title or "").lower().replace(",", " ").split())
        found.append((person_id, company_id, name, bool(words & set(SENIOR))))
    return found


def _story(
    rng: random.Random,
    flow: _Flow,
    created: datetime,
    now: datetime,
    senior: bool,
    knack: float,
) -> tuple[list[datetime], str | None]:
    """When the deal entered each stage it reached, and how it ended (None: still open). The
    last time is the close when the deal closed."""
    times = [created]
    moment = created
    for index, median in enumerate(flow.median_days):
        stay = rng.lognormvariate(math.log(median), 0.6)
        # lately, negotiations drag on (a new legal review): the dashboard's bottleneck
        if index == 3 and now - moment < 150 * DAY:
            stay *= 3.5
        moment = moment + stay * DAY
        if moment >= now:
            return times, None
        odds = flow.lose[index] - knack - (0.08 if senior else -0.05)
        if rng.random() < max(0.03, odds):
            return [*times, moment], "lost"
        times.append(moment)
    return times, "won"


def _backdate(ctx: Context, deal: Deal, times: list[datetime]) -> None:
    """Lay the deal's stays onto the times of its story (the services stamped them "now")."""
    history = table_of(DealStageHistory)
    rows = list(
        ctx.session.execute(
            select(DealStageHistory.id)
            .where(DealStageHistory.deal_id == deal.id)
            .order_by(DealStageHistory.entered_at, DealStageHistory.id)
        ).scalars()
    )
    assert len(rows) == len(times), (len(rows), len(times))
    for index, row_id in enumerate(rows):
        left = times[index + 1] if index + 1 < len(rows) else None
        ctx.session.execute(
            update(history)
            .where(history.c.id == row_id)
            .values(entered_at=times[index], left_at=left)
        )
    last = times[-1]
    deal.created_at = times[0]
    deal.stage_entered_at = last
    deal.updated_at = last
    if deal.closed_at is not None:
        deal.closed_at = last
    ctx.session.flush()


def _deal_activities(
    ctx: Context,
    rng: random.Random,
    made: list[tuple[Deal, list[datetime], str | None]],
    now: datetime,
) -> int:
    items: list[dict[str, Any]] = []
    for deal, times, outcome in made:
        if deal.person_id is None and deal.company_id is None:
            continue
        end = times[-1] if outcome is not None else now
        span = max((end - times[0]).total_seconds(), 3600.0)
        for _ in range(rng.randint(1, 4)):
            kind, direction, early, late = rng.choice(TOUCHES)
            moment = times[0] + timedelta(seconds=span * rng.random())
            stage_index = bisect.bisect_right(times, moment) - 1
            items.append(
                {
                    "kind": kind,
                    "direction": direction,
                    "occurred_at": moment,
                    "subject": rng.choice(early if stage_index < 2 else late),
                    "deal_id": deal.id,
                    "person_id": deal.person_id,
                    "company_id": deal.company_id,
                }
            )
    made_count = 0
    for start in range(0, len(items), 1000):
        outcome_ = timeline.ingest_many(ctx, items[start : start + 1000])
        failed = [r for r in outcome_.results if r.status == "error"]
        if failed:
            raise RuntimeError(f"demo deal activity rejected: {failed[0].errors}")
        made_count += outcome_.count("created")
    return made_count


def _scoring_rules(ctx: Context) -> int:
    rules = [
        RuleIn(name="Decision maker", kind="job_title_contains", params={"text": "director"},
               points=20),
        RuleIn(name="Manages a team", kind="job_title_contains", params={"text": "manager"},
               points=10),
        RuleIn(name="Mid-size company", kind="company_size_between",
               params={"min": 50, "max": 2000}, points=15),
        RuleIn(name="Software industry", kind="industry_equals", params={"industry": "Software"},
               points=10),
        RuleIn(name="On the enterprise plan", kind="custom_field_equals",
               params={"key": "plan", "value": "enterprise"}, points=15),
        RuleIn(name="Email engagement", kind="engagement",
               params={"kind": "email", "half_life_days": 30, "max_points": 25}, points=5),
        RuleIn(name="Store visits", kind="engagement",
               params={"kind": "visit", "half_life_days": 60, "max_points": 20}, points=8),
        RuleIn(name="Meetings held", kind="engagement",
               params={"kind": "meeting", "half_life_days": 45, "max_points": 30}, points=10),
    ]  # fmt: skip
    for rule in rules:
        scoring.create_rule(ctx, rule)
    return len(rules)


def _routing_rules(ctx: Context, team: list[uuid.UUID]) -> int:
    rules = [
        RoutingRuleIn(name="DACH and Benelux", kind="territory",
                      params={"countries": ["DE", "NL"]}, user_id=team[2 % len(team)]),
        RoutingRuleIn(name="UK and Ireland", kind="territory",
                      params={"countries": ["GB", "IE"]}, user_id=team[1 % len(team)]),
        RoutingRuleIn(name="Hot leads to the senior rep", kind="score_threshold",
                      params={"min_score": 40}, user_id=team[0]),
        RoutingRuleIn(name="Existing accounts stay with their owner", kind="company_owner"),
    ]  # fmt: skip
    for rule in rules:
        routing.create_rule(ctx, rule)
    return len(rules)


def _tasks(
    ctx: Context, rng: random.Random, owner_id: uuid.UUID, open_deals: list[Deal], now: datetime
) -> int:
    mine = [d for d in open_deals if d.owner_id == owner_id] or open_deals
    if not mine:
        return 0
    count = 0
    for index, (title, priority) in enumerate(TASKS):
        deal = mine[index % len(mine)]
        # a third overdue, a few today, the rest in the coming two weeks
        if index % 3 == 0:
            due = now - timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 8))
        elif index % 4 == 1:
            due = now + timedelta(hours=rng.randint(1, 6))
        else:
            due = now + timedelta(days=rng.randint(1, 14))
        tasks.create(
            ctx,
            TaskIn(
                title=title,
                notes=f"About “{deal.title}”.",
                due_at=due,
                priority=priority,
                assignee_id=owner_id,
                deal_id=deal.id,
                person_id=deal.person_id,
            ),
        )
        count += 1
    return count


def _typo(rng: random.Random, name: str) -> str:
    """The name with one slip of the keyboard: two letters swapped, one dropped or doubled."""
    if len(name) < 4:
        return name + name[-1]
    i = rng.randrange(1, len(name) - 2)
    slip = rng.choice(["swap", "drop", "double"])
    if slip == "swap":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if slip == "drop":
        return name[:i] + name[i + 1 :]
    return name[:i] + name[i] + name[i:]


def _plant_duplicates(ctx: Context, rng: random.Random, count: int) -> int:
    """People entered twice: a typo in the name, the same phone, the email at another address
    (an email names one person in a workspace, so the copy cannot share it)."""
    if count <= 0:
        return 0
    rows = list(
        ctx.session.execute(
            select(Person.first_name, Person.last_name, Person.email, Person.phone,
                   Person.company_id, Person.job_title)
            .where(Person.phone.is_not(None), Person.email.is_not(None))
            .order_by(Person.id)
        )
    )  # fmt: skip
    items = []
    for first, last, email, phone, company_id, job in rng.sample(rows, min(count, len(rows))):
        local, _, domain = (email or "").partition("@")
        items.append(
            {
                "first_name": _typo(rng, first) if rng.random() < 0.5 else first,
                "last_name": _typo(rng, last),
                "email": f"{local}.alt@{domain}",
                "phone": phone,
                "company_id": company_id,
                "job_title": job,
                "source": "import",
            }
        )
    outcome = bulk.bulk_upsert(ctx, items)  # type: ignore[arg-type]
    failed = [r for r in outcome.results if r.status == "error"]
    if failed:
        raise RuntimeError(f"demo duplicate rejected: {failed[0].errors}")
    return sum(1 for r in outcome.results if r.status == "created")


def demo_step(ctx: Context, seed: DemoSeed) -> DemoMade:
    """The sales step of ``rapport demo`` (``Domain.demo``): deals, tasks, scores, twins."""
    made = seed_sales(
        ctx, seed.rng, owner_id=seed.owner_id, team=seed.team, deal_count=seed.deals,
        duplicate_count=min(20, seed.people // 10), progress=seed.progress,
    )  # fmt: skip
    return DemoMade(
        people=made.duplicates,
        activities=made.activities,
        deals=made.deals,
        duplicates=made.duplicates,
    )
