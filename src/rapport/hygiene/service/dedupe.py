"""Duplicate people: scan a workspace with the matching engine, keep a review queue, decide.

A scan never re-proposes a pair someone marked "not a duplicate" (or one already merged): the
``duplicate_candidates`` row of that pair keeps its status and the scan leaves it alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import Conflict, NotFound
from rapport.core.events import record
from rapport.core.pagination import Page, SortKey, keyset_page
from rapport.hub.models import Company, Person
from rapport.hygiene.models import DuplicateCandidate
from rapport.hygiene.service import matching, merge

Decision = Literal["merge", "not_duplicate", "skip"]
FINAL = ("merged", "not_duplicate")  # a scan never touches these again
LEVEL_NAMES = {0: "missing", 1: "different"}
Progress = Callable[[str, int], None]


@dataclass
class ScanResult:
    """What a scan saw and stored."""

    people: int = 0
    compared: int = 0
    found: int = 0
    new: int = 0
    updated: int = 0
    remembered: int = 0
    auto_merge: int = 0
    top: list[DuplicateCandidate] = field(default_factory=list)


def _people(ctx: Context, chunk: int) -> Iterator[tuple[uuid.UUID, matching.Record]]:
    """Every live person of the workspace as a normalised record, read ``chunk`` rows at a time."""
    stmt = (
        select(Person.id, Person.first_name, Person.last_name, Person.email, Person.phone,
               Person.addresses, Company.domain)
        .outerjoin(Company, Company.id == Person.company_id)
        .order_by(Person.id)
        .execution_options(yield_per=chunk)
    )  # fmt: skip
    for pid, first, last, email, phone, addresses, domain in ctx.session.execute(stmt):
        yield pid, _record(first, last, email, phone, addresses, domain)


def _record(
    first: str | None, last: str | None, email: str | None, phone: str | None,
    addresses: list[Any] | None, domain: str | None,
) -> matching.Record:  # fmt: skip
    address: dict[str, Any] = addresses[0] if addresses else {}
    raw = {
        "given_name": first, "surname": last, "email": email, "phone": phone,
        "street": address.get("street"), "city": address.get("city"),
        "postcode": address.get("postal_code"), "state": address.get("region"),
        "domain": domain,
    }  # fmt: skip
    return matching.normalise(raw)


def possible_duplicates(
    ctx: Context, person: Mapping[str, Any], *, threshold: float = matching.REVIEW, limit: int = 5
) -> list[tuple[uuid.UUID, float]]:
    """People who may already be the person about to be created (``first_name``, ``last_name``,
    ``email``, ``phone``, ``addresses``), most probable first, to warn before a create. Scored
    with the engine's prior model: one new record gives EM nothing to fit."""
    ctx.require("hygiene:read")
    new = _record(person.get("first_name"), person.get("last_name"), person.get("email"),
                  person.get("phone"), person.get("addresses"), None)  # fmt: skip
    same = []
    if person.get("email"):
        same.append(func.lower(Person.email) == str(person["email"]).strip().lower())
    if person.get("phone"):
        same.append(Person.phone == person["phone"])
    if person.get("last_name"):
        same.append(func.lower(Person.last_name) == str(person["last_name"]).strip().lower())
    if not same:
        return []
    stmt = (
        select(Person.id, Person.first_name, Person.last_name, Person.email, Person.phone,
               Person.addresses, Company.domain)
        .outerjoin(Company, Company.id == Person.company_id)
        .where(or_(*same))
        .limit(200)  # a common surname must not turn a create into a table scan
    )  # fmt: skip
    rows = ctx.session.execute(stmt).all()
    if not rows:
        return []
    records = [new] + [_record(*row[1:]) for row in rows]
    pairs = np.array([(0, i) for i in range(1, len(records))], dtype=np.int64)
    probability = matching.score(matching.prior_model(), matching.compare(records, pairs))
    found = [(rows[i].id, float(p)) for i, p in enumerate(probability) if p >= threshold]
    return sorted(found, key=lambda item: -item[1])[:limit]


def _reasons(vector: list[int], fields: tuple[matching.Field, ...]) -> dict[str, str]:
    """Per field, how the two people compare: missing, different, similar, close or exact."""
    out = {}
    for level, spec in zip(vector, fields, strict=True):
        if level == spec.levels:
            out[spec.name] = "exact"
        elif level >= 2:
            out[spec.name] = "close" if level == spec.levels - 1 else "similar"
        else:
            out[spec.name] = LEVEL_NAMES[level]
    return out


