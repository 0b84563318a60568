"""hygiene — imports, duplicates, merges

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _scoped(table: str) -> list[Any]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        _fk(table, "workspace_id", "workspaces", "CASCADE"),
    ]


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        *_scoped("import_jobs"),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=True),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("mapping", JSON, nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=True),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _fk("import_jobs", "actor_id", "users", "SET NULL"),
    )
    op.create_index("ix_import_jobs_ws_created", "import_jobs", ["workspace_id", "created_at"])
    op.create_table(
        "import_rejects",
        *_scoped("import_rejects"),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        _fk("import_rejects", "import_id", "import_jobs", "CASCADE"),
    )
    op.create_index("ix_import_rejects_import_line", "import_rejects", ["import_id", "line"])
    op.create_table(
        "duplicate_candidates",
        *_scoped("duplicate_candidates"),
        sa.Column("person_a", sa.Uuid(), nullable=False),
        sa.Column("person_b", sa.Uuid(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _fk("duplicate_candidates", "person_a", "people", "CASCADE"),
        _fk("duplicate_candidates", "person_b", "people", "CASCADE"),
        _fk("duplicate_candidates", "decided_by", "users", "SET NULL"),
        sa.UniqueConstraint(
            "workspace_id",
            "person_a",
            "person_b",
            name=op.f("uq_duplicate_candidates_workspace_id_person_a_person_b"),
        ),
    )
    op.create_index(
        "ix_duplicate_candidates_ws_status",
        "duplicate_candidates",
        ["workspace_id", "status", "probability"],
    )
    op.create_table(
        "merges",
        *_scoped("merges"),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("snapshot", JSON, nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("merged_at", TS, nullable=False),
        sa.Column("undone_at", TS, nullable=True),
        _fk("merges", "survivor_id", "people", "CASCADE"),
        _fk("merges", "merged_id", "people", "CASCADE"),
        _fk("merges", "actor_id", "users", "SET NULL"),
    )
    op.create_index("ix_merges_ws_merged_at", "merges", ["workspace_id", "merged_at"])


def downgrade() -> None:
    for table in ("merges", "duplicate_candidates", "import_rejects", "import_jobs"):
        op.drop_table(table)
