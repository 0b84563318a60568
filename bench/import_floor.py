"""What the database alone costs per imported person: the tables an import writes (people,
emails, phones, search documents, word postings, and SQLite's FTS5 index) are copied from the
database that ``bench.hygiene`` filled into empty twins with the same indexes, by plain
``INSERT … SELECT`` in one transaction per table: no Python, no validation, no network, the
least any import into this schema can cost. Run ``bench.hygiene`` first (same --database).

    uv run python -m bench.import_floor --database sqlite
    uv run python -m bench.import_floor --database postgresql
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import time

from sqlalchemy import create_engine, text

from bench.common import BENCH_DIR, database_url
from rapport.core.search import FTS_BUCKET

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
            conn.execute(text(f"DROP TABLE IF EXISTS {twin}"))
            conn.execute(text(f"CREATE TABLE {twin} (LIKE {table} INCLUDING ALL)"))
            cpu = _postgres_backend_cpu(conn)
            conn.execute(text(f"INSERT INTO {twin} SELECT * FROM {table}"))
            costs[table] = _postgres_backend_cpu(conn) - cpu
            conn.execute(text(f"DROP TABLE {twin}"))
    engine.dispose()
    return people, costs


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
    db.execute("PRAGMA cache_size=-1048576")  # as the import's writer has
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args()
    url = database_url(args.database, "rapport_bench_import", fresh=False)
    if args.database == "sqlite":
        people, costs = sqlite(url.removeprefix("sqlite:///"))
    else:
        people, costs = postgres(url)
    print(f"{args.database}: database CPU per imported person ({people:,} people), no Python")
    for name, seconds in costs.items():
        print(f"  {name:32s} {seconds / people * 1e6:7.1f} µs")
    total = sum(costs.values()) / people * 1e6
    print(f"  {'total':32s} {total:7.1f} µs  → at most {1e6 / total:,.0f} rows/s on one core")


if __name__ == "__main__":
    main()
