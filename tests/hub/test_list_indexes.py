"""Every list the companies, timeline and audit endpoints offer is served by an index
(checked with EXPLAIN on PostgreSQL, whose planner is the one that matters at scale)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from rapport.core import audit
from rapport.core.context import Context
from rapport.core.listing import ListParams
from rapport.hub.schemas import ActivityIn, CompanyIn, CompanyPatch, PersonIn
from rapport.hub.service import companies, companies_list, people, timeline, timeline_read

pytestmark = pytest.mark.skipif(
    not os.environ.get("RAPPORT_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="EXPLAIN shape is PostgreSQL's",
)


def plan_of(ctx: Context, call: Callable[[], Any]) -> str:
    """The plan of the last statement ``call`` runs, with sequential scans discouraged so a
    tiny test table still shows which index the query can use."""
    connection = ctx.session.connection()
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    statement, params = captured[-1]
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + statement, params)
    return "\n".join(r[0] for r in rows)


@pytest.fixture
def seeded(ada_ctx: Context) -> dict[str, Any]:
    """40 companies, 40 people with 25 activities each, and fresh planner statistics (ANALYZE
    sees this transaction's own rows), so the planner chooses as it would on a real table."""
    made = [
        companies.create(ada_ctx, CompanyIn(name=f"Company {i:02}", domain=f"c{i}.com"))
        for i in range(40)
    ]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    items: list[ActivityIn | dict[str, Any]] = []
    someone = []
    for i, company in enumerate(made):
        person = people.create(ada_ctx, PersonIn(first_name=f"P{i}", company_id=company.id))
        someone.append(person)
        items += [
            ActivityIn(kind="email", person_id=person.id, occurred_at=start + timedelta(hours=h))
            for h in range(25)
        ]
    timeline.ingest_many(ada_ctx, items)
    companies.update(ada_ctx, made[0].id, CompanyPatch(industry="Software"))
    connection = ada_ctx.session.connection()
    for table in ("companies", "people", "activities", "audit_log"):
        connection.exec_driver_sql(f"ANALYZE {table}")
    return {"company": made[0], "person": someone[0]}


def test_company_list_by_name_uses_its_index(ada_ctx: Context, seeded: dict[str, Any]) -> None:
    plan = plan_of(ada_ctx, lambda: companies_list.list_companies(ada_ctx, ListParams(limit=10)))
    assert "ix_companies_ws_name" in plan, plan


def test_company_list_newest_first_uses_its_index(ada_ctx: Context, seeded: dict[str, Any]) -> None:
    params = ListParams(limit=10, sort="-created_at")
    plan = plan_of(ada_ctx, lambda: companies_list.list_companies(ada_ctx, params))
    assert "ix_companies_ws_created" in plan, plan


def test_person_timeline_uses_its_index(ada_ctx: Context, seeded: dict[str, Any]) -> None:
    person_id = seeded["person"].id
    plan = plan_of(ada_ctx, lambda: timeline_read.timeline(ada_ctx, person_id, limit=10))
    assert "ix_activities_ws_person_time" in plan, plan


def test_company_timeline_uses_its_index(ada_ctx: Context, seeded: dict[str, Any]) -> None:
    company_id = seeded["company"].id
    plan = plan_of(ada_ctx, lambda: timeline_read.company_timeline(ada_ctx, company_id, limit=10))
    assert "ix_activities_ws_company_time" in plan, plan


def test_summary_groups_over_the_persons_index(ada_ctx: Context, seeded: dict[str, Any]) -> None:
    person_id = seeded["person"].id
    plan = plan_of(ada_ctx, lambda: timeline_read.summary(ada_ctx, person_id))
    assert "ix_activities_ws_person_time" in plan, plan


def test_audit_of_a_record_uses_its_index(ada_ctx: Context, seeded: dict[str, Any]) -> None:
    company_id = seeded["company"].id
    plan = plan_of(ada_ctx, lambda: audit.list_entries(ada_ctx, record_id=company_id, limit=10))
    assert "ix_audit_ws_record" in plan, plan
