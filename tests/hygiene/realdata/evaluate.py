"""Score the duplicate scan against the truth of a generated extract (``make_people``):
precision, recall and F1 at the review threshold, calibration by probability bucket, and
the look-alikes (family, colleague, namesake pairs) flagged or auto-mergeable."""

from __future__ import annotations

import csv
import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from sqlalchemy import select

from rapport.core.context import Context
from rapport.hub.models import Person
from rapport.hub.schemas import CompanyIn
from rapport.hub.service import bulk, companies
from rapport.hygiene.service import matching

HERE = Path(__file__).parent
BUCKETS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99, 1.0001)


def read(folder: Path = HERE) -> tuple[list[dict[str, str]], dict[str, dict[str, str]]]:
    """The extract's records and, apart, its truth by record id."""
    with (folder / "people.csv").open(newline="") as f:
        records = list(csv.DictReader(f))
    with (folder / "truth.csv").open(newline="") as f:
        truth = {row["record_id"]: row for row in csv.DictReader(f)}
    return records, truth


@dataclass
class Quality:
    """How the scored pairs compare with the truth."""

    true_pairs: int
    flagged: int = 0
    hits: int = 0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    ece: float = 0.0
    buckets: list[tuple[str, int, float, float]] = field(
        default_factory=list
    )  # range, n, mean p, share true
    lookalikes: Counter[str] = field(default_factory=Counter)  # pairs of each kind in truth
    lookalikes_flagged: Counter[str] = field(default_factory=Counter)
    lookalikes_auto: Counter[str] = field(default_factory=Counter)
    false_auto: int = 0  # any false pair at or above the auto-merge threshold

    def lines(self) -> list[str]:
        out = [
            f"true pairs {self.true_pairs}, flagged {self.flagged}, correct {self.hits}",
            f"precision {self.precision:.3f}  recall {self.recall:.3f}  F1 {self.f1:.3f}  "
            f"calibration error (ECE) {self.ece:.3f}",
            "look-alikes flagged: " + ", ".join(
                f"{k} {self.lookalikes_flagged[k]}/{n}" for k, n in sorted(self.lookalikes.items())
            ),
            "look-alikes auto-mergeable: " + ", ".join(
                f"{k} {self.lookalikes_auto[k]}" for k in sorted(self.lookalikes)
            ) + f"; false pairs auto-mergeable {self.false_auto}",
            "bucket          pairs  mean p  duplicates",
        ]  # fmt: skip
        out += [f"{r:<14} {n:>6}  {p:6.3f}  {t:6.3f}" for r, n, p, t in self.buckets]
        return out


def kind(group: str) -> str:
    return group.split(":")[0] if group else ""


def quality(
    scored: Iterable[tuple[str, str, float, bool]],
    truth: dict[str, dict[str, str]],
    *,
    review: float = matching.REVIEW,
    auto_merge: float = matching.AUTO_MERGE,
) -> Quality:
    """``scored``: (record id, record id, probability, may auto-merge) for every compared pair
    (pairs never compared count as missed)."""
    by_person: dict[str, list[str]] = defaultdict(list)
    by_group: dict[str, list[str]] = defaultdict(list)
    for rid, row in truth.items():
        by_person[row["person"]].append(rid)
        if row["group"]:
            by_group[row["group"]].append(rid)
    result = Quality(true_pairs=sum(len(v) * (len(v) - 1) // 2 for v in by_person.values()))
    for group, rids in by_group.items():
        for a, b in itertools.combinations(rids, 2):
            if truth[a]["person"] != truth[b]["person"]:
                result.lookalikes[kind(group)] += 1
    counts = [0] * (len(BUCKETS) - 1)
    sums = [0.0] * (len(BUCKETS) - 1)
    trues = [0] * (len(BUCKETS) - 1)
    for a, b, p, mergeable in scored:
        ta, tb = truth[a], truth[b]
        same = ta["person"] == tb["person"]
        k = next(i for i in range(len(counts)) if p < BUCKETS[i + 1])
        counts[k] += 1
        sums[k] += p
        trues[k] += same
        lookalike = not same and ta["group"] and ta["group"] == tb["group"]
        if p >= review:
            result.flagged += 1
            result.hits += same
            if lookalike:
                result.lookalikes_flagged[kind(ta["group"])] += 1
        if p >= auto_merge and mergeable and not same:
            result.false_auto += 1
            if lookalike:
                result.lookalikes_auto[kind(ta["group"])] += 1
    result.precision = result.hits / result.flagged if result.flagged else 0.0
    result.recall = result.hits / result.true_pairs if result.true_pairs else 0.0
    total = result.precision + result.recall
    result.f1 = 2 * result.precision * result.recall / total if total else 0.0
    scored_pairs = sum(counts)
    for k, n in enumerate(counts):
        if n:
            mean, share = sums[k] / n, trues[k] / n
            result.ece += n / scored_pairs * abs(mean - share)
            result.buckets.append(
                (f"{BUCKETS[k]:.2f}-{min(BUCKETS[k + 1], 1):.2f}", n, mean, share)
            )
    return result


def engine_records(records: list[dict[str, str]]) -> list[matching.Record]:
    """The records as the scan reads them after the write path (phones in E.164), for
    trying the engine alone without a database."""
    out = []
    for r in records:
        phone = ""
        if r["phone"]:
            raw = "+" + r["phone"][2:] if r["phone"].startswith("00") else r["phone"]
            parsed = phonenumbers.parse(raw, None if raw.startswith("+") else "US")
            phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        out.append(matching.normalise({
            "given_name": r["given_name"], "surname": r["family_name"], "email": r["email"],
            "phone": phone, "street": r["street"], "city": r["city"], "postcode": r["postcode"],
            "domain": r["company_domain"],
        }))  # fmt: skip
    return out


def load(ctx: Context, records: list[dict[str, str]]) -> dict[str, str]:
    """The extract into the workspace through the normal write path (companies by the hub's
    service, people by the bulk upsert integrations use: emails and phones validated and
    normalised there); returns record id by person id."""
    company_ids: dict[str, uuid.UUID] = {}
    for r in records:
        if r["company"] and r["company"] not in company_ids:
            data = CompanyIn(name=r["company"], domain=r["company_domain"] or None)
            company_ids[r["company"]] = companies.create(ctx, data).id
    items = [
        {
            "first_name": r["given_name"], "last_name": r["family_name"],
            "email": r["email"] or None, "phone": r["phone"] or None,
            "job_title": r["job_title"] or None, "company_id": company_ids.get(r["company"]),
            "addresses": [{"street": r["street"] or None, "city": r["city"] or None,
                           "postal_code": r["postcode"] or None, "country": r["country"]}],
            "external_id": r["record_id"],
        }
        for r in records
    ]  # fmt: skip
    for start in range(0, len(items), 500):
        outcome = bulk.bulk_upsert(ctx, items[start : start + 500])
        errors = [res.errors for res in outcome.results if res.status == "error"]
        assert not errors, errors[:3]
    rows = ctx.session.execute(select(Person.id, Person.external_id)).all()
    return {str(pid): str(ext) for pid, ext in rows}
