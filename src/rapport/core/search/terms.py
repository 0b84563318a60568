"""The word index behind name search: a dictionary of the words in record titles, each word's
one-deletion variants (the SymSpell idea), and the postings (word → document).

Why: trigram indexes answer "names like *smtih*" by rechecking every document that shares a
trigram with it, which at a million people is thousands of rows per query. Correcting the typo
against the much smaller dictionary first (a typo of edit distance one shares a one-deletion
variant with the word it came from) and then reading the exact postings of the corrected
words touches only the documents that really carry them. Plain tables and B-tree indexes, so
it works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence

from rapidfuzz.distance import DamerauLevenshtein
from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    bindparam,
    column,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from rapport.core.bulk import bind_value, insert_tuples
from rapport.core.db import Base, table_of

MAX_TERM = 40  # longer "words" are codes or garbage; they are left to the trigram path
PREFIX_TERMS = 30  # completions of the last, possibly unfinished, word of a query
_WORD = re.compile(r"[^\W_]+")


class SearchTerm(Base):
    """A word that occurs in some title of the workspace (never removed: a word no document
    carries any more simply has no postings)."""

    __tablename__ = "search_terms"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(MAX_TERM), primary_key=True)


class SearchTermVariant(Base):
    """A word and each form of it with one letter deleted, pointing back to the word."""

    __tablename__ = "search_term_variants"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    variant: Mapped[str] = mapped_column(String(MAX_TERM), primary_key=True)
    term: Mapped[str] = mapped_column(String(MAX_TERM), primary_key=True)


class SearchPosting(Base):
    """One word of one document's title (the key leads with the word, so a lookup reads only
    that word's documents, of the asked record types, from the index alone)."""

    __tablename__ = "search_postings"
    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(MAX_TERM), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    doc_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("search_documents.doc_id", ondelete="CASCADE"),
        primary_key=True,
    )
    __table_args__ = (Index("ix_search_postings_doc_id", "doc_id"),)


def words(normalised: str) -> list[str]:
    """The indexable words of an already normalised text (letters required, no pure numbers)."""
    return [w for w in _WORD.findall(normalised) if 2 <= len(w) <= MAX_TERM and not w.isdigit()]


def variants(term: str) -> set[str]:
    """The word itself and every form with one letter deleted (never shorter than 2)."""
    out = {term}
    if len(term) > 2:
        out.update(term[:i] + term[i + 1 :] for i in range(len(term)))
    return out


def allowed_edits(token: str) -> int:
    """Typos tolerated in a query word: none in very short words, where one edit is a new word."""
    return 0 if len(token) < 3 else 1


def index_terms(
    session: Session, workspace_id: uuid.UUID, documents: Iterable[tuple[int, str, str]]
) -> None:
    """Post the title words of freshly inserted documents ``(doc_id, record_type, normalised
    title)``; words new to the workspace also get their variants."""
    postings: dict[tuple[str, str, int], None] = {}
    for doc_id, record_type, title in documents:
        for word in words(title):
            postings[(word, record_type, doc_id)] = None
    if not postings:
        return
    add_terms(session, workspace_id, list({word for word, _type, _doc in postings}))
    session.execute(
        table_of(SearchPosting).insert(),
        [
            {"workspace_id": workspace_id, "term": w, "record_type": t, "doc_id": d}
            for w, t, d in postings
        ],
    )


def add_terms(session: Session, workspace_id: uuid.UUID, seen: list[str]) -> None:
    """Add the words that are new to the workspace's dictionary, with their variants."""
    known: set[str] = set()
    ordered = sorted(seen)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        known.update(
            session.scalars(
                select(SearchTerm.term)
                .where(SearchTerm.workspace_id == workspace_id)
                .where(SearchTerm.term.in_(chunk))
            )
        )
    new = [w for w in ordered if w not in known]
    if not new:
        return
    terms = table_of(SearchTerm)
    ws = bind_value(session.connection(), terms.c.workspace_id, workspace_id)
    insert_tuples(
        session, terms, ("workspace_id", "term"), [(ws, w) for w in new], skip_existing=True
    )
    insert_tuples(
        session,
        table_of(SearchTermVariant),
        ("workspace_id", "variant", "term"),
        [(ws, v, w) for w in new for v in sorted(variants(w))],
        skip_existing=True,
    )


