"""Alembic, driven from code: the one upgrade path, and the check that refuses a stale schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


# Made by raw SQL in migrations (dialect-specific search and JSON indexes), not by the models.
UNMODELLED = (
    "search_fts",
    "ix_search_documents_content_trgm",
    "ix_search_documents_title_trgm",
    "ix_people_custom_gin",
    "ix_companies_custom_gin",
    "ix_deals_custom_gin",
)


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic's filter: leave the hand-made objects out of model comparisons."""
    return not (name or "").startswith(UNMODELLED)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest) in one transaction per step."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_problem(engine: Engine) -> str | None:
    """None when the database is at the migration head, else a sentence saying what to do."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return None
    if current is None:
        return "The database has no Rapport schema yet; run 'rapport migrate' (or 'rapport init')."
    return (
        f"The database schema is at {current} but this release needs {head}; run 'rapport migrate'."
    )
