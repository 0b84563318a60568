"""Every sort a list offers (people, companies, deals, tasks: each column shown that sorts) is
an index scan, checked with EXPLAIN on PostgreSQL over a few thousand rows and fresh planner
statistics, without discouraging sequential scans: no Seq Scan of the listed table and no Sort
of it. The capped count is a bounded query (a LIMIT under the count)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, insert

from rapport.core.context import Context
from rapport.core.listing import ListParams, count_records, list_records
from rapport.core.records import RecordType, record_type
from rapport.hub.models import Company, Person
from rapport.sales.models import Deal, Task
from rapport.sales.schemas import DealIn
from rapport.sales.service import deals
from tests.conftest import Cast

pytestmark = pytest.mark.skipif(
    not os.environ.get("RAPPORT_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="EXPLAIN shape is PostgreSQL's; run with RAPPORT_TEST_DATABASE_URL",
)

ROWS = 3000
STAGES = ("lead", "subscriber", "opportunity", "customer", "evangelist", "churned")
TABLES = {"person": "people", "company": "companies", "deal": "deals", "task": "tasks"}


def statement_of(ctx: Context, call: Callable[[], Any]) -> tuple[str, Any]:
    """The last statement ``call`` runs, with its parameters."""
    connection = ctx.session.connection()
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    return captured[-1]


def plan(ctx: Context, call: Callable[[], Any]) -> str:
    statement, params = statement_of(ctx, call)
    rows = ctx.session.connection().exec_driver_sql("EXPLAIN " + statement, params)
    return "\n".join(r[0] for r in rows)


@pytest.fixture
def loaded(ada_ctx: Context, cast: Cast) -> None:
    """A few thousand people, companies, deals and tasks with varied values, then ANALYZE."""
    ws = ada_ctx.workspace_id
    session = ada_ctx.session
    start = datetime(2024, 1, 1, tzinfo=UTC)
    first = deals.create(ada_ctx, DealIn(title="Seed deal", currency="EUR"))
    members = [cast.ada.user_id, cast.ben.user_id, cast.max.user_id, None]

    def at(i: int) -> datetime:
        return start + timedelta(minutes=7 * i)

    session.execute(insert(Company), [
        {"id": uuid.uuid4(), "workspace_id": ws, "name": f"Company {i:05}",
         "domain": f"c{i}.example.com", "industry": f"Industry {i % 97}", "size": (i * 37) % 5000,
         "phone": f"+44{i:09}", "created_at": at(i), "updated_at": at(ROWS - i)}
        for i in range(ROWS)
    ])  # fmt: skip
    session.execute(insert(Person), [
        {"id": uuid.uuid4(), "workspace_id": ws, "first_name": f"F{i}", "last_name": f"L{i % 311}",
         "full_name": f"F{i} L{i % 311}", "email": f"p{(i * 7919) % ROWS}@example.com",
         "phone": f"+33{(i * 131) % ROWS:09}", "job_title": f"Title {i % 53}",
         "lifecycle_stage": STAGES[i % len(STAGES)], "source": f"src{i % 17}",
         "owner_id": members[i % 4], "created_at": at(i), "updated_at": at(ROWS - i)}
        for i in range(ROWS)
    ])  # fmt: skip
    session.execute(insert(Deal), [
        {"id": uuid.uuid4(), "workspace_id": ws, "title": f"Deal {(i * 7) % ROWS:05}",
         "amount": Decimal((i * 113) % 100000), "currency": "EUR",
         "pipeline_id": first.pipeline_id, "stage_id": first.stage_id,
         "expected_close_date": date(2025, 1, 1) + timedelta(days=i % 700),
         "owner_id": members[i % 4], "created_at": at(i), "updated_at": at(i)}
        for i in range(ROWS)
    ])  # fmt: skip
    session.execute(insert(Task), [
        {"id": uuid.uuid4(), "workspace_id": ws, "title": f"Task {i}",
         "due_at": at(ROWS - i) if i % 5 else None, "assignee_id": members[i % 4],
         "done_at": at(i) if i % 3 == 0 else None, "created_at": at(i), "updated_at": at(i)}
        for i in range(ROWS)
    ])  # fmt: skip
    session.flush()
    for table in TABLES.values():
        session.connection().exec_driver_sql(f"ANALYZE {table}")


def sorts() -> list[tuple[str, str]]:
    return [(name, sort) for name in TABLES for sort in record_type(name).sorts]


@pytest.mark.parametrize(("name", "sort"), sorts())
@pytest.mark.parametrize("direction", ["", "-"])
def test_each_sort_is_an_index_scan(
    ada_ctx: Context, loaded: None, name: str, sort: str, direction: str
) -> None:
    kind: RecordType[Any] = record_type(name)
    params = ListParams(limit=50, sort=direction + sort)
    shape = plan(ada_ctx, lambda: list_records(ada_ctx, kind, params))
    table = TABLES[name]
    assert f"Seq Scan on {table}" not in shape, shape
    assert "Sort" not in shape.split("Index")[0], shape  # no sort above the scan
    assert f"ix_{table}_ws_" in shape, shape


def test_every_sort_is_tested() -> None:
    """A list that gains a sort is checked by the test above without another line."""
    assert ("person", "email") in sorts() and ("company", "size") in sorts()
    assert ("deal", "title") in sorts() and ("task", "done_at") in sorts()


@pytest.mark.parametrize("name", list(TABLES))
def test_the_count_is_bounded(ada_ctx: Context, loaded: None, name: str) -> None:
    kind: RecordType[Any] = record_type(name)
    shape = plan(ada_ctx, lambda: count_records(ada_ctx, kind, ListParams(), cap=100))
    assert "Limit" in shape, shape
    counted = count_records(ada_ctx, kind, ListParams(), cap=100)
    assert counted.capped and counted.label == "100+"