def _corrections(session: Session, workspace_id: uuid.UUID, token: str, last: bool) -> dict:
    """Dictionary words the query word may have meant, each with its rank (0 = as typed,
    1 = one typo away, 2 = a completion of an unfinished last word)."""
    found: dict[str, int] = {}
    edits = allowed_edits(token)
    probe = sorted(variants(token)) if edits else [token]
    for variant_term in session.scalars(
        select(SearchTermVariant.term)
        .where(SearchTermVariant.workspace_id == workspace_id)
        .where(SearchTermVariant.variant.in_(probe))
    ):
        distance = DamerauLevenshtein.distance(token, variant_term, score_cutoff=edits)
        if distance <= edits:
            found[variant_term] = min(found.get(variant_term, 9), distance)
    if last:
        upper = token[:-1] + chr(ord(token[-1]) + 1)
        for completion in session.scalars(
            select(SearchTerm.term)
            .where(SearchTerm.workspace_id == workspace_id)
            .where(SearchTerm.term >= token)
            .where(SearchTerm.term < upper)
            .order_by(SearchTerm.term)
            .limit(PREFIX_TERMS)
        ):
            found.setdefault(completion, 2)
    return found


Candidate = tuple[str, uuid.UUID, str, str | None]  # record type, record id, title, subtitle

# Several words: the documents of the word with the fewest postings are read (at most
# DRIVER_POSTINGS of them) and the other words are joined to them, or, for an unfinished last
# word with many common completions, checked on each of them through the doc_id index; so the
# cost follows the rarest word, not the sum of every word's postings ("amanda jo…" at a
# million people: 5,000 checks instead of grouping 97,000 postings). Words are counted up to
# SIZE_CAP postings to choose; when every word is that common, only the first
# DRIVER_POSTINGS documents of one of them are searched: the closest answers may then be
# missed, and a longer query finds them.
SIZE_CAP = 20000
JOIN_SPELLINGS = 3
DRIVER_POSTINGS = 6000


def candidate_documents(
    session: Session,
    workspace_id: uuid.UUID,
    query: str,
    types: Sequence[str] | None,
    limit: int,
) -> list[Candidate] | None:
    """Documents whose titles hold every word of ``query`` (each possibly with one typo, the
    last possibly unfinished), the closest first; ``None`` when the query has no indexable word."""
    tokens = list(dict.fromkeys(words(query)))
    if not tokens:
        return None
    wanted: list[tuple[str, int, int]] = []
    for position, token in enumerate(tokens):
        corrections = _corrections(session, workspace_id, token, position == len(tokens) - 1)
        if not corrections:
            return []
        wanted.extend((term, position, rank) for term, rank in corrections.items())
    if len(tokens) > 1:
        # Several words, as typed: when their exact spellings alone fill the page, they are
        # the closest answers (rank 0 comes first), and the typo spellings of common words
        # (thousands of postings each) need not be read at all.
        exact = [w for w in wanted if w[2] == 0]
        if len(exact) < len(wanted) and len({position for _t, position, _r in exact}) == len(
            tokens
        ):
            found = _documents(session, workspace_id, exact, len(tokens), types, limit)
            if len(found) >= limit:
                return found
    return _documents(session, workspace_id, wanted, len(tokens), types, limit)


