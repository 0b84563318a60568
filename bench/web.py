"""Server render time of the web app's people list and person page, through real HTTP against
``rapport serve``, on a database loaded by ``bench.hub`` (run that first, same --people).

    uv run python -m bench.web --database postgresql --people 1000000

Target (1M people): p95 < 100 ms for both pages.
"""

from __future__ import annotations

import argparse
import json
import random

import httpx
from sqlalchemy import select

from bench.common import Figures, database_url, measure, print_figures, served
from rapport.accounts.models import Membership, Workspace
from rapport.core import migrations, security
from rapport.core.db import Database, set_database, transaction
from rapport.hub.models import Person


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--people", type=int, default=100_000, help="the bench.hub load to use")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    url = database_url(args.database, f"rapport_bench_hub_{args.people}", fresh=False)
    db = Database(url)
    set_database(db)
    migrations.upgrade(db.engine)
    with transaction(unscoped=True) as session:
        ws_id = session.scalars(select(Workspace.id).where(Workspace.slug == "bench")).one()
    with transaction(ws_id) as session:
        owner = session.scalars(select(Membership.user_id).where(Membership.role == "owner")).one()
        ids = [str(i) for i in session.scalars(select(Person.id).order_by(Person.id).limit(5000))]
    random.shuffle(ids)
    cookie = security.sign_session({"user": str(owner), "workspace": str(ws_id), "csrf": "bench"})
    cookies = {security.SESSION_COOKIE: cookie}

    async def people_list(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.get("/people", cookies=cookies)

    async def person_page(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.get(f"/people/{ids[i % len(ids)]}", cookies=cookies)

    figures: list[Figures] = []
    with served(url, workers=args.workers) as base:
        for name, call in [("people-list-page", people_list), ("person-page", person_page)]:
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


if __name__ == "__main__":
    main()
