"""instance settings — a random session key generated for each database

Every release before this one signed session cookies with a public default key unless the
operator set RAPPORT_SECRET_KEY, so anyone could forge an owner's cookie. This table keeps the
install's own values; the upgrade stores a fresh random key in it, so a new database
(``rapport init``, ``rapport demo``) and an upgraded one (``rapport migrate``) both get one.
Upgraded installs sign everyone out once, which is the point. Why the database and not a
file: see ``rapport.core.instance``.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 06:00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "instance_settings",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instance_settings")),
    )
    op.bulk_insert(table, [{"name": "secret_key", "value": secrets.token_urlsafe(48)}])


def downgrade() -> None:
    op.drop_table("instance_settings")
