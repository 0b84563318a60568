"""hub constraints: a domain names one live company per workspace

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "deleted_at IS NULL AND domain IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "uq_companies_ws_domain_live",
        "companies",
        ["workspace_id", "domain"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_companies_ws_domain_live", table_name="companies")
