"""sales — a lead form may send the visitor on to a page of its site after submitting

``lead_forms.redirect_url``: where a browser goes after posting the form as plain HTML (http or
https, on one of the form's allowed sites); none keeps the JSON answer.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_forms") as batch:
        batch.add_column(sa.Column("redirect_url", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_forms") as batch:
        batch.drop_column("redirect_url")
