"""search: a word index of titles (dictionary, one-deletion variants, postings) for name search

Revision ID: 0013
Revises: 0006
Create Date: 2026-11-23 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0013"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 20_000


def upgrade() -> None:
    op.create_table(
        "search_terms",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_search_terms_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "term", name=op.f("pk_search_terms")),
    )
    op.create_table(
        "search_term_variants",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("variant", sa.String(length=40), nullable=False),
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_search_term_variants_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "variant", "term", name=op.f("pk_search_term_variants")
        ),
    )
    op.create_table(
        "search_postings",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.Column("record_type", sa.String(length=30), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_id"],
            ["search_documents.doc_id"],
            name=op.f("fk_search_postings_doc_id_search_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "term", "record_type", "doc_id", name=op.f("pk_search_postings")
        ),
    )
    with op.batch_alter_table("search_postings", schema=None) as batch_op:
        batch_op.create_index("ix_search_postings_doc_id", ["doc_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Titles are now searched through the word index; its trigram index only cost writes.
        op.execute("DROP INDEX IF EXISTS ix_search_documents_title_trgm")
    _backfill()


def _backfill() -> None:
    """Index the titles of the documents that exist already, in batches."""
    from rapport.core.search import normalise
    from rapport.core.search.terms import index_terms

    bind = op.get_bind()
    session = Session(bind=bind)
    documents = sa.table(
        "search_documents",
        sa.column("doc_id", sa.Integer),
        sa.column("workspace_id", sa.Uuid),
        sa.column("record_type", sa.String),
        sa.column("title", sa.String),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(
                documents.c.doc_id,
                documents.c.workspace_id,
                documents.c.record_type,
                documents.c.title,
            )
            .where(documents.c.doc_id > last)
            .order_by(documents.c.doc_id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        by_workspace: dict = {}
        for doc_id, workspace_id, record_type, title in rows:
            by_workspace.setdefault(workspace_id, []).append(
                (doc_id, record_type, normalise(title))
            )
        for workspace_id, docs in by_workspace.items():
            index_terms(session, workspace_id, docs)
        session.flush()
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_search_documents_title_trgm ON search_documents "
            "USING gin (title gin_trgm_ops)"
        )
    with op.batch_alter_table("search_postings", schema=None) as batch_op:
        batch_op.drop_index("ix_search_postings_doc_id")
    op.drop_table("search_postings")
    op.drop_table("search_term_variants")
    op.drop_table("search_terms")
