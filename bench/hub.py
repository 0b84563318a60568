"""Benchmark of the data hub: bulk-load N people with their activities, then measure
get-person, list-first-page (sorted by name), search-with-a-typo and create-person through
real HTTP against ``rapport serve``.

    uv run python bench/hub.py --database sqlite --people 100000
    uv run python bench/hub.py --database postgresql --people 1000000
    uv run python bench/hub.py --database postgresql --people 1000000 --reuse   # skip the load

Targets (1M people, PostgreSQL): get p95 < 20 ms; list and search p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
from faker import Faker
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy import func, select

from bench.common import Figures, analyze, database_url, measure, print_figures, served
from rapport.accounts import service as accounts
from rapport.accounts.models import Membership, Workspace
from rapport.core import migrations
from rapport.core.clock import utcnow
from rapport.core.context import Context, system_context
from rapport.core.db import Database, set_database, transaction
from rapport.core.permissions import Role
from rapport.hub.models import Person
from rapport.hub.service import bulk, timeline

BATCH = 1000
OWNER = "bench@rapport.test"


class Pools:
    """Faker is slow per call; draw names from pools it filled once (same seed, same data)."""

    def __init__(self, fake: Faker) -> None:
        self.first = [fake.first_name() for _ in range(3000)]
        self.last = [fake.last_name() for _ in range(5000)]
        self.jobs = [fake.job()[:200] for _ in range(600)]
        self.domains = [fake.free_email_domain() for _ in range(50)]


def person_rows(pools: Pools, start: int, count: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(start, start + count):
        first, last = random.choice(pools.first), random.choice(pools.last)
        rows.append(
            {
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}.{i}@{random.choice(pools.domains)}".lower(),
                "job_title": random.choice(pools.jobs),
                "lifecycle_stage": random.choice(["lead", "customer", "subscriber", "churned"]),
                "source": random.choice(["web", "import", "referral", "event"]),
            }
        )
    return rows


KINDS = ["email", "call", "meeting", "chat", "visit", "note", "purchase"]


def activity_rows(person_ids: list[uuid.UUID], per_person: int) -> list[dict[str, Any]]:
    """``per_person`` interactions for each person over the last two years."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for person_id in person_ids:
        for _ in range(per_person):
            kind = random.choice(KINDS)
            row: dict[str, Any] = {
                "kind": kind,
                "direction": "inbound"
                if kind == "purchase"
                else random.choice(["inbound", "outbound"]),
                "occurred_at": now - timedelta(days=random.uniform(0, 730)),
                "subject": f"{kind} with a customer",
                "person_id": person_id,
            }
            if kind == "purchase":
                row.update(amount=f"{random.uniform(5, 500):.2f}", currency="EUR")
            rows.append(row)
    return rows


def load(db: Database, people: int, seed: int, args_activities: int) -> tuple[uuid.UUID, str]:
    """Create the workspace, owner and token, then bulk-load ``people`` people."""
    migrations.upgrade(db.engine)
    with transaction(unscoped=True) as session:
        ws = accounts.create_workspace(session, "Bench")
        user = accounts.create_user(session, ws, email=OWNER, password=None, role=Role.OWNER)
        ws_id, user_id = ws.id, user.id
    Faker.seed(seed)
    random.seed(seed)
    pools = Pools(Faker())
    started = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    ) as progress:
        task = progress.add_task("people", total=people)
        for start in range(0, people, BATCH):
            count = min(BATCH, people - start)
            rows = person_rows(pools, start, count)
            with transaction(ws_id) as session:
                ctx = system_context(session, ws_id)
                outcome = bulk.bulk_upsert(ctx, rows)  # type: ignore[arg-type]
                ids = [r.id for r in outcome.results if r.id is not None]
                timeline.ingest_many(ctx, activity_rows(ids, args_activities))
            progress.advance(task, count)
    elapsed = time.perf_counter() - started
    print(
        f"loaded {people} people and {people * args_activities} activities in {elapsed:.1f}s "
        f"({people / elapsed:.0f} people/s)"
    )
    analyze(str(db.engine.url.render_as_string(hide_password=False)))
    with transaction(ws_id) as session:
        ctx = Context(session=session, workspace_id=ws_id, user_id=user_id, role=Role.OWNER)
        _token, secret = accounts.create_token(ctx, name="bench", scopes=["*"])
    return ws_id, secret


def reuse(db: Database) -> tuple[uuid.UUID, str]:
    """The workspace of an earlier load (migrated to this release), and a new token for it."""
    migrations.upgrade(db.engine)
    with transaction(unscoped=True) as session:
        ws_id = session.scalars(select(Workspace.id).where(Workspace.slug == "bench")).one()
    with transaction(ws_id) as session:
        owner = session.scalars(select(Membership).where(Membership.role == "owner")).one()
        ctx = Context(session=session, workspace_id=ws_id, user_id=owner.user_id, role=Role.OWNER)
        _token, secret = accounts.create_token(ctx, name="bench", scopes=["*"])
    return ws_id, secret


def sample(db: Database, ws_id: uuid.UUID, n: int) -> list[tuple[str, str]]:
    """Random (id, last name) pairs to ask for."""
    with db.session(ws_id) as session:
        total = session.scalar(select(func.count()).select_from(Person)) or 0
        rows = session.execute(
            select(Person.id, Person.last_name).order_by(Person.id).limit(n * 20)
        ).all()
    random.shuffle(rows)
    print(f"{total} people in the workspace")
    return [(str(r[0]), r[1]) for r in rows[:n]]


def typo(word: str) -> str:
    if len(word) < 4:
        return word
    i = random.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap two letters


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="sqlite", help="sqlite, postgresql, or a URL")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=3, help="activities per person")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="rapport serve --workers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database")
    args = parser.parse_args()

    url = database_url(args.database, f"rapport_bench_hub_{args.people}", fresh=not args.reuse)
    db = Database(url)
    set_database(db)
    ws_id, token = reuse(db) if args.reuse else load(db, args.people, args.seed, args.activities)
    targets = sample(db, ws_id, 500)
    headers = {"Authorization": f"Bearer {token}"}

    async def get_person(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.get(f"/api/v1/people/{targets[i % len(targets)][0]}")

    async def list_page(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.get("/api/v1/people", params={"sort": "full_name", "limit": 50})

    async def search_typo(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.get(
            "/api/v1/people", params={"q": typo(targets[i % len(targets)][1]), "limit": 20}
        )

    async def create_person(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.post(
            "/api/v1/people",
            json={
                "first_name": "Bench",
                "last_name": f"Person{i}",
                "email": f"b{i}.{uuid.uuid4().hex[:8]}@bench.example.com",
            },
        )

    figures: list[Figures] = []
    with served(url, workers=args.workers) as base:
        for name, call in [
            ("get-person", get_person),
            ("list-first-page", list_page),
            ("search-typo", search_typo),
            ("create-person", create_person),
        ]:
            figures.append(
                measure(
                    name,
                    call,
                    base=base,
                    headers=headers,
                    requests=args.requests,
                    concurrency=args.concurrency,
                )
            )
    print_figures(f"hub on {args.database}, {args.people:,} people", figures)
    print(
        json.dumps(
            {
                "database": args.database,
                "people": args.people,
                "figures": [f.__dict__ for f in figures],
            }
        )
    )


if __name__ == "__main__":
    main()
