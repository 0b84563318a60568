"""hygiene — what an import holds (people or companies), and companies' external ids

Revision ID: 0015
Revises: 0010
Create Date: 2026-11-24 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(
            sa.Column("object", sa.String(length=20), nullable=False, server_default="person")
        )
    op.create_table(
        "company_external_ids",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_external_ids")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_company_external_ids_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_company_external_ids_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "workspace_id",
            "external_id",
            name=op.f("uq_company_external_ids_workspace_id_external_id"),
        ),
    )
    op.create_index("ix_company_external_ids_company", "company_external_ids", ["company_id"])


def downgrade() -> None:
    op.drop_index("ix_company_external_ids_company", table_name="company_external_ids")
    op.drop_table("company_external_ids")
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("object")
