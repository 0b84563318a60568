"""accounts — a membership can be deactivated; a password change ends older browser sessions

``memberships.deactivated_at``: a deactivated member keeps their history (owner of records,
author of activities) but no session or token of theirs works in that workspace any more.
``users.password_changed_at``: the session cookie carries it (its epoch); a cookie signed
before the last password change is refused.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "memberships", sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "users", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("deactivated_at")
