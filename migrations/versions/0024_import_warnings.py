"""hygiene — lenient imports: problems that kept their row are warnings, not rejects

``import_rejects.level``: ``error`` (the row was refused) or ``warning`` (the row went in with
that field left empty, or kept with a doubt). ``import_jobs.lenient``: the job keeps rows whose
values fail a check; ``import_jobs.warned``: how many rows went in with a warning.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_rejects") as batch:
        batch.add_column(
            sa.Column("level", sa.String(length=10), server_default="error", nullable=False)
        )
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(
            sa.Column("lenient", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("warned", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("warned")
        batch.drop_column("lenient")
    with op.batch_alter_table("import_rejects") as batch:
        batch.drop_column("level")
