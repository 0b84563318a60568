"""One search interface over every record type, typo-tolerant on both databases.

Domains index a small document per record (title, subtitle, searchable text) with
:func:`index_documents`. Candidates come first from the word index of titles
(:mod:`rapport.core.search.terms`: typo-corrected against a dictionary, then looked up exactly),
else from the database's trigram index over whole documents (SQLite FTS5 with the trigram
tokenizer, PostgreSQL pg_trgm word similarity); then they are re-ranked with rapidfuzz so that
a name with a typo still comes first. Raw SQL here cannot rely on the session's
workspace criteria, so every statement names the workspace itself.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from rapidfuzz import fuzz
from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    delete,
    insert,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session, mapped_column

from rapport.core.bulk import bind_value, insert_tuples
from rapport.core.clock import utcnow
from rapport.core.db import Base, table_of
from rapport.core.errors import BadRequest
from rapport.core.pagination import BAD_CURSOR, Page, decode_cursor, encode_cursor
from rapport.core.search.terms import (
    SearchPosting,
    add_terms,
    candidate_documents,
    index_terms,
    words,
)

T = TypeVar("T")
log = logging.getLogger(__name__)
CANDIDATES = 300
# SQLite's trigram index files each document under the first hex digits of its workspace id:
# one trigram that narrows a search to a few workspaces (the exact one is kept by a join),
# where the whole id cost thirty trigrams per document, a third of the index.
FTS_BUCKET = "substr(replace(workspace_id, '-', ''), 1, 3)"
PG_CANDIDATES = 100  # ordered by similarity already, so fewer are needed
MIN_SCORE = 62.0
# The trigram fallback never ranks more than this many matches in the database: a short or
# common piece (``mit``) matches a good part of the workspace, and ranking every match made
# one search cost seconds. Documents holding the query as typed come first (read in index
# order, stopping at the pool); only when they are too few are near matches ranked, among
# the first SIMILAR_CAP the index yields.
SIMILAR_CAP = 500
SIMILAR_BUDGET_MS = 30  # PostgreSQL's near-match step; see _postgres_matches
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement_timeout


class SearchDocument(Base):
    """What the search index knows about one record. The integer key is the FTS5 rowid
    (an explicit INTEGER PRIMARY KEY, so VACUUM cannot renumber it under the index)."""

    __tablename__ = "search_documents"
    doc_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    record_type: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[uuid.UUID] = mapped_column()
    title: Mapped[str] = mapped_column(String(500))
    subtitle: Mapped[str | None] = mapped_column(String(500), default=None)
    content: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("record_type", "record_id"),
        Index("ix_search_documents_ws_type", "workspace_id", "record_type"),
    )


@dataclass(frozen=True)
class Document:
    record_type: str
    record_id: uuid.UUID
    title: str
    subtitle: str | None
    parts: Sequence[str | None]


@dataclass(frozen=True)
class Hit:
    record_type: str
    record_id: uuid.UUID
    title: str
    subtitle: str | None
    score: float


_PUNCTUATION = re.compile(r"[^\w@.+]+")


@cache
def _combining() -> re.Pattern[str]:
    """Every combining character (what accents decompose into), as one character class."""
    marks = [i for i in range(sys.maxunicode + 1) if unicodedata.combining(chr(i))]
    runs: list[list[int]] = []
    for code in marks:
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    ranges = "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in runs)
    return re.compile(f"[{ranges}]+")


def normalise(value: str) -> str:
    """Lower-case, strip accents, and collapse punctuation to single spaces."""
    if not value.isascii():  # ASCII has no accents: skip decomposing
        value = _combining().sub("", unicodedata.normalize("NFKD", value))
    return _PUNCTUATION.sub(" ", value.lower()).strip()


_NON_DIGITS = re.compile(r"\D")


def _digits_variant(part: str) -> str | None:
    digits = _NON_DIGITS.sub("", part)
    return digits if len(digits) >= 5 else None


def _content(parts: Iterable[str | None]) -> str:
    present = [p for p in parts if p]
    # One pass over the joined parts (the space between them is punctuation to normalise),
    # then the digits of each part that has enough of them (a phone typed another way).
    digits = [d for p in present if (d := _digits_variant(p)) and d != p]
    text = " ".join([normalise(" ".join(present)), *digits])
    # Padding spaces give every word boundary trigrams, as pg_trgm does.
    return f" {text} "


PreparedDocument = tuple[str, str | None, str, tuple[str, ...]]  # title, subtitle, content, words


def prepare_document(doc: Document) -> PreparedDocument:
    """What :func:`index_documents` stores for a document, computed without a database (an
    import's validating worker does it, so the writer only inserts): the stored title and
    subtitle, the trigram content and the title's distinct indexable words."""
    title = doc.title[:500]
    subtitle = (doc.subtitle or "")[:500] or None
    content = _content([doc.title, doc.subtitle, *doc.parts])
    return title, subtitle, content, tuple(dict.fromkeys(words(normalise(title))))


def index_prepared(
    session: Session,
    workspace_id: uuid.UUID,
    record_type: str,
    docs: Sequence[tuple[str, PreparedDocument]],
) -> None:
    """Index new records (``(record id as 32 hex digits, prepared document)``) in bulk, the
    same rows :func:`index_documents` writes with ``fresh=True``, but with plain driver
    calls: document ids are allocated up front (the batch's transaction holds the write lock
    on SQLite; a sequence on PostgreSQL), so documents and postings go in with one
    ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) each, without reading ids back."""
    if not docs:
        return
    table = table_of(SearchDocument)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        doc_ids = list(
            connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('search_documents', 'doc_id')) "
                "FROM generate_series(1, %(n)s)",
                {"n": len(docs)},
            ).scalars()
        )
    else:
        top = connection.exec_driver_sql("SELECT MAX(doc_id) FROM search_documents").scalar()
        start = int(top or 0) + 1
        doc_ids = list(range(start, start + len(docs)))
    ws = bind_value(connection, table.c.workspace_id, workspace_id)
    now = bind_value(connection, table.c.updated_at, utcnow())
    insert_tuples(
        session,
        table,
        ("doc_id", "record_id", "title", "subtitle", "content"),
        [
            (doc_id, record_id, d[0], d[1], d[2])
            for doc_id, (record_id, d) in zip(doc_ids, docs, strict=True)
        ],
        constants=[("workspace_id", ws), ("record_type", record_type), ("updated_at", now)],
    )
    _index_trigrams(session, doc_ids)
    postings: dict[str, list[int]] = {}
    for doc_id, (_record_id, d) in zip(doc_ids, docs, strict=True):
        for word in d[3]:
            postings.setdefault(word, []).append(doc_id)
    add_terms(session, workspace_id, list(postings))
    insert_tuples(
        session,
        table_of(SearchPosting),
        ("term", "doc_id"),
        [(w, doc_id) for w, ids in postings.items() for doc_id in ids],
        constants=[("workspace_id", ws), ("record_type", record_type)],
    )


