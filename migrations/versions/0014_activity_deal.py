"""timeline: an activity may be about a deal (the deal page's own timeline)

Revision ID: 0014
Revises: 0010
Create Date: 2026-11-24 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deal_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_activities_deal_id_deals"), "deals", ["deal_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(
            "ix_activities_ws_deal_time", ["workspace_id", "deal_id", "occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_ws_deal_time")
        batch_op.drop_constraint(op.f("fk_activities_deal_id_deals"), type_="foreignkey")
        batch_op.drop_column("deal_id")