def _documents(
    session: Session,
    workspace_id: uuid.UUID,
    wanted: list[tuple[str, int, int]],
    n_tokens: int,
    types: Sequence[str] | None,
    limit: int,
) -> list[Candidate]:
    """The documents holding one of the ``wanted`` spellings of each of the query's words."""
    params: dict[str, object] = {"ws": workspace_id, "limit": limit}
    params.update({f"t{i}": term for i, (term, _position, _rank) in enumerate(wanted)})
    type_filter = ""
    if types:
        type_filter = " AND p.record_type IN (" + ", ".join(f":rt{i}" for i in range(len(types)))
        type_filter += ")"
        params.update({f"rt{i}": t for i, t in enumerate(types)})
    if n_tokens == 1:
        # One word: read each corrected word's postings in index order and stop at the limit,
        # however common the word is.
        matches = " UNION ALL ".join(
            f"SELECT * FROM (SELECT p.doc_id, {rank} AS rank FROM search_postings p "
            f"WHERE p.workspace_id = :ws AND p.term = :t{i}{type_filter} LIMIT :limit) m{i}"
            for i, (_term, _position, rank) in enumerate(wanted)
        )
    else:
        matches = _all_words(session, params, wanted, n_tokens, type_filter)
    # The closest documents are chosen before their titles are read: one lookup per answer.
    statement = text(
        "SELECT d.record_type, d.record_id, d.title, d.subtitle, c.best "
        f"FROM (SELECT m.doc_id, MIN(m.rank) AS best FROM ({matches}) m GROUP BY m.doc_id "
        "ORDER BY best, m.doc_id LIMIT :limit) c JOIN search_documents d ON d.doc_id = c.doc_id "
        "ORDER BY c.best, d.doc_id"
    ).bindparams(bindparam("ws", type_=Uuid))
    typed = statement.columns(
        column("record_type", String),
        column("record_id", Uuid),
        column("title", String),
        column("subtitle", String),
        column("best", Integer),
    )
    return [(r[0], r[1], r[2], r[3]) for r in session.execute(typed, params)]


def _all_words(
    session: Session,
    params: dict[str, object],
    wanted: list[tuple[str, int, int]],
    n_tokens: int,
    type_filter: str,
) -> str:
    """The SQL of (doc_id, rank) for the documents holding one spelling of every word."""

    def terms(position: int) -> str:
        return ", ".join(f":t{i}" for i, (_t, p, _r) in enumerate(wanted) if p == position)

    def rank_of(position: int) -> str:  # a posting's rank, by its term
        whens = " ".join(
            f"WHEN :t{i} THEN {rank}" for i, (_t, p, rank) in enumerate(wanted) if p == position
        )
        return f"CASE p.term {whens} END"

    def postings(position: int, limit: str = "") -> str:  # (doc_id, rank) of one word
        return (
            f"SELECT p.doc_id, {rank_of(position)} AS rank FROM search_postings p "
            f"WHERE p.workspace_id = :ws AND p.term IN ({terms(position)}){type_filter}{limit}"
        )

    counts = " UNION ALL ".join(
        f"SELECT {position} AS token, COUNT(*) AS n FROM ("
        f"{postings(position, f' LIMIT {SIZE_CAP}')}) s{position}"
        for position in range(n_tokens)
    )
    counted = text(counts).bindparams(bindparam("ws", type_=Uuid))
    sizes: dict[int, int] = {row[0]: row[1] for row in session.execute(counted, params)}
    driver = min(range(n_tokens), key=lambda position: (sizes.get(position, 0), position))
    others = [position for position in range(n_tokens) if position != driver]
    # A word with few postings, or few spellings, is read whole and joined (a hash join: a
    # few milliseconds for tens of thousands of postings); a common word with many spellings
    # (the completions of an unfinished last word) is checked on each driving document
    # through the doc_id index instead.
    spelled = {o: sum(1 for _t, p, _r in wanted if p == o) for o in others}
    joined = [o for o in others if sizes.get(o, 0) < SIZE_CAP or spelled[o] <= JOIN_SPELLINGS]
    probed = [o for o in others if o not in joined]
    joins = "".join(
        f" JOIN (SELECT j.doc_id, MIN(j.rank) AS rank FROM ({postings(o)}) j "
        f"GROUP BY j.doc_id) o{o} ON o{o}.doc_id = x.doc_id"
        for o in joined
    )
    checks = "".join(
        f", (SELECT MIN({rank_of(o)}) FROM search_postings p WHERE p.doc_id = x.doc_id "
        f"AND p.workspace_id = :ws AND p.term IN ({terms(o)})) AS r{o}"
        for o in probed
    )
    total = " + ".join(["x.rank", *(f"o{o}.rank" for o in joined)])
    found = "".join(f" AND c.r{o} IS NOT NULL" for o in probed)
    return (
        f"SELECT c.doc_id, c.rank{''.join(f' + c.r{o}' for o in probed)} AS rank FROM ("
        f"SELECT x.doc_id, {total} AS rank{checks} FROM ("
        f"SELECT d0.doc_id, MIN(d0.rank) AS rank FROM ("
        f"{postings(driver, f' LIMIT {DRIVER_POSTINGS}')}) d0 GROUP BY d0.doc_id) x{joins}"
        f") c WHERE TRUE{found}"
    )
