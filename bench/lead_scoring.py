"""Lead capture and predictive scoring at workspace scale: a CSV lead import (first run and
the idempotent rerun), training on a won/lost history, and rescoring the leads.

    uv run python -m bench.lead_scoring --database sqlite --history 2000 --import-rows 5000

Prints wall-clock figures; nothing here is asserted (see tests/sales for correctness).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta

from sqlalchemy import insert

from bench.common import database_url
from rapport.accounts import service as accounts
from rapport.core import migrations
from rapport.core.clock import utcnow
from rapport.core.context import system_context
from rapport.core.db import Database, set_database, table_of, transaction
from rapport.core.ids import new_id
from rapport.hub.models import Activity, Company, Person
from rapport.sales.models import Deal, DealStatus
from rapport.sales.service import leads, pipelines, scoring_live

SIZES = (5, 30, 120, 150, 180, 800, 3000)


def _history(ws_id, n: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """``n`` people with companies, visits and one closed deal each, inserted in bulk."""
    now = utcnow()
    with transaction(ws_id) as session:
        ctx = system_context(session, ws_id)
        pipeline = pipelines.ensure_default(ctx)
        stage = pipelines.stages_of(ctx, pipeline.id)[0]
        companies, people, activities, deals = [], [], [], []
        for i in range(n):
            cid, pid = new_id(), new_id()
            size = rng.choice(SIZES)
            companies.append(
                {
                    "id": cid,
                    "workspace_id": ws_id,
                    "name": f"Co {i}",
                    "size": size,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                    "custom": {},
                }
            )
            people.append(
                {
                    "id": pid,
                    "workspace_id": ws_id,
                    "first_name": f"P{i}",
                    "full_name": f"P{i}",
                    "company_id": cid,
                    "job_title": "Manager",
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
            pricing = rng.randint(0, 4)
            for k in range(pricing + rng.randint(0, 4)):
                activities.append(
                    {
                        "id": new_id(),
                        "workspace_id": ws_id,
                        "kind": "visit",
                        "channel": "web",
                        "subject": "Pricing" if k < pricing else "Blog",
                        "person_id": pid,
                        "occurred_at": now - timedelta(days=rng.randint(1, 60)),
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                        "meta": {},
                    }
                )
            won = (pricing >= 2 and 51 <= size <= 200) != (rng.random() < 0.1)
            deals.append(
                {
                    "id": new_id(),
                    "workspace_id": ws_id,
                    "title": "D",
                    "currency": "EUR",
                    "pipeline_id": pipeline.id,
                    "stage_id": stage.id,
                    "person_id": pid,
                    "status": DealStatus.WON if won else DealStatus.LOST,
                    "closed_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
        for model, rows in (
            (Company, companies),
            (Person, people),
            (Activity, activities),
            (Deal, deals),
        ):
            session.execute(insert(table_of(model)), rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--history", type=int, default=2000, help="people with a closed deal")
    parser.add_argument("--import-rows", type=int, default=5000)
    args = parser.parse_args()

    url = database_url(args.database, "rapport_bench_lead_scoring", fresh=True)
    db = Database(url)
    set_database(db)
    migrations.upgrade(db.engine)
    with transaction(unscoped=True) as session:
        ws_id = accounts.create_workspace(session, "Bench scoring").id
    rng = random.Random(1)

    csv_rows = ["email,first_name,job_title,utm_source,utm_campaign"]
    csv_rows += [f"lead{i}@bench.example.com,L{i},Director,google,c{i % 7}"
                 for i in range(args.import_rows)]  # fmt: skip
    data = "\n".join(csv_rows).encode()
    for label in ("CSV import (first run)", "CSV import (rerun, idempotent)"):
        start = time.perf_counter()
        with transaction(ws_id) as session:
            report = leads.import_csv(system_context(session, ws_id), data)
        took = time.perf_counter() - start
        print(f"{label}: {report.rows} rows in {took:.1f} s = {report.rows / took:.0f} rows/s "
              f"(created {report.created}, unchanged {report.unchanged})")  # fmt: skip

    _history(ws_id, args.history, rng)
    start = time.perf_counter()
    with transaction(ws_id) as session:
        model = scoring_live.train(system_context(session, ws_id))
    took = time.perf_counter() - start
    print(
        f"train on {model.closed_deals} closed deals, then rescore every lead: {took:.1f} s "
        f"(AUC {model.auc} vs rules {model.rules_auc} on {model.test_size} held out)"
    )
    start = time.perf_counter()
    with transaction(ws_id) as session:
        rescored = scoring_live.rescore_leads(system_context(session, ws_id))
    took = time.perf_counter() - start
    print(f"rescore {rescored} people: {took:.1f} s = {rescored / took:.0f} people/s")


if __name__ == "__main__":
    main()
