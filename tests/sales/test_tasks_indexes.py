"""The task lists My tasks and the API offer are served by an index (EXPLAIN on PostgreSQL)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rapport.core.context import Context
from rapport.sales.models import Deal, Task
from rapport.sales.schemas import DealIn, TaskIn
from rapport.sales.service import deals, tasks
from rapport.sales.service.tasks import TaskQuery
from tests.conftest import Cast
from tests.hub.test_list_indexes import plan_of

pytestmark = pytest.mark.skipif(
    not os.environ.get("RAPPORT_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="EXPLAIN shape is PostgreSQL's",
)


@pytest.fixture
def seeded(ada_ctx: Context, cast: Cast) -> dict[str, Any]:
    """300 tasks over four assignees and 30 deals, and fresh planner statistics."""
    made: list[Deal] = [
        deals.create(ada_ctx, DealIn(title=f"Deal {i}", currency="EUR")) for i in range(30)
    ]
    people = [cast.ada.user_id, cast.ben.user_id, cast.max.user_id, cast.ann.user_id]
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for i in range(300):
        tasks.create(ada_ctx, TaskIn(title=f"Task {i}", assignee_id=people[i % 4],
                                     due_at=start + timedelta(hours=i),
                                     deal_id=made[i % 30].id))  # fmt: skip
    connection = ada_ctx.session.connection()
    connection.exec_driver_sql("ANALYZE tasks")
    return {"deal": made[0]}


def test_my_open_tasks_use_the_assignee_index(ada_ctx: Context, seeded: dict[str, Any]) -> None:
    query = TaskQuery(limit=20, assignee_id=ada_ctx.user_id, status="open")
    plan = plan_of(ada_ctx, lambda: tasks.list_tasks(ada_ctx, query))
    assert "ix_tasks_ws_assignee_due" in plan, plan


def test_all_tasks_by_due_time_use_the_due_index(ada_ctx: Context, seeded: dict[str, Any]) -> None:
    plan = plan_of(ada_ctx, lambda: tasks.list_tasks(ada_ctx, TaskQuery(limit=20)))
    assert "ix_tasks_ws_due" in plan, plan


def test_a_deals_tasks_use_the_deal_index(ada_ctx: Context, seeded: dict[str, Any]) -> None:
    query = TaskQuery(limit=20, deal_id=seeded["deal"].id)
    plan = plan_of(ada_ctx, lambda: tasks.list_tasks(ada_ctx, query))
    assert "ix_tasks_ws_deal" in plan, plan


def test_the_task_model_has_the_indexes() -> None:
    names = {index.name for index in Task.__table__.indexes}  # type: ignore[attr-defined]
    assert {"ix_tasks_ws_assignee_due", "ix_tasks_ws_due", "ix_tasks_ws_deal"} <= names
