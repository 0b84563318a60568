"""Duplicate people: scan a workspace with the matching engine, keep a review queue, decide.

A scan never re-proposes a pair someone marked "not a duplicate" (or one already merged): the
``duplicate_candidates`` row of that pair keeps its status and the scan leaves it alone.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import String, bindparam, func, insert, or_, select, type_coerce, update
from sqlalchemy.orm import aliased

from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.context import Context
from rapport.core.db import get_scoped, table_of
from rapport.core.errors import Conflict, NotFound
from rapport.core.events import record
from rapport.core.ids import new_id
from rapport.core.pagination import Page, SortKey, keyset_page
from rapport.hub.models import Company, Person
from rapport.hub.public import normalise_phone
from rapport.hygiene.events import (
    COMPANY_DUPLICATE_DECIDED,
    COMPANY_DUPLICATES_SCANNED,
    DUPLICATE_DECIDED,
    DUPLICATES_SCANNED,
)
from rapport.hygiene.labels import LABELS
from rapport.hygiene.models import CompanyDuplicate, DuplicateCandidate
from rapport.hygiene.service import matching, merge

Decision = Literal["merge", "not_duplicate", "skip"]
FINAL = ("merged", "not_duplicate")  # a scan never touches these again
Progress = Callable[[str, int], None]
# A block of people sharing a key is paired all-to-all up to SCAN_BLOCK, by a sliding window of
# SCAN_WINDOW neighbours (by name) beyond: on a million people this halves the pairs compared
# against 100/10 and finds the same planted duplicates (bench/dedupe.py --scale).
SCAN_BLOCK, SCAN_WINDOW = 30, 6
log = logging.getLogger(__name__)


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
    seconds: dict[str, float] = field(default_factory=dict)  # CPU seconds of each stage


# The raw value of each engine field, read by the database itself (the first address's parts
# are pulled out of the JSON in SQL, so no row's JSON is parsed in Python).
_ADDRESS_PARTS = {"street": "street", "city": "city", "postcode": "postal_code",
                  "state": "region"}  # fmt: skip


def _read_columns(ctx: Context, chunk: int = 20_000) -> tuple[list[Any], matching.Columns]:
    """Every live person of the workspace as one column per engine field: the ids (as the
    driver returns them: see :func:`_uuid`) and the normalised strings. One plain query, read
    ``chunk`` rows at a time straight into columns, without building an object per row."""
    raw_id = type_coerce(Person.id, String)  # no UUID object per row: converted when stored
    parts = [Person.addresses[(0, key)].as_string() for key in _ADDRESS_PARTS.values()]
    stmt = (
        select(raw_id, Person.first_name, Person.last_name, Person.email, Person.phone,
               *parts, Company.domain)
        .outerjoin(Company, Company.id == Person.company_id)
        .order_by(Person.id)
        .execution_options(yield_per=chunk)
    )  # fmt: skip
    names = ("given_name", "surname", "email", "phone", *_ADDRESS_PARTS, "domain")
    ids: list[Any] = []
    raw: dict[str, list[Any]] = {name: [] for name in names}
    for part in ctx.session.execute(stmt).partitions():
        columns = list(zip(*part, strict=True))
        ids.extend(columns[0])
        for name, values in zip(names, columns[1:], strict=True):
            raw[name].extend(values)
    return ids, matching.normalise_columns(raw, len(ids))


def _uuid(value: Any) -> uuid.UUID:
    """A person id as read by :func:`_read_columns` (hex text on SQLite, a UUID on PG)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


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


class LikelyDuplicate(Conflict):
    """409 before a create: the person probably exists already; ``candidates`` says who."""

    code, title = "likely-duplicate", "This person probably exists already"

    def __init__(self, candidates: list[dict[str, Any]]) -> None:
        super().__init__(
            f"{len(candidates)} existing people look like this one; "
            "open them, or send force=true to create anyway"
        )
        self.candidates = candidates

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        return {**super().problem(instance), "candidates": self.candidates}


