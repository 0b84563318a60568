"""Benchmark of imports: generate an N-row people CSV, import it with validation on through
the same path as ``rapport import --apply`` (batches committed one by one), report rows/s;
then import it again (nothing must change) and report that rate too. The load (reading,
validating, writing every batch) is timed apart from the dedupe scan that follows it; wall-clock
rows/s and CPU µs per row of the writer and of its validating worker are both printed (the
writer's CPU includes SQLite's work; PostgreSQL's is its own), and the peak RSS of each.

    uv run python -m bench.hygiene --database sqlite --rows 1000000
    uv run python -m bench.hygiene --database postgresql --rows 1000000

Target: ≥ 20,000 rows/s for 1M rows on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import time
from pathlib import Path

from faker import Faker
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bench.common import BENCH_DIR, analyze, database_url
from rapport.accounts import service as accounts
from rapport.core import migrations
from rapport.core.db import Database, set_database, transaction
from rapport.hub.models import Person
from rapport.hygiene.service import import_people, runner

STAGES = ["lead", "customer", "subscriber", "Churned"]


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A realistic export from another CRM: mixed case, phones as typed, a few bad rows."""
    fake = Faker()
    Faker.seed(seed)
    random.seed(seed)
    first = [fake.first_name() for _ in range(3000)]
    last = [fake.last_name() for _ in range(5000)]
    jobs = [fake.job()[:200] for _ in range(500)]
    cities = [fake.city() for _ in range(500)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(
            ["First Name", "Last Name", "E-mail", "Phone", "Job Title", "City", "Country", "Stage"]
        )
        for i in range(rows):
            f, la = random.choice(first), random.choice(last)
            email = f"{f}.{la}.{i}@example.com".lower()
            if i % 1000 == 999:
                email = "not-an-email"
            phone = f"(415) {200 + i % 800:03d}-{i % 10000:04d}" if i % 3 == 0 else ""
            writer.writerow(
                [f, la, email, phone, random.choice(jobs), random.choice(cities), "USA",
                 random.choice(STAGES)]
            )  # fmt: skip


def _cpu() -> tuple[float, float]:
    """CPU seconds used so far by this process (the writer) and its validating workers: the
    machine is shared, so wall-clock rates say as much about the neighbours as about us."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


class _Loaded:
    """The progress callback: when the last batch was committed, and the writer's CPU then."""

    wall = writer_cpu = 0.0

    def __call__(self, _line: int) -> None:
        self.wall, self.writer_cpu = time.perf_counter(), _cpu()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=import_people.BATCH)
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"import-{args.rows}.csv"
    if not path.exists():
        write_csv(path, args.rows)
    url = database_url(args.database, "rapport_bench_import", fresh=True)
    database = Database(url)
    set_database(database)
    migrations.upgrade(database.engine)
    with transaction(unscoped=True) as session:
        ws = accounts.create_workspace(session, "Bench import").id
    results = []
    for label in ("first import", "rerun (no change)"):
        started, cpu = time.perf_counter(), _cpu()
        loaded = _Loaded()
        job_id = runner.start_file(ws, path, "csv", {})
        job = runner.run_file(ws, job_id, batch_size=args.batch, progress=loaded)
        elapsed = time.perf_counter() - started
        writer, worker = (now - then for now, then in zip(_cpu(), cpu, strict=True))
        load_wall, load_cpu = loaded.wall - started, loaded.writer_cpu - cpu[0]
        results.append((label, job, elapsed, load_wall, load_cpu, writer, worker))
    analyze(url)
    with transaction(ws) as session:
        people = session.scalar(select(func.count()).select_from(Person))
    table = Table(title=f"import of {args.rows:,} rows into {args.database}")
    columns = ("run", "created", "updated", "unchanged", "rejected", "load s", "rows/s")
    more = ("writer CPU µs/row", "worker CPU µs/row", "then dedupe scan s", "total s")
    for col in (*columns, *more):
        table.add_column(col, justify="right")
    for label, job, elapsed, load_wall, load_cpu, _writer, worker in results:
        table.add_row(
            label, str(job.created), str(job.updated), str(job.unchanged), str(job.rejected),
            f"{load_wall:.1f}", f"{args.rows / load_wall:,.0f}",
            f"{load_cpu / args.rows * 1e6:.0f}", f"{worker / args.rows * 1e6:.0f}",
            f"{elapsed - load_wall:.1f}", f"{elapsed:.1f}",
        )  # fmt: skip
    Console(width=200).print(table)
    print(f"people in workspace: {people:,}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(f"peak RSS: writer {own} MB, validating worker {worker} MB")


if __name__ == "__main__":
    main()
