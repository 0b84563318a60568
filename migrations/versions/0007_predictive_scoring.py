"""sales: predictive lead-scoring models and the probability next to each stored score

Revision ID: 0007
Revises: 0011
Create Date: 2026-11-23 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scoring_models",
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("algorithm", sa.String(length=100), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("importances", JSON, nullable=False),
        sa.Column("auc", sa.Float(), nullable=True),
        sa.Column("rules_auc", sa.Float(), nullable=True),
        sa.Column("closed_deals", sa.Integer(), nullable=False),
        sa.Column("won", sa.Integer(), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.Column("train_size", sa.Integer(), nullable=False),
        sa.Column("test_size", sa.Integer(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trained_by", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trained_by"],
            ["users.id"],
            name=op.f("fk_scoring_models_trained_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_scoring_models_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_models")),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_scoring_models_workspace_id")),
    )
    with op.batch_alter_table("lead_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("probability", sa.Float(), nullable=True))
        batch_op.create_index(
            "ix_lead_scores_ws_score", ["workspace_id", "score", "person_id"], unique=False
        )
        batch_op.create_index(
            "ix_lead_scores_ws_probability",
            ["workspace_id", "probability", "person_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("lead_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_scores_ws_probability")
        batch_op.drop_index("ix_lead_scores_ws_score")
        batch_op.drop_column("probability")
    op.drop_table("scoring_models")
