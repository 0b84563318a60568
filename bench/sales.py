"""Benchmark of the sales analytics: bulk-load N deals with their stage history through a
fast path (multi-row Core INSERTs), then time the forecast, funnel, bottleneck, summary and
weighted-pipeline computations.

    uv run python -m bench.sales --database sqlite --deals 100000
    uv run python -m bench.sales --database postgresql --deals 100000

Target (100k deals, PostgreSQL): forecast and funnel < 1 s each.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from bench.common import analyze, database_url
from rapport.accounts import service as accounts
from rapport.core import migrations
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import Database, set_database, table_of, transaction
from rapport.core.ids import new_id
from rapport.core.permissions import Role
from rapport.sales.models import Deal, DealStageHistory, Stage
from rapport.sales.schemas import PipelineIn
from rapport.sales.service import forecast, pipelines

BATCH = 5000
OWNERS = 8


def load(db: Database, count: int, seed: int) -> tuple[uuid.UUID, uuid.UUID]:
    """Create a workspace, its owners and default pipeline, then ``count`` deals."""
    migrations.upgrade(db.engine)
    random.seed(seed)
    with transaction(unscoped=True) as session:
        ws = accounts.create_workspace(session, "Sales bench")
        users = [
            accounts.create_user(
                session, ws, email=f"rep{i}@bench.test", password=None, role=Role.MEMBER
            ).id
            for i in range(OWNERS)
        ]
        ws_id = ws.id
    with transaction(ws_id) as session:
        ctx = Context(session=session, workspace_id=ws_id, user_id=users[0], role=Role.OWNER)
        pipeline = pipelines.create(ctx, PipelineIn(name="Sales", currency="EUR"))
        stages = pipelines.stages_of(ctx, pipeline.id)
        pipeline_id = pipeline.id
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        deals, stays = _batch(ws_id, pipeline_id, stages, users, min(BATCH, count - start))
        with transaction(ws_id) as session:
            session.execute(insert(table_of(Deal)), deals)
            session.execute(insert(table_of(DealStageHistory)), stays)
    print(f"loaded {count} deals in {time.perf_counter() - started:.1f} s")
    return ws_id, users[0]


def _batch(
    ws: uuid.UUID, pipeline_id: uuid.UUID, stages: list[Stage], users: list[uuid.UUID], n: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Deals that walked part of the pipeline: 40% still open, the rest won or lost."""
    open_stages = [s for s in stages if not (s.is_won or s.is_lost)]
    won = next(s for s in stages if s.is_won)
    lost = next(s for s in stages if s.is_lost)
    now = utcnow()
    deals, stays = [], []
    for _ in range(n):
        deal_id = new_id()
        reached = random.choices(range(len(open_stages)), weights=[4, 3, 2, 1])[0]
        path = open_stages[: reached + 1]
        fate = random.random()
        if fate >= 0.4:
            # Deals that got further win more often: that is the signal the forecast reads.
            path = [*path, won if random.random() < 0.2 + 0.2 * reached else lost]
        days = [random.expovariate(1 / (5 + 5 * i)) for i in range(len(path))]
        created = now - timedelta(days=sum(days) + random.uniform(0, 30))
        moment = created
        for index, (stage, length) in enumerate(zip(path, days, strict=True)):
            last = index == len(path) - 1
            left = None if last else moment + timedelta(days=length)
            stays.append(
                {"id": new_id(), "workspace_id": ws, "deal_id": deal_id, "stage_id": stage.id,
                 "entered_at": moment, "left_at": left, "actor_id": None}
            )  # fmt: skip
            if not last:
                moment = left  # type: ignore[assignment]  # set on every non-last stay
        final = path[-1]
        status = "won" if final.is_won else "lost" if final.is_lost else "open"
        deals.append(
            {"id": deal_id, "workspace_id": ws, "title": f"Deal {deal_id.hex[:8]}",
             "amount": Decimal(random.randint(5, 500) * 100), "currency": "EUR",
             "pipeline_id": pipeline_id, "stage_id": final.id, "status": status,
             "expected_close_date": date.today() + timedelta(days=random.randint(-30, 180)),
             "owner_id": random.choice(users), "person_id": None, "company_id": None,
             "stage_entered_at": moment, "closed_at": moment if status != "open" else None,
             "close_reason": None, "version": 1, "created_at": created, "updated_at": moment,
             "deleted_at": None}
        )  # fmt: skip
    return deals, stays


def timed(name: str, call: Callable[[], Any], runs: int) -> tuple[str, float, float]:
    """Best and median wall time of ``call`` over ``runs`` runs, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return name, min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="sqlite", help="sqlite, postgresql, or a URL")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    url = database_url(args.database, "rapport_bench_sales", fresh=True)
    db = Database(url)
    set_database(db)
    ws_id, user_id = load(db, args.deals, args.seed)
    analyze(url)
    rows = []
    with transaction(ws_id) as session:
        ctx = Context(session=session, workspace_id=ws_id, user_id=user_id, role=Role.OWNER)
        for name, call in (
            ("forecast", lambda: forecast.forecast(ctx)),
            ("funnel", lambda: forecast.funnel(ctx)),
            ("bottlenecks", lambda: forecast.bottlenecks(ctx)),
            ("summary", lambda: forecast.summary(ctx)),
            ("weighted pipeline", lambda: forecast.weighted_pipeline(ctx)),
        ):
            rows.append(timed(name, call, args.runs))
        _, totals = forecast.forecast(ctx)
    table = Table(title=f"sales analytics, {args.deals} deals, {db.dialect}")
    for column in ("computation", "best ms", "median ms"):
        table.add_column(column, justify="left" if column == "computation" else "right")
    for name, best, median in rows:
        table.add_row(name, f"{best:.1f}", f"{median:.1f}")
    Console().print(table)
    print(f"forecast totals: {totals}")


if __name__ == "__main__":
    main()
