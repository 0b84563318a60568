"""Alembic environment: the URL comes from Rapport's settings (or the caller's connection)."""

from alembic import context
from sqlalchemy import Connection

from rapport.core.db import get_database
from rapport.core.migrations import include_name
from rapport.models import Base

target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with get_database().engine.connect() as conn:
        run(conn)
        conn.commit()
