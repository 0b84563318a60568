"""The least an import into this schema can cost, and the fastest it could then run here.

Database: the tables an import writes (people, emails, phones, search documents, word
postings, and SQLite's FTS5 index) are copied from the database that ``bench.hygiene`` filled
into empty twins with the same indexes and foreign keys, by plain ``INSERT … SELECT`` in one
transaction per table: no Python, no network, no batches. Validation: the import's own
``clean_batch`` (the validating worker's work) over the first rows of the same CSV file.

One connection writes (SQLite has one writer; a PostgreSQL transaction is one backend), and the
validation runs beside it, so with two cores an import can go no faster than
``min(1/db, 1/validation, 2/(db + validation))`` rows per second. Run ``bench.hygiene`` first
(same --database and --rows).

    uv run python -m bench.import_floor --database sqlite --rows 1000000
    uv run python -m bench.import_floor --database postgresql --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import time
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import BENCH_DIR, database_url
from rapport.core.search import FTS_BUCKET
from rapport.hygiene.service import import_people
from rapport.hygiene.service.sources import auto_mapping, open_source

TABLES = ("people", "person_emails", "person_phones", "search_documents", "search_postings")


def _postgres_backend_cpu(conn: object) -> float:
    """CPU seconds used so far by this connection's server process (read from /proc)."""
    pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()  # type: ignore[attr-defined]
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres(url: str) -> tuple[int, dict[str, float]]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    costs: dict[str, float] = {}
    with engine.connect() as conn:
        people = int(conn.execute(text("SELECT count(*) FROM people")).scalar() or 0)
        for table in TABLES:
            twin = f"floor_{table}"
            conn.execute(text(f"DROP TABLE IF EXISTS {twin} CASCADE"))
            conn.execute(text(f"CREATE TABLE {twin} (LIKE {table} INCLUDING ALL)"))
            for number, definition in enumerate(_foreign_keys(conn, table)):
                conn.execute(
                    text(f"ALTER TABLE {twin} ADD CONSTRAINT {twin}_fk{number} {definition}")
                )
            cpu = _postgres_backend_cpu(conn)
            conn.execute(text(f"INSERT INTO {twin} SELECT * FROM {table}"))
            costs[table] = _postgres_backend_cpu(conn) - cpu
        for table in reversed(TABLES):
            conn.execute(text(f"DROP TABLE floor_{table}"))
    engine.dispose()
    return people, costs


def _foreign_keys(conn: Any, table: str) -> list[str]:
    """The table's foreign keys, those between the copied tables pointing at the twins."""
    definitions = conn.execute(
        text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = CAST(:t AS regclass) ORDER BY conname"
        ),
        {"t": table},
    ).scalars()
    out = []
    for definition in definitions:
        for parent in TABLES:
            definition = definition.replace(f"REFERENCES {parent}(", f"REFERENCES floor_{parent}(")
        out.append(definition)
    return out


def sqlite(path: str) -> tuple[int, dict[str, float]]:
    source = sqlite3.connect(path)
    source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    source.close()
    twin = str(BENCH_DIR / "import-floor.db")
    shutil.copy(path, twin)
    db = sqlite3.connect(twin, isolation_level=None)
    db.execute("PRAGMA foreign_keys=OFF")
    for table in TABLES:
        db.execute(f"DELETE FROM {table}")
    db.execute("INSERT INTO search_fts(search_fts) VALUES ('delete-all')")
    db.execute("VACUUM")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-262144")  # as the import's writer has
    db.execute("PRAGMA foreign_keys=ON")  # as every connection of the product has
    db.execute("ATTACH ? AS source", (path,))
    people = int(db.execute("SELECT count(*) FROM source.people").fetchone()[0])
    costs: dict[str, float] = {}
    steps = [(t, f"INSERT INTO main.{t} SELECT * FROM source.{t}") for t in TABLES]
    steps.append(("search_fts (FTS5 trigram index)",
                  "INSERT INTO search_fts(rowid, ws, content) SELECT doc_id, "
                  f"{FTS_BUCKET}, content FROM search_documents"))  # fmt: skip
    for name, sql in steps:
        cpu = time.process_time()
        db.execute("BEGIN")
        db.execute(sql)
        db.execute("COMMIT")
        costs[name] = time.process_time() - cpu
    db.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(twin + suffix):
            os.unlink(twin + suffix)
    return people, costs


def validation(path: Path, rows: int) -> float:
    """CPU µs per record of the validating worker's work (reading, validating, normalising,
    preparing the rows to insert) over the file's first ``rows`` records."""
    with path.open("rb") as handle:
        source = open_source(handle, "csv")
        mapping = auto_mapping(source.columns, {}, None)
        records = list(islice(source.records, rows))
    started = time.process_time()
    for start in range(0, len(records), import_people.BATCH):
        import_people.clean_batch(records[start : start + import_people.BATCH], mapping, "US")
    return (time.process_time() - started) / len(records) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="the bench.hygiene file")
    args = parser.parse_args()
    url = database_url(args.database, "rapport_bench_import", fresh=False)
    if args.database == "sqlite":
        people, costs = sqlite(url.removeprefix("sqlite:///"))
    else:
        people, costs = postgres(url)
    print(f"{args.database}: database CPU per imported person ({people:,} people), no Python")
    for name, seconds in costs.items():
        print(f"  {name:32s} {seconds / people * 1e6:7.1f} µs")
    db = sum(costs.values()) / people * 1e6
    print(f"  {'total':32s} {db:7.1f} µs  → at most {1e6 / db:,.0f} rows/s on one core")
    check = validation(BENCH_DIR / f"import-{args.rows}.csv", min(args.rows, 200_000))
    print(f"validation (the worker's clean_batch): {check:.1f} µs per row")
    ceiling = min(1e6 / db, 1e6 / check, 2e6 / (db + check))
    print(f"ceiling on this machine's 2 cores: {ceiling:,.0f} rows/s (target 20,000)")


if __name__ == "__main__":
    main()
