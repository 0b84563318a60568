"""sales — a deal's external id (its id in the system it came from), unique in the workspace

A deals import matches rows on it, so importing the same file again updates its deals instead
of adding them twice. A plain ADD COLUMN and a partial unique index: rebuilding ``deals`` (a
batch operation on SQLite) would drop the table its stage history cascades from.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRESENT = "external_id IS NOT NULL"


def upgrade() -> None:
    op.add_column("deals", sa.Column("external_id", sa.String(length=200), nullable=True))
    op.create_index(
        "uq_deals_ws_external",
        "deals",
        ["workspace_id", "external_id"],
        unique=True,
        sqlite_where=sa.text(PRESENT),
        postgresql_where=sa.text(PRESENT),
    )


def downgrade() -> None:
    op.drop_index("uq_deals_ws_external", table_name="deals")
    op.drop_column("deals", "external_id")
