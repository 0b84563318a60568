"""hygiene — the data-quality report of a large workspace, counted in the background

``quality_snapshots``: one row per workspace, the last report and when it was counted. The
quality page of a workspace with many people shows it (and asks for a fresh count when it is
old) instead of counting a million rows while the user waits.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "quality_snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_snapshots")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_quality_snapshots_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_quality_snapshots_workspace_id")),
    )


def downgrade() -> None:
    op.drop_table("quality_snapshots")