def likely_duplicates(ctx: Context, person: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The people a new record probably duplicates, for a warning: id, name, email,
    probability (whoever may create a person may see who they would duplicate)."""
    ctx.require("people:read")
    person = dict(person)
    if not person.get("email") and person.get("emails"):
        person["email"] = person["emails"][0].get("email")
    if not person.get("phone") and person.get("phones"):
        person["phone"] = person["phones"][0].get("number")
    found = _possible(ctx, person, threshold=matching.REVIEW, limit=5)
    rows = {p.id: p for p in ctx.session.scalars(select(Person).where(Person.id.in_(
        [pid for pid, _ in found])))}  # fmt: skip
    return [
        {"id": str(pid), "full_name": rows[pid].full_name, "email": rows[pid].email,
         "probability": round(p, 4)}
        for pid, p in found if pid in rows
    ]  # fmt: skip


def check_create(ctx: Context, person: Mapping[str, Any]) -> None:
    """Raise :class:`LikelyDuplicate` if the person about to be created probably exists."""
    candidates = likely_duplicates(ctx, person)
    if candidates:
        raise LikelyDuplicate(candidates)


def possible_duplicates(
    ctx: Context, person: Mapping[str, Any], *, threshold: float = matching.REVIEW, limit: int = 5
) -> list[tuple[uuid.UUID, float]]:
    """People who may already be the person about to be created (``first_name``, ``last_name``,
    ``email``, ``phone``, ``addresses``), most probable first, to warn before a create. Scored
    with the engine's prior model: one new record gives EM nothing to fit."""
    ctx.require("hygiene:read")
    return _possible(ctx, person, threshold=threshold, limit=limit)


def _possible(
    ctx: Context, person: Mapping[str, Any], *, threshold: float, limit: int
) -> list[tuple[uuid.UUID, float]]:
    new = _record(person.get("first_name"), person.get("last_name"), person.get("email"),
                  person.get("phone"), person.get("addresses"), None)  # fmt: skip
    same = []
    if person.get("email"):
        same.append(func.lower(Person.email) == str(person["email"]).strip().lower())
    if person.get("phone"):
        same.append(Person.phone.in_({str(person["phone"]), _e164(str(person["phone"]))}))
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


def _e164(phone: str) -> str:
    try:
        return normalise_phone(phone, get_settings().default_region)
    except ValueError:
        return phone


def _decided(status: str) -> str:
    """A decision in words ("merged", "not a duplicate"), not its stored value."""
    return LABELS["duplicate_status"].get(status, status.replace("_", " ")).lower()


def shown_percent(probability: float, *, identical: bool) -> int:
    """A pair's match probability as the review shows it, in whole percent: rounded down, and
    never 100 unless the two records are identical (the model's 0.99999 for a pair whose
    surname and email differ reads 99 %, not a certainty it is not)."""
    if identical:
        return min(100, round(probability * 100))
    return min(99, math.floor(probability * 100))


def _reasons(
    vector: list[int], fields: tuple[matching.Field, ...], weights: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Per field, how the two people compare (missing, different, similar, close, shared,
    exact); with the model's ``weights`` by field, also each scored field's agreement weight
    (log2 m/u: + for, - against); and why a pair may never be merged without review
    (``held_back``)."""
    out: dict[str, Any] = {}
    if weights is not None:
        out["weights"] = {
            spec.name: round(float(weights[spec.name][level]), 2)
            for level, spec in zip(vector, fields, strict=True)
            if level and spec.name in weights
        }
    for level, spec in zip(vector, fields, strict=True):
        out[spec.name] = matching.level_name(spec, level)
    held = matching.held_back(vector, fields)
    if held:
        out["held_back"] = held
    return out


def find_duplicates(
    ctx: Context,
    *,
    threshold: float = matching.REVIEW,
    auto_merge: float = matching.AUTO_MERGE,
    chunk: int = 20_000,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan the workspace's people and store every pair at or above ``threshold`` as a candidate
    for review (new pairs added, pending or skipped ones rescored, decided ones left alone).

    Built for a million people: records are read in chunks into one column per field (names
    share their cleaned strings), the engine blocks and compares with array operations, and
    candidates are written in batches with Core statements."""
    ctx.require("hygiene:merge")
    started = time.process_time()
    ids, cols = _read_columns(ctx, chunk)
    result = ScanResult(people=len(ids))
    result.seconds["read"] = time.process_time() - started
    if progress:
        progress("read", len(ids))
    linked = matching.link(cols, max_block=SCAN_BLOCK, window=SCAN_WINDOW)
    del cols
    result.compared = len(linked.pairs)
    if progress:
        progress("scored", result.compared)
    result.seconds.update(linked.seconds)
    chosen = linked.above(threshold)
    started = time.process_time()
    _store(ctx, ids, linked, chosen, auto_merge, result)
    result.seconds["store"] = time.process_time() - started
    log.info("dedupe of %d people, CPU seconds per stage: %s", result.people,
             ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))  # fmt: skip
    counts = {k: getattr(result, k) for k in ("people", "compared", "found", "new", "remembered")}
    record(ctx, DUPLICATES_SCANNED, None, payload={**counts, "threshold": threshold})
    result.top = list_candidates(ctx, limit=10).items
    return result


def _store(
    ctx: Context,
    ids: Sequence[Any],
    linked: matching.Result,
    chosen: Any,
    auto_merge: float,
    result: ScanResult,
) -> None:
    """Insert new pairs and rescore open ones, a few thousand rows per statement."""
    table = table_of(DuplicateCandidate)
    existing = {
        (a, b): (cid, status)
        for cid, a, b, status in ctx.session.execute(
            select(DuplicateCandidate.id, DuplicateCandidate.person_a,
                   DuplicateCandidate.person_b, DuplicateCandidate.status)
        )
    }  # fmt: skip
    fields, now, weights = matching.PEOPLE_FIELDS, utcnow(), linked.model.weights_by_field()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []

    def flush() -> None:
        if inserts:
            ctx.session.execute(insert(table), inserts)
        if updates:
            ctx.session.execute(
                update(table)
                .where(table.c.id == bindparam("cid"))
                .values(probability=bindparam("p"), reasons=bindparam("r"), status="pending",
                        updated_at=now),
                updates,
            )  # fmt: skip
        inserts.clear()
        updates.clear()

    for (i, j), vector, p in zip(
        linked.pairs[chosen].tolist(), linked.vectors[chosen].tolist(),
        linked.probability[chosen].tolist(), strict=True,
    ):  # fmt: skip
        a, b = sorted((_uuid(ids[i]), _uuid(ids[j])), key=str)
        result.found += 1
        result.auto_merge += p >= auto_merge and not matching.held_back(vector, fields)
        seen = existing.get((a, b))
        if seen is None:
            inserts.append({
                "id": new_id(), "workspace_id": ctx.workspace_id, "person_a": a, "person_b": b,
                "probability": p, "reasons": _reasons(vector, fields, weights), "status": "pending",
                "created_at": now, "updated_at": now,
            })  # fmt: skip
            existing[(a, b)] = (inserts[-1]["id"], "pending")
            result.new += 1
        elif seen[1] in FINAL:
            result.remembered += 1
        else:
            updates.append({"cid": seen[0], "p": p, "r": _reasons(vector, fields, weights)})
            result.updated += 1
        if len(inserts) + len(updates) >= 5000:
            flush()
    flush()


def scan_people(
    ctx: Context, person_ids: Sequence[uuid.UUID], *, threshold: float = matching.REVIEW
) -> ScanResult:
    """Queue the likely duplicates of these people (just imported or created) against the whole
    workspace, without reading all of it: the people sharing an email, a phone or a surname
    with them are the only ones compared. Called after an import finishes."""
    ctx.require("hygiene:read")
    result = ScanResult()
    wanted = list(dict.fromkeys(person_ids))
    for start in range(0, len(wanted), 1000):
        _scan_chunk(ctx, wanted[start : start + 1000], threshold, result)
    if wanted:
        counts = {k: getattr(result, k) for k in ("people", "compared", "found", "new")}
        record(ctx, DUPLICATES_SCANNED, None, payload={**counts, "threshold": threshold})
    return result


def _scan_chunk(ctx: Context, ids: list[uuid.UUID], threshold: float, result: ScanResult) -> None:
    columns = (Person.id, Person.first_name, Person.last_name, Person.email, Person.phone,
               Person.addresses, Company.domain)  # fmt: skip
    base = select(*columns).outerjoin(Company, Company.id == Person.company_id)
    new = ctx.session.execute(base.where(Person.id.in_(ids))).all()
    emails = {r.email.lower() for r in new if r.email}
    phones = {r.phone for r in new if r.phone}
    surnames = {r.last_name.lower() for r in new if r.last_name}
    same = [func.lower(Person.email).in_(emails), Person.phone.in_(phones),
            func.lower(Person.last_name).in_(surnames)]  # fmt: skip
    others = ctx.session.execute(
        base.where(or_(*same), Person.id.not_in(ids)).limit(200 * len(ids))
    ).all()
    rows = list(new) + list(others)
    result.people += len(new)
    if len(rows) < 2:
        return
    pids = [r.id for r in rows]
    cols: dict[str, list[str]] = {name: [] for name in matching.FIELDS}
    for row in rows:
        for name, value in _record(*row[1:]).items():
            cols[name].append(value)
    linked = matching.link(matching.columns(cols))
    mine = set(range(len(new)))
    touches = np.array([i in mine or j in mine for i, j in linked.pairs.tolist()], dtype=bool)
    chosen = linked.above(threshold) & touches if len(touches) else touches
    result.compared += int(touches.sum())
    _store(ctx, pids, linked, chosen, matching.AUTO_MERGE, result)


INCREMENTAL_READ = 200  # people read per new person at most by the incremental scan


def scan_after_import(ctx: Context, person_ids: Sequence[uuid.UUID]) -> ScanResult:
    """Queue the duplicates an import brought in, by whichever scan reads less: the incremental
    one reads up to ``INCREMENTAL_READ`` people per new person, the full one every person once
    (and blocks them all together), so a big import into a small workspace scans it whole."""
    if not person_ids:
        return ScanResult()
    total = ctx.session.scalar(select(func.count()).select_from(Person)) or 0
    if full_scan_pays(len(person_ids), total):
        return find_duplicates(ctx)
    return scan_people(ctx, person_ids)


def full_scan_pays(new: int, total: int) -> bool:
    """Whether scanning all ``total`` people reads less than comparing ``new`` ones with theirs."""
    return new * INCREMENTAL_READ > total


def created_since(ctx: Context, since: datetime) -> list[uuid.UUID]:
    """The people created at or after ``since`` (an import's start): what it added."""
    return list(ctx.session.scalars(select(Person.id).where(Person.created_at >= since)))


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


def decide(
    ctx: Context,
    candidate_id: uuid.UUID,
    decision: Decision,
    *,
    choices: dict[str, str] | None = None,
) -> DuplicateCandidate:
    """Merge the pair (undoable; the older person survives, fields by the survivorship rule
    or the per-field ``choices``), dismiss it for good, or skip it until the next scan."""
    ctx.require("hygiene:merge")
    row = get_scoped(ctx.session, DuplicateCandidate, candidate_id)
    if row is None:
        raise NotFound("No duplicate candidate with this id")
    if row.status in FINAL:
        raise Conflict(f"This pair was already decided: {_decided(row.status)}")
    old = row.status
    if decision == "merge":
        done = merge.merge(ctx, row.person_a, row.person_b, choices=choices)
        ctx.session.refresh(row)  # the merge service marked the pair merged
        row.reasons = {**row.reasons, "merge_id": str(done.id)}
    else:
        row.status = "not_duplicate" if decision == "not_duplicate" else "skipped"
        row.decided_by = ctx.user_id
    ctx.session.flush()
    record(
        ctx, DUPLICATE_DECIDED, row.id, {"status": (old, row.status)},
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
            if row.person_a in gone or row.person_b in gone or row.reasons.get("held_back"):
                continue  # held back: a family member, a colleague or a namesake may look so
            merges.append(decide(ctx, row.id, "merge"))
            gone.add(row.person_b)
            if progress:
                progress("merged", len(merges))
        if not page.has_more:
            return merges
        cursor = page.next_cursor


# -- companies -------------------------------------------------------------------------------


def find_company_duplicates(
    ctx: Context, *, threshold: float = matching.REVIEW, auto_merge: float = matching.AUTO_MERGE
) -> ScanResult:
    """Scan the workspace's companies (domain, name without legal suffixes, phonetic key,
    phone, city, country) and refresh the company review queue, like the people scan."""
    ctx.require("hygiene:merge")
    rows = ctx.session.execute(
        select(Company.id, Company.name, Company.domain, Company.phone, Company.address)
    ).all()
    ids = [r.id for r in rows]
    records = [
        matching.normalise_company({
            "name": r.name, "domain": r.domain, "phone": r.phone,
            "city": (r.address or {}).get("city"), "country": (r.address or {}).get("country"),
        })
        for r in rows
    ]  # fmt: skip
    linked = matching.link_companies(records)
    result = ScanResult(people=len(ids), compared=len(linked.pairs))
    existing = {
        (r.company_a, r.company_b): r for r in ctx.session.scalars(select(CompanyDuplicate))
    }
    fields, weights = matching.COMPANY_FIELDS, linked.model.weights_by_field()
    chosen = linked.above(threshold)
    for (i, j), vector, p in zip(
        linked.pairs[chosen].tolist(), linked.vectors[chosen].tolist(),
        linked.probability[chosen].tolist(), strict=True,
    ):  # fmt: skip
        a, b = sorted((ids[i], ids[j]), key=str)
        result.found += 1
        result.auto_merge += p >= auto_merge
        reasons = _reasons(vector, fields, weights)
        row = existing.get((a, b))
        if row is None:
            pair = CompanyDuplicate(workspace_id=ctx.workspace_id, company_a=a, company_b=b,
                                    probability=p, reasons=reasons)  # fmt: skip
            ctx.session.add(pair)
            result.new += 1
        elif row.status in FINAL:
            result.remembered += 1
        else:
            row.probability, row.reasons, row.status = p, reasons, "pending"
            result.updated += 1
    ctx.session.flush()
    counts = {k: getattr(result, k) for k in ("compared", "found", "new", "remembered")}
    record(ctx, COMPANY_DUPLICATES_SCANNED, None, payload={**counts, "companies": len(ids)})
    return result


def list_company_candidates(
    ctx: Context, *, limit: int = 50, cursor: str | None = None, status: str = "pending"
) -> Page[CompanyDuplicate]:
    """The company review queue, most probable first; pairs with a deleted company left out."""
    ctx.require("hygiene:read")
    ca, cb = aliased(Company), aliased(Company)
    stmt = (
        select(CompanyDuplicate)
        .join(ca, ca.id == CompanyDuplicate.company_a)
        .join(cb, cb.id == CompanyDuplicate.company_b)
        .where(CompanyDuplicate.status == status)
    )
    sort = [SortKey("probability", CompanyDuplicate.probability, descending=True)]
    return keyset_page(
        ctx.session, stmt, sort=sort, id_column=CompanyDuplicate.id, limit=limit, cursor=cursor
    )


def decide_company(ctx: Context, candidate_id: uuid.UUID, decision: Decision) -> CompanyDuplicate:
    """Merge the company pair (undoable; the older survives), dismiss it, or skip it."""
    ctx.require("hygiene:merge")
    row = get_scoped(ctx.session, CompanyDuplicate, candidate_id)
    if row is None:
        raise NotFound("No company duplicate candidate with this id")
    if row.status in FINAL:
        raise Conflict(f"This pair was already decided: {_decided(row.status)}")
    old = row.status
    if decision == "merge":
        done = merge.merge_companies(ctx, row.company_a, row.company_b)
        ctx.session.refresh(row)
        row.reasons = {**row.reasons, "merge_id": str(done.id)}
    else:
        row.status = "not_duplicate" if decision == "not_duplicate" else "skipped"
        row.decided_by = ctx.user_id
    ctx.session.flush()
    record(ctx, COMPANY_DUPLICATE_DECIDED, row.id, {"status": (old, row.status)},
           payload={"company_a": row.company_a, "company_b": row.company_b})  # fmt: skip
    return row
