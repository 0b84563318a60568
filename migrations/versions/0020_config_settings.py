"""hub, sales — settings pages: archived custom fields and stages, ordered scoring rules,
the fields a lead form asks for, custom fields on deals

A custom field or a stage is archived (hidden from forms, lists and the board, its data kept)
rather than deleted; scoring rules get a position so the settings page keeps the order an
admin gives them; a lead form keeps which optional fields its embed snippet asks for (the
email always). Plain ADD COLUMNs: no table is rebuilt.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "deals",
        sa.Column(
            "custom",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
    )
    if op.get_bind().dialect.name == "postgresql":  # as people's and companies' custom values
        op.execute("CREATE INDEX ix_deals_custom_gin ON deals USING gin (custom jsonb_path_ops)")
    op.add_column(
        "custom_field_definitions",
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("stages", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "scoring_rules",
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "lead_forms",
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            server_default=sa.text('\'["first_name", "last_name"]\''),
        ),
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_deals_custom_gin")
    op.drop_column("deals", "custom")
    op.drop_column("lead_forms", "fields")
    op.drop_column("scoring_rules", "position")
    op.drop_column("stages", "archived_at")
    op.drop_column("custom_field_definitions", "archived_at")
