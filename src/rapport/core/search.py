"""One search interface over every record type, typo-tolerant on both databases.

Domains index a small document per record (title, subtitle, searchable text) with
:func:`index_documents`. Candidates come first from the word index of titles
(:mod:`rapport.core.search_terms`: typo-corrected against a dictionary, then looked up exactly),
else from the database's trigram index over whole documents (SQLite FTS5 with the trigram
tokenizer, PostgreSQL pg_trgm word similarity); then they are re-ranked with rapidfuzz so that
a name with a typo still comes first. Raw SQL here cannot rely on the session's
workspace criteria, so every statement names the workspace itself.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz
from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    insert,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from rapport.core.clock import utcnow
from rapport.core.db import Base, table_of
from rapport.core.search_terms import candidate_documents, index_terms

CANDIDATES = 300
PG_CANDIDATES = 100  # ordered by similarity already, so fewer are needed
MIN_SCORE = 62.0


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


def normalise(value: str) -> str:
    """Lower-case, strip accents, and collapse punctuation to single spaces."""
    if not value.isascii():  # ASCII has no accents: skip the costly per-character pass
        value = unicodedata.normalize("NFKD", value)
        value = "".join(c for c in value if not unicodedata.combining(c))
    return re.sub(r"[^\w@.+]+", " ", value.lower()).strip()


def _digits_variant(part: str) -> str | None:
    digits = re.sub(r"\D", "", part)
    return digits if len(digits) >= 5 else None


def _content(parts: Iterable[str | None]) -> str:
    words: list[str] = []
    for part in parts:
        if not part:
            continue
        words.append(normalise(part))
        digits = _digits_variant(part)
        if digits and digits != part:
            words.append(digits)
    # Padding spaces give every word boundary trigrams, as pg_trgm does.
    return " " + " ".join(words) + " "


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
    index_terms(session, workspace_id, [(r[0], r[1], normalise(r[2])) for r in inserted])


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


def _sqlite_candidates(
    session: Session, workspace_id: uuid.UUID, q: str, types: Sequence[str] | None
) -> list[tuple[str, uuid.UUID, str, str | None, str]]:
    expression = _fts_expression(q)
    if expression is None:
        return []
    match = f'ws:"{workspace_id.hex}" AND content:({expression})'
    type_filter = ""
    params: dict[str, object] = {"match": match, "limit": CANDIDATES}
    if types:
        type_filter = (
            " AND d.record_type IN (" + ",".join(f":t{i}" for i in range(len(types))) + ")"
        )
        params.update({f"t{i}": t for i, t in enumerate(types)})
    rows = session.execute(
        text(
            "SELECT d.record_type, d.record_id, d.title, d.subtitle, d.content "
            "FROM search_fts JOIN search_documents d ON d.doc_id = search_fts.rowid "
            "WHERE search_fts MATCH :match" + type_filter + " ORDER BY search_fts.rank LIMIT :limit"
        ),
        params,
    ).all()
    return [(r[0], uuid.UUID(str(r[1])), r[2], r[3], r[4]) for r in rows]


def _postgres_candidates(
    session: Session, workspace_id: uuid.UUID, q: str, types: Sequence[str] | None
) -> list[tuple[str, uuid.UUID, str, str | None, str]]:
    session.execute(text("SET LOCAL pg_trgm.word_similarity_threshold = 0.3"))
    type_filter = " AND record_type = ANY(:types)" if types else ""
    rows = session.execute(
        text(
            "SELECT record_type, record_id, title, subtitle, content "
            f"FROM search_documents WHERE workspace_id = :ws AND :q <% content{type_filter} "
            "ORDER BY :q <<-> content LIMIT :limit"
        ),
        {"ws": workspace_id, "q": q, "limit": PG_CANDIDATES, "types": list(types or [])},
    ).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


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
    if not any(c.isdigit() or c == "@" for c in query):
        hits = _ranked(query, _title_candidates(session, workspace_id, query, types, limit))
    if not hits:
        if session.get_bind().dialect.name == "postgresql":
            candidates = _postgres_candidates(session, workspace_id, query, types)
        else:
            candidates = _sqlite_candidates(session, workspace_id, query, types)
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
