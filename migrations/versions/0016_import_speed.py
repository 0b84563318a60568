"""import speed — the search index of new documents is written by core.search in bulk

On SQLite the FTS5 trigram index was kept in step with ``search_documents`` by an AFTER INSERT
trigger, fired once per row: three times the cost of indexing a whole batch with one
``INSERT INTO search_fts … SELECT``, which ``rapport.core.search`` now does itself (the delete
and update triggers stay). PostgreSQL's index is an ordinary GIN index: nothing changes there.

Revision ID: 0016
Revises: 0010
Create Date: 2026-11-24 02:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS search_documents_ai")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
        "INSERT INTO search_fts(rowid, ws, content) "
        "VALUES (new.doc_id, replace(new.workspace_id, '-', ''), new.content); END"
    )