def find_duplicates(
    ctx: Context,
    *,
    threshold: float = matching.REVIEW,
    auto_merge: float = matching.AUTO_MERGE,
    chunk: int = 5000,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan the workspace's people and store every pair at or above ``threshold`` as a candidate
    for review (new pairs added, pending or skipped ones rescored, decided ones left alone)."""
    ctx.require("hygiene:merge")
    ids: list[uuid.UUID] = []
    records: list[matching.Record] = []
    for pid, rec in _people(ctx, chunk):
        ids.append(pid)
        records.append(rec)
        if progress and len(ids) % chunk == 0:
            progress("read", len(ids))
    result = ScanResult(people=len(ids))
    if progress:
        progress("read", len(ids))
    linked = matching.link(records)
    result.compared = len(linked.pairs)
    if progress:
        progress("scored", result.compared)
    chosen = linked.above(threshold)
    existing = {
        (row.person_a, row.person_b): row for row in ctx.session.scalars(select(DuplicateCandidate))
    }
    fields = matching.PEOPLE_FIELDS
    for (i, j), vector, p in zip(
        linked.pairs[chosen].tolist(), linked.vectors[chosen].tolist(),
        linked.probability[chosen].tolist(), strict=True,
    ):  # fmt: skip
        a, b = sorted((ids[i], ids[j]), key=str)
        result.found += 1
        result.auto_merge += p >= auto_merge
        row = existing.get((a, b))
        if row is None:
            row = DuplicateCandidate(
                workspace_id=ctx.workspace_id, person_a=a, person_b=b,
                probability=p, reasons=_reasons(vector, fields),
            )  # fmt: skip
            ctx.session.add(row)
            existing[(a, b)] = row
            result.new += 1
        elif row.status in FINAL:
            result.remembered += 1
        else:
            row.probability, row.reasons, row.status = p, _reasons(vector, fields), "pending"
            result.updated += 1
    ctx.session.flush()
    counts = {k: getattr(result, k) for k in ("people", "compared", "found", "new", "remembered")}
    record(ctx, "duplicates.scanned", None, payload={**counts, "threshold": threshold})
    result.top = list_candidates(ctx, limit=10).items
    return result


def list_candidates(
    ctx: Context, *, limit: int = 50, cursor: str | None = None, status: str = "pending"
) -> Page[DuplicateCandidate]:
    """The review queue: pairs with this status, most probable first; pairs where either
    person has since been deleted or merged away are left out."""
    ctx.require("hygiene:read")
    pa, pb = aliased(Person), aliased(Person)
    stmt = (
        select(DuplicateCandidate)
        .join(pa, pa.id == DuplicateCandidate.person_a)
        .join(pb, pb.id == DuplicateCandidate.person_b)
        .where(DuplicateCandidate.status == status)
    )
    sort = [SortKey("probability", DuplicateCandidate.probability, descending=True)]
    return keyset_page(
        ctx.session, stmt, sort=sort, id_column=DuplicateCandidate.id, limit=limit, cursor=cursor
    )


def decide(ctx: Context, candidate_id: uuid.UUID, decision: Decision) -> DuplicateCandidate:
    """Merge the pair (undoable; the older person survives), dismiss it for good, or skip it
    until the next scan."""
    ctx.require("hygiene:merge")
    row = get_scoped(ctx.session, DuplicateCandidate, candidate_id)
    if row is None:
        raise NotFound("No duplicate candidate with this id")
    if row.status in FINAL:
        raise Conflict(f"This pair was already decided ({row.status})")
    old = row.status
    if decision == "merge":
        done = merge.merge(ctx, row.person_a, row.person_b)
        ctx.session.refresh(row)  # the merge service marked the pair merged
        row.reasons = {**row.reasons, "merge_id": str(done.id)}
    else:
        row.status = "not_duplicate" if decision == "not_duplicate" else "skipped"
        row.decided_by = ctx.user_id
    ctx.session.flush()
    record(
        ctx, "duplicate.decided", row.id, {"status": (old, row.status)},
        payload={"person_a": row.person_a, "person_b": row.person_b, "decision": decision},
    )  # fmt: skip
    return row


def apply_auto_merges(
    ctx: Context, *, threshold: float = matching.AUTO_MERGE, progress: Progress | None = None
) -> list[DuplicateCandidate]:
    """Merge every pending pair at or above ``threshold``, most probable first; each merge is
    a normal, undoable one. A person already merged away in this run is not merged again."""
    ctx.require("hygiene:merge")
    gone: set[uuid.UUID] = set()
    merges: list[DuplicateCandidate] = []
    cursor: str | None = None
    while True:
        page = list_candidates(ctx, limit=500, cursor=cursor)
        for row in page.items:
            if row.probability < threshold:
                return merges
            if row.person_a in gone or row.person_b in gone:
                continue
            merges.append(decide(ctx, row.id, "merge"))
            gone.add(row.person_b)
            if progress:
                progress("merged", len(merges))
        if not page.has_more:
            return merges
        cursor = page.next_cursor