def index_documents(
    session: Session, workspace_id: uuid.UUID, docs: Sequence[Document], *, fresh: bool = False
) -> None:
    """Insert or replace the search documents of some records (``fresh``: new records, so
    there is nothing to replace)."""
    if not docs:
        return
    if not fresh:
        remove_documents(session, workspace_id, [(d.record_type, d.record_id) for d in docs])
    now = utcnow()
    table = table_of(SearchDocument)
    inserted = session.execute(
        insert(table).returning(
            table.c.doc_id, table.c.record_type, table.c.title, sort_by_parameter_order=True
        ),
        [
            {
                "workspace_id": workspace_id,
                "record_type": d.record_type,
                "record_id": d.record_id,
                "title": d.title[:500],
                "subtitle": (d.subtitle or "")[:500] or None,
                "content": _content([d.title, d.subtitle, *d.parts]),
                "updated_at": now,
            }
            for d in docs
        ],
    ).all()
    _index_trigrams(session, [r[0] for r in inserted])
    index_terms(session, workspace_id, [(r[0], r[1], normalise(r[2])) for r in inserted])


def _index_trigrams(session: Session, doc_ids: Sequence[int]) -> None:
    """Add new documents to SQLite's FTS5 trigram index, in one statement per run of
    consecutive ids (PostgreSQL's GIN index needs nothing: it follows the table). Written
    here rather than by a per-row trigger, which costs three times as much."""
    if not doc_ids or session.get_bind().dialect.name != "sqlite":
        return
    ordered = sorted(doc_ids)
    runs: list[tuple[int, int]] = []
    for doc_id in ordered:
        if runs and runs[-1][1] == doc_id - 1:
            runs[-1] = (runs[-1][0], doc_id)
        else:
            runs.append((doc_id, doc_id))
    for first, last in runs:
        session.execute(
            text(
                "INSERT INTO search_fts(rowid, ws, content) "
                f"SELECT doc_id, {FTS_BUCKET}, content FROM search_documents "
                "WHERE doc_id BETWEEN :first AND :last"
            ),
            {"first": first, "last": last},
        )


