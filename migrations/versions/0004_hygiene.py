"""hygiene — imports, duplicates, merges

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:00:00
"""

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # reserved: the hygiene domain's tables are added here


def downgrade() -> None:
    pass
