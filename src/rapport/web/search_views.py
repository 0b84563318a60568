"""The global search box: instant, typo-tolerant results grouped by record type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from rapport.core.search import Hit, search
from rapport.web.render import render
from rapport.web.session import Page

router = APIRouter()
RESULT_LIMIT = 20


@dataclass(frozen=True)
class RecordKind:
    label: str  # the group heading
    url: str  # with ``{id}``


# How a search hit links to its record page; a domain with pages adds its record types here.
RECORD_KINDS: dict[str, RecordKind] = {
    "person": RecordKind("People", "/people/{id}"),
    "company": RecordKind("Companies", "/companies/{id}"),
    "deal": RecordKind("Deals", "/deals/{id}"),
}


@dataclass(frozen=True)
class Result:
    hit: Hit
    url: str | None


@dataclass(frozen=True)
class Group:
    record_type: str
    label: str
    results: list[Result]


def group_hits(hits: list[Hit]) -> list[Group]:
    """Hits grouped by record type; groups ordered by their best hit, hits keep their rank."""
    groups: dict[str, list[Result]] = {}
    for hit in hits:
        kind = RECORD_KINDS.get(hit.record_type)
        url = kind.url.format(id=hit.record_id) if kind else None
        groups.setdefault(hit.record_type, []).append(Result(hit, url))
    return [Group(rtype, _label(rtype), results) for rtype, results in groups.items()]


def _label(record_type: str) -> str:
    kind = RECORD_KINDS.get(record_type)
    return kind.label if kind else record_type.replace("_", " ").title() + "s"


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, page: Page, q: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    """Search every record type; the search box's dropdown asks for the results fragment."""
    query = q.strip()
    hits = (
        search(page.ctx.session, page.ctx.workspace_id, query, limit=RESULT_LIMIT) if query else []
    )
    return render(
        request,
        "web/search.html",
        fragment="web/_search_results.html",
        title=f"Search: {query}" if query else "Search",
        q=query,
        groups=group_hits(hits),
        hit_count=len(hits),
    )
