"""search index — the FTS5 table files a document under a 3-character workspace bucket

SQLite's trigram index carried each document's workspace id as 32 hex digits: thirty
trigrams per document, a third of the whole index and of what indexing a document costs. It
now carries the id's first three hex digits (one trigram, 4,096 buckets), which still narrows
a search to the few workspaces sharing them; ``rapport.core.search`` keeps the exact workspace
by joining ``search_documents``. The index is rebuilt. PostgreSQL is unchanged.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _rebuild("substr(replace({row}workspace_id, '-', ''), 1, 3)")


def downgrade() -> None:
    _rebuild("replace({row}workspace_id, '-', '')")


def _rebuild(ws: str) -> None:
    """Recreate the FTS5 table, its delete and update triggers and its content, with ``ws``
    (a SQL expression of the document's ``workspace_id``) as the workspace column."""
    if op.get_bind().dialect.name != "sqlite":
        return
    old, new = ws.format(row="old."), ws.format(row="new.")
    op.execute("DROP TRIGGER IF EXISTS search_documents_ad")
    op.execute("DROP TRIGGER IF EXISTS search_documents_au")
    op.execute("DROP TABLE IF EXISTS search_fts")
    op.execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5(ws, content, tokenize='trigram', "
        "content='search_documents', content_rowid='doc_id')"
    )
    op.execute(
        "INSERT INTO search_fts(rowid, ws, content) "
        f"SELECT doc_id, {ws.format(row='')}, content FROM search_documents"
    )
    op.execute(
        "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
        "INSERT INTO search_fts(search_fts, rowid, ws, content) "
        f"VALUES ('delete', old.doc_id, {old}, old.content); END"
    )
    op.execute(
        "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
        "INSERT INTO search_fts(search_fts, rowid, ws, content) "
        f"VALUES ('delete', old.doc_id, {old}, old.content); "
        f"INSERT INTO search_fts(rowid, ws, content) VALUES (new.doc_id, {new}, new.content); END"
    )