def remove_documents(
    session: Session, workspace_id: uuid.UUID, keys: Sequence[tuple[str, uuid.UUID]]
) -> None:
    """Drop records from the index (soft delete, erasure, merge)."""
    by_type: dict[str, list[uuid.UUID]] = {}
    for record_type, record_id in keys:
        by_type.setdefault(record_type, []).append(record_id)
    for record_type, ids in by_type.items():
        session.execute(
            delete(SearchDocument)
            .where(SearchDocument.workspace_id == workspace_id)
            .where(SearchDocument.record_type == record_type)
            .where(SearchDocument.record_id.in_(ids))
            .execution_options(synchronize_session=False)
        )


def _query_text(q: str) -> str:
    q = normalise(q)
    compact = re.sub(r"[\s\-().]", "", q)
    if compact.lstrip("+").isdigit():
        return compact.lstrip("+")
    return q


def _fts_expression(q: str) -> str | None:
    grams: list[str] = []
    for token in q.split():
        padded = f" {token} "
        for i in range(len(padded) - 2):
            gram = padded[i : i + 3]
            if gram.strip() and gram not in grams:
                grams.append(gram)
    if not grams:
        return None
    return " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)


Candidates = list[tuple[str, uuid.UUID, str, str | None, str]]


def _tokens_for_substring(q: str) -> list[str]:
    """The query's words that a trigram index can look up as substrings (3 characters or
    more); empty when none is, and then only the similarity search applies."""
    tokens = list(dict.fromkeys(q.split()))
    return tokens if tokens and all(len(t) >= 3 for t in tokens) else []


def _sqlite_candidates(
    session: Session, workspace_id: uuid.UUID, q: str, types: Sequence[str] | None, pool: int
) -> Candidates:
    params: dict[str, object] = {"limit": pool, "cap": SIMILAR_CAP, "ws": workspace_id.hex}
    type_filter = ""
    if types:
        type_filter = (
            " AND d.record_type IN (" + ",".join(f":t{i}" for i in range(len(types))) + ")"
        )
        params.update({f"t{i}": t for i, t in enumerate(types)})
    bucket = f'ws:"{workspace_id.hex[:3]}"'
    found: Candidates = []
    tokens = _tokens_for_substring(q)
    if tokens:  # every word as typed, inside any word: first matches in index order
        phrases = " AND ".join('"' + t.replace('"', '""') + '"' for t in tokens)
        rows = session.execute(
            text(
                "SELECT d.record_type, d.record_id, d.title, d.subtitle, d.content "
                "FROM search_fts JOIN search_documents d ON d.doc_id = search_fts.rowid "
                "WHERE search_fts MATCH :match AND d.workspace_id = :ws"
                + type_filter
                + " LIMIT :limit"
            ),
            {**params, "match": f"{bucket} AND content:({phrases})"},
        ).all()
        found = [(r[0], uuid.UUID(str(r[1])), r[2], r[3], r[4]) for r in rows]
        if len(found) >= pool:
            return found
    expression = _fts_expression(q)
    if expression is None:
        return found
    # Near matches: FTS5 ranks (bm25) only the first SIMILAR_CAP documents sharing a trigram.
    rows = session.execute(
        text(
            "SELECT d.record_type, d.record_id, d.title, d.subtitle, d.content "
            "FROM (SELECT rowid, rank FROM search_fts WHERE search_fts MATCH :match "
            "LIMIT :cap) f JOIN search_documents d ON d.doc_id = f.rowid "
            "WHERE d.workspace_id = :ws" + type_filter + " ORDER BY f.rank LIMIT :limit"
        ),
        {**params, "match": f"{bucket} AND content:({expression})"},
    ).all()
    return _merged(found, [(r[0], uuid.UUID(str(r[1])), r[2], r[3], r[4]) for r in rows])


