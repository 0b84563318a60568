"""lists — an index behind every sortable column of the people, companies and deals lists,
and the done tasks' order (most recently done first)

Each is (workspace_id, <column>, id), the keyset order the shared list reads, so a sort by any
column shown is an index scan. The email and domain indexes gain the id tiebreaker; they serve
the same look-ups as before.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW = (
    ("ix_people_ws_phone", "people", "phone"),
    ("ix_people_ws_job_title", "people", "job_title"),
    ("ix_people_ws_stage_id", "people", "lifecycle_stage"),
    ("ix_people_ws_source", "people", "source"),
    ("ix_companies_ws_industry", "companies", "industry"),
    ("ix_companies_ws_size", "companies", "size"),
    ("ix_companies_ws_phone", "companies", "phone"),
    ("ix_companies_ws_updated", "companies", "updated_at"),
    ("ix_deals_ws_title", "deals", "title"),
    ("ix_tasks_ws_done", "tasks", "done_at"),
    ("ix_tasks_ws_created", "tasks", "created_at"),
)
WIDENED = (
    ("ix_people_ws_email", "people", "email"),
    ("ix_companies_ws_domain", "companies", "domain"),
)


def upgrade() -> None:
    for name, table, column in NEW:
        op.create_index(name, table, ["workspace_id", column, "id"])
    for name, table, column in WIDENED:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ["workspace_id", column, "id"])


def downgrade() -> None:
    for name, table, column in WIDENED:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ["workspace_id", column])
    for name, table, _column in reversed(NEW):
        op.drop_index(name, table_name=table)
