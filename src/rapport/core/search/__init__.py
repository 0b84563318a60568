"""Full-text search over every record type (see :mod:`.index`; typo-corrected terms in
:mod:`.terms`). Call sites import from ``rapport.core.search``: the public names of
:mod:`.index` are re-exported here."""

from __future__ import annotations

from rapport.core.search.index import (
    CANDIDATES,
    FTS_BUCKET,
    MIN_SCORE,
    PG_CANDIDATES,
    Document,
    Hit,
    PreparedDocument,
    SearchDocument,
    index_documents,
    index_prepared,
    normalise,
    prepare_document,
    remove_documents,
    search,
    search_page,
)

__all__ = [
    "CANDIDATES",
    "FTS_BUCKET",
    "MIN_SCORE",
    "PG_CANDIDATES",
    "Document",
    "Hit",
    "PreparedDocument",
    "SearchDocument",
    "index_documents",
    "index_prepared",
    "normalise",
    "prepare_document",
    "remove_documents",
    "search",
    "search_page",
]
