"""Benchmark of the data hub: bulk-load N people with their activities, then measure
get-person, list-first-page (sorted by name), searches of every shape (a whole surname, three
letters from inside one, an email fragment, a phone fragment, a typo, a full name, a full name
with a typo in each word, letters that match nothing) and create-person through
real HTTP against ``rapport serve``, at one client and at ``--concurrency`` clients.

Beside it runs a bare FastAPI app (``bench/bare.py``: one JSON endpoint, same uvicorn settings
and worker count): its figures for one GET, and the ratio of Rapport's get-person to it, say
what the request path costs on top of the framework. CPU ms/req is the servers' CPU time (all
worker processes) per request: less disturbed than latency by other work on the machine.

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from faker import Faker
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy import func, select

from bench.common import (
    Figures,
    analyze,
    database_url,
    measure,
    print_figures,
    served_bare,
    served_process,
)
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
                "phone": f"+44 20 7{random.randrange(1000):03d} {random.randrange(10000):04d}",
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


@dataclass(frozen=True)
class Target:
    """A person to ask for, and what a search for them may type."""

    id: str
    first_name: str
    last_name: str
    email: str
    phone: str


def sample(db: Database, ws_id: uuid.UUID, n: int) -> list[Target]:
    """Random people to ask for."""
    with db.session(ws_id) as session:
        total = session.scalar(select(func.count()).select_from(Person)) or 0
        rows = session.execute(
            select(Person.id, Person.first_name, Person.last_name, Person.email, Person.phone)
            .order_by(Person.id)
            .limit(n * 20)
        ).all()
    random.shuffle(rows)
    print(f"{total} people in the workspace")
    return [Target(str(r[0]), *(v or "" for v in r[1:])) for r in rows[:n]]


def infix(word: str, i: int) -> str:
    """Three letters from inside ``word`` (``mit`` of Smith), never its start."""
    if len(word) < 5:
        return word
    start = 1 + i % (len(word) - 3)
    return word[start : start + 3].lower()


def email_fragment(email: str, i: int) -> str:
    """A piece of the address as someone half remembers it: the start of its local part."""
    local = email.split("@")[0]
    return local[: 6 + i % 4]


def nonsense(i: int) -> str:
    """Letters no name holds: a search that finds nothing must be as quick as one that does."""
    return "".join(random.Random(i).choice("qxzjvkw") for _ in range(5 + i % 4))


def phone_fragment(phone: str, i: int) -> str:
    """The last six or seven digits of the number."""
    digits = "".join(c for c in phone if c.isdigit())
    return digits[-(6 + i % 2) :]


def typo(word: str) -> str:
    """``word`` with two neighbouring letters swapped."""
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
    parser.add_argument("--requests", type=int, default=2000, help="per measurement")
    parser.add_argument(
        "--solo-requests", type=int, default=500, help="per measurement at one client"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="rapport serve --workers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database")
    parser.add_argument(
        "--db-name", help="database (file) name; default rapport_bench_hub_<people>"
    )
    parser.add_argument("--load-only", action="store_true", help="load, then stop")
    parser.add_argument(
        "--only",
        help="comma-separated operations to measure (e.g. get-person,bare-get); default all",
    )
    args = parser.parse_args()

    name = args.db_name or f"rapport_bench_hub_{args.people}"
    url = database_url(args.database, name, fresh=not args.reuse)
    db = Database(url)
    set_database(db)
    ws_id, token = reuse(db) if args.reuse else load(db, args.people, args.seed, args.activities)
    if args.load_only:
        return
    targets = sample(db, ws_id, 500)
    headers = {"Authorization": f"Bearer {token}"}

    def pick(i: int) -> Target:
        return targets[i % len(targets)]

    async def get_person(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.get(f"/api/v1/people/{pick(i).id}")

    async def list_page(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.get("/api/v1/people", params={"sort": "full_name", "limit": 50})

    def searching(shape: Callable[[int], str]) -> Call:
        async def call(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.get("/api/v1/people", params={"q": shape(i), "limit": 20})

        return call

    async def create_person(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.post(
            "/api/v1/people",
            json={
                "first_name": "Bench",
                "last_name": f"Person{i}",
                "email": f"b{i}.{uuid.uuid4().hex[:8]}@bench.example.com",
            },
        )

    operations: list[tuple[str, Call]] = [
        ("get-person", get_person),
        ("list-first-page", list_page),
        ("search-surname", searching(lambda i: pick(i).last_name)),
        ("search-infix", searching(lambda i: infix(pick(i).last_name, i))),
        ("search-email", searching(lambda i: email_fragment(pick(i).email, i))),
        ("search-phone", searching(lambda i: phone_fragment(pick(i).phone, i))),
        ("search-typo", searching(lambda i: typo(pick(i).last_name))),
        ("search-full-name", searching(lambda i: f"{pick(i).first_name} {pick(i).last_name}")),
        (
            "search-two-typos",
            searching(lambda i: f"{typo(pick(i).first_name)} {typo(pick(i).last_name)}"),
        ),
        ("search-nothing", searching(lambda i: nonsense(i))),
        ("create-person", create_person),
    ]
    chosen = set(args.only.split(",")) if args.only else None
    if chosen is not None:
        operations = [(name, call) for name, call in operations if name in chosen]
    clients = sorted({1, args.concurrency})
    figures: list[Figures] = []
    if chosen is None or "bare-get" in chosen:
        figures += _measure_bare(args, get_person, headers, clients)
    with served_process(url, workers=args.workers) as server:
        for name, call in operations:
            for n in clients:
                figures.append(
                    measure(
                        name,
                        call,
                        base=server.base,
                        headers=headers,
                        requests=_count(args, n),
                        concurrency=n,
                        cpu=server.cpu_seconds,
                    )
                )
    title = f"hub on {args.database}, {args.people:,} people, {args.workers} workers"
    print_figures(title, figures)
    ratios = _ratios(figures)
    for line in ratios:
        print(line)
    print(
        json.dumps(
            {
                "database": args.database,
                "people": args.people,
                "workers": args.workers,
                "figures": [f.__dict__ for f in figures],
            }
        )
    )


Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def _measure_bare(
    args: argparse.Namespace, call: Call, headers: dict[str, str], clients: list[int]
) -> list[Figures]:
    """The bare app's figures for the same GET, at each client count."""
    with served_bare(workers=args.workers) as bare:
        return [
            measure(
                "bare-get",
                call,
                base=bare.base,
                headers=headers,
                requests=_count(args, n),
                concurrency=n,
                cpu=bare.cpu_seconds,
            )
            for n in clients
        ]


def _count(args: argparse.Namespace, clients: int) -> int:
    """Requests per measurement: fewer at one client, where each waits for the last."""
    return args.requests if clients > 1 else args.solo_requests


def _ratios(figures: list[Figures]) -> list[str]:
    """get-person against the bare endpoint, in latency and in CPU, at each client count."""
    lines = []
    for bare in (f for f in figures if f.name == "bare-get"):
        get = next(
            (f for f in figures if f.name == "get-person" and f.clients == bare.clients), None
        )
        if get is None:
            continue
        line = (
            f"get-person / bare-get at {bare.clients} client(s): "
            f"p50 {get.p50_ms / bare.p50_ms:.1f}x ({get.p50_ms:.2f} / {bare.p50_ms:.2f} ms)"
        )
        if get.cpu_ms and bare.cpu_ms:
            line += (
                f", CPU {get.cpu_ms / bare.cpu_ms:.1f}x"
                f" ({get.cpu_ms:.2f} / {bare.cpu_ms:.2f} ms/req)"
            )
        lines.append(line)
    return lines


if __name__ == "__main__":
    main()