def _merged(first: Candidates, more: Candidates) -> Candidates:
    seen = {(c[0], c[1]) for c in first}
    return first + [c for c in more if (c[0], c[1]) not in seen]


def _postgres_candidates(
    session: Session, workspace_id: uuid.UUID, q: str, types: Sequence[str] | None, pool: int
) -> Candidates:
    type_filter = " AND record_type = ANY(:types)" if types else ""
    params: dict[str, object] = {"ws": workspace_id, "q": q, "limit": pool}
    params.update(cap=SIMILAR_CAP, types=list(types or []))
    # With a LIMIT and no ORDER BY, the planner would read the workspace in index order and
    # test each row's content, hoping to stop early: a rare match (or none) then costs a scan
    # of the workspace. A bitmap of the trigram index is always the bounded way in.
    session.execute(text("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off"))
    found = _postgres_matches(session, q, params, type_filter, pool)
    session.execute(
        text("SET LOCAL enable_seqscan TO DEFAULT; SET LOCAL enable_indexscan TO DEFAULT")
    )
    return found


def _postgres_matches(
    session: Session, q: str, params: dict[str, object], type_filter: str, pool: int
) -> Candidates:
    found: Candidates = []
    tokens = _tokens_for_substring(q)
    if tokens:  # every word as typed, inside any word: LIKE on the trigram index, no ranking
        likes = " AND ".join(f"content LIKE :like{i}" for i in range(len(tokens)))
        for i, token in enumerate(tokens):
            escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params[f"like{i}"] = f"%{escaped}%"
        rows = session.execute(
            text(
                "SELECT record_type, record_id, title, subtitle, content "
                f"FROM search_documents WHERE workspace_id = :ws AND {likes}{type_filter} "
                "LIMIT :limit"
            ),
            params,
        ).all()
        found = [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
        if len(found) >= pool or q.isdigit():  # digits (a phone): a near match is noise
            return found
    # Near matches: ranked by word similarity among the first SIMILAR_CAP the index yields.
    # A query made of common trigrams (a typo in a common word that is in no title) can still
    # make the index yield most of the workspace, so this step has a time budget: past it,
    # the search answers with what the exact steps found.
    near = within_budget(
        session,
        SIMILAR_BUDGET_MS,
        "SET LOCAL pg_trgm.word_similarity_threshold = 0.3",
        "SELECT record_type, record_id, title, subtitle, content FROM ("
        "SELECT record_type, record_id, title, subtitle, content FROM search_documents "
        f"WHERE workspace_id = :ws AND :q <% content{type_filter} LIMIT :cap) m "
        "ORDER BY :q <<-> content LIMIT :limit",
        params,
    )
    return _merged(found, [(r[0], r[1], r[2], r[3], r[4]) for r in near or []])


def within_budget(
    session: Session, budget_ms: int, setup: str, statement: str, params: dict[str, object]
) -> Sequence[Sequence[Any]] | None:
    """``statement``'s rows, or ``None`` if PostgreSQL spent ``budget_ms`` on it and gave up
    (``statement_timeout`` in a savepoint, so the request's transaction carries on).
    ``setup`` runs first in the same savepoint, its SET LOCALs undone with it."""
    try:
        with session.begin_nested():
            session.execute(text(f"SET LOCAL statement_timeout = {int(budget_ms)}; {setup}"))
            rows = session.execute(text(statement), params).all()
            session.execute(text("SET LOCAL statement_timeout TO DEFAULT"))
            return rows
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
            raise
        log.info("search step over its budget", extra={"budget_ms": budget_ms})
        return None


def _title_candidates(
    session: Session, workspace_id: uuid.UUID, q: str, types: Sequence[str] | None, limit: int
) -> list[tuple[str, uuid.UUID, str, str | None, str]]:
    found = candidate_documents(session, workspace_id, q, types, max(3 * limit, 30))
    # Every candidate already carries each word; its title is all the re-ranking needs.
    return [
        (rt, rid, title, subtitle, normalise(title)) for rt, rid, title, subtitle in found or []
    ]


def _score(q: str, title: str, content: str) -> float:
    title_n = normalise(title)
    return max(
        fuzz.WRatio(q, title_n),
        fuzz.token_set_ratio(q, title_n),
        fuzz.partial_ratio(q, content) * 0.95,
    )


def search(
    session: Session,
    workspace_id: uuid.UUID,
    q: str,
    *,
    types: Sequence[str] | None = None,
    limit: int = 20,
) -> list[Hit]:
    """Records of the workspace that match ``q``, best first, tolerant of a typo or two."""
    query = _query_text(q)
    if len(query.replace(" ", "")) < 2:
        return []
    # Words are first corrected against the dictionary of title words and looked up exactly
    # (cheap at any size); emails, phone numbers, and words in no title (a person's company,
    # say) fall back to the trigram index over whole documents.
    hits: list[Hit] = []
    if session.get_bind().dialect.name == "postgresql":
        # Each step reads a few thousand index entries at most: starting parallel workers
        # for it costs more than it saves (and much more on a busy machine).
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    if not any(c.isdigit() or c == "@" for c in query):
        hits = _ranked(query, _title_candidates(session, workspace_id, query, types, limit))
    if not hits:
        # The pool grows with what was asked for, so a long page is never cut at the pool's size.
        if session.get_bind().dialect.name == "postgresql":
            pool = max(PG_CANDIDATES, 2 * limit)
            candidates = _postgres_candidates(session, workspace_id, query, types, pool)
        else:
            pool = max(CANDIDATES, 3 * limit)
            candidates = _sqlite_candidates(session, workspace_id, query, types, pool)
        hits = _ranked(query, candidates)
    return hits[:limit]


def _ranked(q: str, candidates: list[tuple[str, uuid.UUID, str, str | None, str]]) -> list[Hit]:
    hits = [
        Hit(rt, rid, title, subtitle, _score(q, title, content))
        for rt, rid, title, subtitle, content in candidates
    ]
    hits = [h for h in hits if h.score >= MIN_SCORE]
    hits.sort(key=lambda h: (-h.score, h.title))
    return hits


def search_page(
    session: Session,
    stmt: Select[T],
    id_column: InstrumentedAttribute[uuid.UUID],
    workspace_id: uuid.UUID,
    q: str,
    *,
    record_type: str,
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """A page of ``stmt``'s rows that match ``q``, best first, and truthfully whether more
    follow: it ranks one hit beyond the page to know. The cursor is a position in the ranking
    and names its query, so it cannot continue another search."""
    offset = 0
    if cursor is not None:
        tag, seen, offset = decode_cursor(cursor, 3)
        if tag != "search" or seen != q or not isinstance(offset, int) or offset < 0:
            raise BadRequest(BAD_CURSOR)
    hits = search(session, workspace_id, q, types=[record_type], limit=offset + limit + 1)
    window = hits[offset : offset + limit]
    has_more = len(hits) > offset + limit
    rank = {hit.record_id: i for i, hit in enumerate(window)}
    rows = list(session.scalars(stmt.where(id_column.in_(list(rank)))))
    rows.sort(key=lambda row: rank[getattr(row, id_column.key)])
    next_cursor = encode_cursor(["search", q, offset + limit]) if has_more else None
    return Page(items=rows, next_cursor=next_cursor, has_more=has_more)
