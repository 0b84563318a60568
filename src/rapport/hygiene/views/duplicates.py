"""Data hygiene pages: the duplicates review queue (side by side, per-field choice, merge /
not a duplicate / skip, undo), the merges history, and the data-quality report."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from rapport.core.context import Context
from rapport.core.errors import Conflict, NotFound
from rapport.hub.models import Company, Person
from rapport.hub.public import companies, people
from rapport.hygiene.models import CompanyDuplicate, DuplicateCandidate, Merge
from rapport.hygiene.service import dedupe, merge, quality
from rapport.web import words
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
QUEUE_PAGE = 20
# What the review shows side by side: (label, how to read it off a person, survivorship field)
ROWS: tuple[tuple[str, str, str | None], ...] = (
    ("First name", "first_name", "first_name"),
    ("Last name", "last_name", "last_name"),
    ("Email", "email", None),
    ("Phone", "phone", None),
    ("Job title", "job_title", "job_title"),
    ("Company", "company", "company_id"),
    ("Address", "address", "addresses"),
    ("Stage", "lifecycle_stage", "lifecycle_stage"),
    ("Source", "source", "source"),
)
COMPANY_ROWS = (
    ("Name", "name"),
    ("Domain", "domain"),
    ("Website", "website"),
    ("Industry", "industry"),
    ("Employees", "size"),
    ("Phone", "phone"),
    ("Address", "address"),
    ("Tags", "tags"),
)


def likely_duplicates_panel(ctx: Context, person: dict[str, Any]) -> dict[str, Any] | None:
    """The add-person form's warning: the people this one probably duplicates, unless its
    email is taken (that is an error of its own, said by ``people.create``)."""
    found = dedupe.likely_duplicates(ctx, person)
    email = (person.get("email") or "").lower()
    taken = any(c["email"] and c["email"].lower() == email for c in found)
    return {"duplicates": found} if found and not taken else None


def _value(person: Person, key: str, companies: dict[uuid.UUID, str]) -> str:
    if key == "company":
        return companies.get(person.company_id, "") if person.company_id else ""
    if key == "address":
        parts = person.addresses[0] if person.addresses else {}
        keys = ("street", "city", "postal_code", "country")
        return ", ".join(str(parts[k]) for k in keys if parts.get(k))
    if key in ("lifecycle_stage", "source"):  # the words the rest of the app uses
        return words.label(getattr(person, key), key)
    return str(getattr(person, key) or "")


def _pair(ctx: Context, row: DuplicateCandidate) -> dict[str, Any]:
    """One pair as the page shows it: both people's values per row, which differ, and the
    survivorship default (the survivor's value unless it is empty)."""
    a = people.get(ctx, row.person_a)
    b = people.get(ctx, row.person_b)
    ids = {x for x in (a.company_id, b.company_id) if x}
    names = (
        dict(ctx.session.execute(select(Company.id, Company.name).where(Company.id.in_(ids))).all())
        if ids
        else {}
    )
    rows = []
    for label, key, field in ROWS:
        left, right = _value(a, key, names), _value(b, key, names)
        default = "merged" if not left and right else "survivor"
        rows.append({"label": label, "key": key, "field": field, "a": left, "b": right,
                     "differs": left != right, "default": default})  # fmt: skip
    hidden = ("weights", "merge_id", "held_back")
    reasons = {k: v for k, v in row.reasons.items() if k not in hidden}
    weights = row.reasons.get("weights", {})
    identical = not any(r["differs"] for r in rows)
    percent = dedupe.shown_percent(row.probability, identical=identical)
    return {"row": row, "a": a, "b": b, "rows": rows, "reasons": reasons, "weights": weights,
            "percent": percent, "held_back": row.reasons.get("held_back")}  # fmt: skip


def _company_value(company: Company, key: str) -> str:
    if key == "address":
        parts = company.address or {}
        keys = ("street", "city", "postal_code", "country")
        return ", ".join(str(parts[k]) for k in keys if parts.get(k))
    if key == "tags":
        return ", ".join(sorted((t.name for t in company.tags), key=str.lower))
    value = getattr(company, key)
    return "" if value is None else str(value)


def _company_pair(ctx: Context, row: CompanyDuplicate) -> dict[str, Any]:
    """One company pair side by side: each field of both, and which differ."""
    a = companies.get(ctx, row.company_a)
    b = companies.get(ctx, row.company_b)
    rows = []
    for label, key in COMPANY_ROWS:
        left, right = _company_value(a, key), _company_value(b, key)
        rows.append({"label": label, "key": key, "a": left, "b": right, "differs": left != right})
    reasons = {k: v for k, v in row.reasons.items() if k not in ("weights", "merge_id")}
    identical = not any(r["differs"] for r in rows)
    percent = dedupe.shown_percent(row.probability, identical=identical)
    return {"row": row, "a": a, "b": b, "rows": rows, "reasons": reasons, "percent": percent}


@router.get("/duplicates", response_class=HTMLResponse)
def duplicates_page(
    request: Request, page: Page, cursor: str | None = None, kind: str = "people"
) -> HTMLResponse:
    """The review queue of people (or ``?kind=companies``): most probable pairs first."""
    if kind == "companies":
        found = dedupe.list_company_candidates(page.ctx, limit=QUEUE_PAGE, cursor=cursor)
        company_pairs = [_company_pair(page.ctx, row) for row in found.items]
        return render(
            request, "hygiene/duplicates.html", title="Duplicate companies", pairs=[],
            company_pairs=company_pairs, kind="companies",
            next_cursor=found.next_cursor if found.has_more else None,
            can_merge=page.ctx.can("hygiene:merge"),
        )  # fmt: skip
    listing = dedupe.list_candidates(page.ctx, limit=QUEUE_PAGE, cursor=cursor)
    pairs = [_pair(page.ctx, row) for row in listing.items]
    return render(
        request, "hygiene/duplicates.html", title="Duplicates", pairs=pairs,
        company_pairs=[], kind="people",
        next_cursor=listing.next_cursor if listing.has_more else None,
        can_merge=page.ctx.can("hygiene:merge"),
    )  # fmt: skip


def _company_done(request: Request, candidate_id: uuid.UUID) -> Response:
    if request.headers.get("hx-request"):
        return render(request, "hygiene/_decided.html", fragment="hygiene/_decided.html",
                      candidate_id=candidate_id)  # fmt: skip
    return redirect(request, "/duplicates?kind=companies")


@router.post("/duplicates/companies/{candidate_id}/{decision}")
def decide_company_pair(
    request: Request, page: Page, candidate_id: uuid.UUID, decision: str
) -> Response:
    """Merge a company pair (the older survives; undoable), dismiss it for good, or skip it."""
    known: dict[str, dedupe.Decision] = {"merge": "merge", "not-duplicate": "not_duplicate",
                                         "skip": "skip"}  # fmt: skip
    choice = known.get(decision)
    if choice is None:
        raise NotFound("No such decision")
    try:
        row = dedupe.decide_company(page.ctx, candidate_id, choice)
    except (Conflict, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.detail.startswith("No company duplicate"):
            raise
        toast(request, exc.detail, "error")
        return _company_done(request, candidate_id)
    if choice == "merge":
        undo = f"/merges/companies/{row.reasons.get('merge_id')}/undo?back=queue"
        toast(request, "Companies merged.", "success", action=undo, action_label="Undo")
    elif choice == "not_duplicate":
        toast(request, "Marked as not a duplicate; it will not be proposed again.", "info")
    else:
        toast(request, "Skipped until the next scan.", "info")
    return _company_done(request, candidate_id)


@router.post("/merges/companies/{merge_id}/undo")
def undo_company_merge(
    request: Request, page: Page, merge_id: uuid.UUID, back: str | None = None
) -> Response:
    """Undo a company merge (the toast's Undo); from the queue (``?back=queue``) it goes back
    there, where the pair waits again."""
    try:
        done = merge.undo_company_merge(page.ctx, merge_id)
    except (Conflict, NotFound) as exc:
        toast(request, f"It could not be undone: {exc.detail}", "error")
        return redirect(request, "/duplicates?kind=companies")
    if back == "queue":
        toast(request, "The merge was undone; the pair is back in the queue.")
        return redirect(request, "/duplicates?kind=companies")
    toast(request, "The merge was undone; both companies are back.")
    return redirect(request, f"/companies/{done.merged_id}")


def _done(request: Request, candidate_id: uuid.UUID) -> Response:
    """After a decision: an HTMX request gets the pair's card removed (and the toast), a plain
    form post goes back to the queue."""
    if request.headers.get("hx-request"):
        return render(request, "hygiene/_decided.html", fragment="hygiene/_decided.html",
                      candidate_id=candidate_id)  # fmt: skip
    return redirect(request, "/duplicates")


@router.post("/duplicates/{candidate_id}/merge")
async def merge_pair(request: Request, page: Page, candidate_id: uuid.UUID) -> Response:
    """Merge the pair with the per-field choices from the form; the toast offers Undo."""
    form = await request.form()
    choices = {
        field: str(form[f"choice_{field}"])
        for field in merge.SURVIVING
        if str(form.get(f"choice_{field}", "")) in ("survivor", "merged")
    }
    try:
        row = dedupe.decide(page.ctx, candidate_id, "merge", choices=choices)
    except (Conflict, NotFound) as exc:
        toast(request, exc.detail, "error")
        return _done(request, candidate_id)
    merge_id = row.reasons.get("merge_id")
    toast(request, "Merged.", "success", action=f"/merges/{merge_id}/undo?back=queue",
          action_label="Undo")  # fmt: skip
    return _done(request, candidate_id)


@router.post("/duplicates/{candidate_id}/not-duplicate")
def not_duplicate(request: Request, page: Page, candidate_id: uuid.UUID) -> Response:
    """Dismiss the pair for good: later scans remember it."""
    try:
        dedupe.decide(page.ctx, candidate_id, "not_duplicate")
        toast(request, "Marked as not a duplicate; it will not be proposed again.", "info")
    except (Conflict, NotFound) as exc:
        toast(request, exc.detail, "error")
    return _done(request, candidate_id)


@router.post("/duplicates/{candidate_id}/skip")
def skip(request: Request, page: Page, candidate_id: uuid.UUID) -> Response:
    """Leave the pair for later (the next scan proposes it again)."""
    try:
        dedupe.decide(page.ctx, candidate_id, "skip")
        toast(request, "Skipped until the next scan.", "info")
    except (Conflict, NotFound) as exc:
        toast(request, exc.detail, "error")
    return _done(request, candidate_id)


@router.get("/merges", response_class=HTMLResponse)
def merges_page(request: Request, page: Page) -> HTMLResponse:
    """The latest merges, each with its undo."""
    page.ctx.require("hygiene:read")
    rows = list(page.ctx.session.scalars(select(Merge).order_by(Merge.merged_at.desc()).limit(100)))
    ids = {x for m in rows for x in (m.survivor_id, m.merged_id)}
    found = page.ctx.session.execute(
        select(Person.id, Person.full_name).where(Person.id.in_(ids))
        .execution_options(include_deleted=True)
    ).all() if ids else []  # fmt: skip
    names = dict(found)
    return render(request, "hygiene/merges.html", title="Merges", merges=rows, names=names,
                  can_merge=page.ctx.can("hygiene:merge"))  # fmt: skip


@router.post("/merges/{merge_id}/undo")
def undo_merge(
    request: Request, page: Page, merge_id: uuid.UUID, back: str | None = None
) -> Response:
    """Undo a merge (the Undo of the toast, or the history's button); from the queue
    (``?back=queue``) it goes back there, where the pair waits again."""
    try:
        done = merge.undo(page.ctx, merge_id)
    except (Conflict, NotFound) as exc:
        toast(request, f"It could not be undone: {exc.detail}", "error")
        return redirect(request, "/merges")
    if back == "queue":
        toast(request, "The merge was undone; the pair is back in the queue.")
        return redirect(request, "/duplicates")
    toast(request, "The merge was undone; both people are back.")
    return redirect(request, f"/people/{done.merged_id}")


@router.get("/quality", response_class=HTMLResponse)
def quality_page(request: Request, page: Page) -> HTMLResponse:
    """The data-quality report with a bar per field (a large workspace's as last counted)."""
    shown = quality.for_page(page.ctx)
    return render(
        request,
        "hygiene/quality.html",
        title="Data quality",
        report=shown.report,
        counted_at=shown.counted_at,
        counting=shown.counting,
    )
