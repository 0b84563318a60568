"""The demo generator: realistic, complete (hub and sales), and the same for the same seed."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, func, select

from rapport.core.clock import utcnow
from rapport.core.db import Database
from rapport.core.events import OutboxEvent
from rapport.hub.demo import create_demo
from rapport.hub.models import Activity, Company, Person
from rapport.hygiene.models import DuplicateCandidate
from rapport.sales.models import (
    Deal,
    DealStageHistory,
    DealStatus,
    LeadScore,
    Pipeline,
    RoutingRule,
    ScoringRule,
    Task,
)

PLANTED = 6  # twins planted in a 60-person demo (one in ten)


def _count(session: Any, model: Any, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _seed(database: Database, seed: int) -> dict[str, Any]:
    with database.session(unscoped=True) as session:
        result = create_demo(
            session, name=f"Demo {seed}", people=60, company_count=8, activities=600, seed=seed
        )
        session.info["workspace_id"] = result.workspace_id
        session.info["unscoped"] = False
        names = list(session.scalars(select(Person.full_name).order_by(Person.full_name)))
        stays: dict[Any, list[Any]] = defaultdict(list)
        for stay in session.scalars(
            select(DealStageHistory).order_by(DealStageHistory.deal_id, DealStageHistory.entered_at)
        ):
            stays[stay.deal_id].append(stay)
        deals = list(session.scalars(select(Deal).order_by(Deal.title, Deal.id)))
        tasks = list(session.scalars(select(Task).where(Task.done_at.is_(None))))
        figures = {
            "result": result,
            "names": names,
            "purchases": _count(session, Activity, Activity.kind == "purchase"),
            "companies": _count(session, Company),
            "pipelines": _count(session, Pipeline),
            "deals": deals,
            "stays": stays,
            "deal_activities": _count(session, Activity, Activity.deal_id.is_not(None)),
            "scoring_rules": _count(session, ScoringRule),
            "routing_rules": _count(session, RoutingRule),
            "tasks": tasks,
            "candidates": _count(session, DuplicateCandidate),
            "backlog": _count(session, OutboxEvent, OutboxEvent.dispatched_at.is_(None)),
            "scored_leads": _count(session, LeadScore),
        }
        session.flush()
        return figures


def test_demo_fills_a_workspace_with_people_companies_and_timelines(
    database: Database, connection: Connection
) -> None:
    demo = _seed(database, seed=1)
    assert len(demo["names"]) == 60 + PLANTED
    assert demo["companies"] == 8
    assert demo["purchases"] > 0


def test_demo_has_pipelines_deals_with_histories_rules_tasks_and_duplicates(
    database: Database, connection: Connection
) -> None:
    demo = _seed(database, seed=2)
    now = utcnow()
    deals: list[Deal] = demo["deals"]
    assert demo["pipelines"] == 2
    assert len(deals) == demo["result"].deals == 18  # about one deal per three people
    by_status = defaultdict(list)
    for deal in deals:
        by_status[deal.status].append(deal)
        stays = demo["stays"][deal.id]
        assert stays, deal.title
        assert stays[0].entered_at.replace(tzinfo=UTC) <= now
        for before, after in pairwise(stays):
            assert before.left_at == after.entered_at  # stays are back to back
        assert stays[-1].left_at is None and stays[-1].stage_id == deal.stage_id
        if deal.status != DealStatus.OPEN:
            assert deal.close_reason and deal.closed_at == stays[-1].entered_at
        assert deal.currency == "EUR" and deal.amount > 0
    assert by_status[DealStatus.WON] and by_status[DealStatus.LOST] and by_status[DealStatus.OPEN]
    spread = max(d.created_at for d in deals) - min(d.created_at for d in deals)
    assert spread.days > 90  # two years of history, not one afternoon
    assert demo["deal_activities"] >= len(deals)
    assert demo["scoring_rules"] >= 5 and demo["routing_rules"] >= 3
    owner_tasks = [t for t in demo["tasks"] if t.deal_id is not None]
    assert len(owner_tasks) >= 10
    assert any(t.due_at is not None and t.due_at.replace(tzinfo=UTC) < now for t in owner_tasks)
    assert demo["candidates"] >= PLANTED  # the scan found the planted twins


def test_demo_scores_its_leads_and_leaves_no_backlog(
    database: Database, connection: Connection
) -> None:
    """The first `make run` met ~33,500 queued deliveries that locked SQLite for minutes."""
    demo = _seed(database, seed=3)
    assert demo["scored_leads"] > 0
    assert demo["backlog"] == 0


def test_same_seed_same_data(database: Database, connection: Connection) -> None:
    first = _seed(database, seed=5)
    assert len(first["names"]) == 60 + PLANTED
    # A second workspace from the same seed gets the same people and deals.
    again = _seed(database, seed=5)
    assert again["names"] == first["names"]
    assert [(d.title, d.amount, d.status) for d in again["deals"]] == [
        (d.title, d.amount, d.status) for d in first["deals"]
    ]
