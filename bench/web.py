"""Server render time of the web app's list and record pages (people, companies, deals as a
board and a list, tasks, the data-quality and settings pages), through real HTTP against
``rapport serve``, on a database loaded by ``bench.hub`` (run that first, same --people). The
first run adds companies, deals and tasks through the services (``--companies``, ``--deals``,
``--tasks``; a database that has them already is left as it is).

    uv run python -m bench.web --database postgresql --people 1000000

Target (1M people): p95 < 100 ms for every page.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select

from bench.common import Figures, analyze, database_url, measure, print_figures, served
from rapport.accounts.models import Membership, Workspace
from rapport.core import migrations, security
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import Database, set_database, transaction
from rapport.core.permissions import Role
from rapport.hub.models import Company, Person
from rapport.hub.schemas import CompanyIn
from rapport.hub.service import companies
from rapport.hygiene import jobs as hygiene_jobs
from rapport.sales.models import Deal, Task
from rapport.sales.schemas import DealIn, TaskIn
from rapport.sales.service import deals, tasks

BATCH = 500


def seed(url: str, ws_id: uuid.UUID, owner: uuid.UUID, people: list[uuid.UUID], n: dict) -> None:
    """Companies, deals and tasks through the services, committed in batches; none if the
    workspace has some already."""
    rng = random.Random(11)
    with transaction(ws_id) as session:
        if session.scalars(select(Company.id).limit(1)).first() is not None:
            return
    made: dict[str, list[uuid.UUID]] = {"company": [], "deal": []}
    plan = [("company", n["companies"]), ("deal", n["deals"]), ("task", n["tasks"])]
    for kind, total in plan:
        for start in range(0, total, BATCH):
            with transaction(ws_id) as session:
                ctx = Context(session=session, workspace_id=ws_id, user_id=owner, role=Role.OWNER)
                for i in range(start, min(start + BATCH, total)):
                    made.setdefault(kind, []).append(_one(ctx, kind, i, rng, people, made))
            print(f"\r{kind}: {min(start + BATCH, total):,}/{total:,}", end="", flush=True)
        print()
    analyze(url)


def _one(
    ctx: Context, kind: str, i: int, rng: random.Random, people: list[uuid.UUID], made: dict
) -> uuid.UUID:
    if kind == "company":
        return companies.create(ctx, CompanyIn(name=f"Company {i:06d}")).id
    if kind == "deal":
        data = DealIn(
            title=f"Deal {i:06d}",
            amount=Decimal(rng.randrange(500, 90_000)),
            currency="EUR",
            expected_close_date=(utcnow() + timedelta(days=rng.randrange(-60, 120))).date(),
            person_id=rng.choice(people),
            company_id=rng.choice(made["company"]) if made["company"] else None,
        )
        return deals.create(ctx, data).id
    due = utcnow() + timedelta(days=rng.randrange(-10, 30))
    data_t = TaskIn(title=f"Follow up {i:06d}", due_at=due, person_id=rng.choice(people))
    return tasks.create(ctx, data_t).id


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--people", type=int, default=100_000, help="the bench.hub load to use")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db-name", help="default rapport_bench_hub_<people>")
    parser.add_argument("--companies", type=int, default=20_000)
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=5_000)
    args = parser.parse_args()

    name = args.db_name or f"rapport_bench_hub_{args.people}"
    url = database_url(args.database, name, fresh=False)
    db = Database(url)
    set_database(db)
    migrations.upgrade(db.engine)
    with transaction(unscoped=True) as session:
        ws_id = session.scalars(select(Workspace.id).where(Workspace.slug == "bench")).one()
    with transaction(ws_id) as session:
        owner = session.scalars(select(Membership.user_id).where(Membership.role == "owner")).one()
        ids = [str(i) for i in session.scalars(select(Person.id).order_by(Person.id).limit(5000))]
    random.shuffle(ids)
    counts = {"companies": args.companies, "deals": args.deals, "tasks": args.tasks}
    seed(url, ws_id, owner, [uuid.UUID(i) for i in ids], counts)
    hygiene_jobs.quality_snapshot(str(ws_id))  # as the worker keeps it (the bench runs none)
    with transaction(ws_id) as session:
        company_ids = [str(i) for i in session.scalars(select(Company.id).limit(2000))]
        deal_ids = [str(i) for i in session.scalars(select(Deal.id).limit(2000))]
        assert session.scalars(select(Task.id).limit(1)).first() is not None
    cookie = security.sign_session({"user": str(owner), "workspace": str(ws_id), "csrf": "bench"})
    cookies = {security.SESSION_COOKIE: cookie}

    def page(path: str, pool: list[str] | None = None) -> Call:
        async def call(c: httpx.AsyncClient, i: int) -> httpx.Response:
            target = path.format(pool[i % len(pool)]) if pool else path
            response = await c.get(target, cookies=cookies)
            response.raise_for_status()
            return response

        return call

    pages = [
        ("people-list-page", page("/people")),
        ("people-list-by-email", page("/people?sort=email")),
        ("person-page", page("/people/{}", ids)),
        ("companies-list-page", page("/companies")),
        ("company-page", page("/companies/{}", company_ids)),
        ("deals-board", page("/deals")),
        ("deals-list", page("/deals/list")),
        ("deal-page", page("/deals/{}", deal_ids)),
        ("tasks-page", page("/tasks")),
        ("quality-page", page("/quality")),
        ("members-page", page("/settings/members")),
    ]
    figures: list[Figures] = []
    with served(url, workers=args.workers) as base:
        for name, call in pages:
            figures.append(
                measure(
                    name, call, base=base, headers={}, requests=args.requests,
                    concurrency=args.concurrency,
                )
            )  # fmt: skip
    print_figures(f"web pages on {args.database}, {args.people:,} people", figures)
    print(
        json.dumps(
            {
                "database": args.database,
                "people": args.people,
                "figures": [f.__dict__ for f in figures],
            }
        )
    )


Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


if __name__ == "__main__":
    main()
