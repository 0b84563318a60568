"""hygiene — settings, person flags (inactive, bounced), company duplicates and merges

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 23:40:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
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
        "hygiene_settings",
        *_scoped("hygiene_settings"),
        sa.Column("inactive_days", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_hygiene_settings_workspace_id")),
    )
    op.create_table(
        "person_flags",
        *_scoped("person_flags"),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("inactive_since", TS, nullable=True),
        sa.Column("bounced_email", sa.String(length=320), nullable=True),
        sa.Column("bounced_at", TS, nullable=True),
        _fk("person_flags", "person_id", "people", "CASCADE"),
        sa.UniqueConstraint(
            "workspace_id", "person_id", name=op.f("uq_person_flags_workspace_id_person_id")
        ),
    )
    op.create_index(
        "ix_person_flags_ws_inactive", "person_flags", ["workspace_id", "inactive_since"]
    )
    op.create_table(
        "company_duplicate_candidates",
        *_scoped("company_duplicate_candidates"),
        sa.Column("company_a", sa.Uuid(), nullable=False),
        sa.Column("company_b", sa.Uuid(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _fk("company_duplicate_candidates", "company_a", "companies", "CASCADE"),
        _fk("company_duplicate_candidates", "company_b", "companies", "CASCADE"),
        _fk("company_duplicate_candidates", "decided_by", "users", "SET NULL"),
        sa.UniqueConstraint(
            "workspace_id",
            "company_a",
            "company_b",
            name=op.f("uq_company_duplicate_candidates_workspace_id_company_a_company_b"),
        ),
    )
    op.create_index(
        "ix_company_duplicates_ws_status",
        "company_duplicate_candidates",
        ["workspace_id", "status", "probability"],
    )
    op.create_table(
        "company_merges",
        *_scoped("company_merges"),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("snapshot", JSON, nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("merged_at", TS, nullable=False),
        sa.Column("undone_at", TS, nullable=True),
        _fk("company_merges", "survivor_id", "companies", "CASCADE"),
        _fk("company_merges", "merged_id", "companies", "CASCADE"),
        _fk("company_merges", "actor_id", "users", "SET NULL"),
    )
    op.create_index(
        "ix_company_merges_ws_merged_at", "company_merges", ["workspace_id", "merged_at"]
    )


def downgrade() -> None:
    for table in ("company_merges", "company_duplicate_candidates", "person_flags",
                  "hygiene_settings"):  # fmt: skip
        op.drop_table(table)
