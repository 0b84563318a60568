"""Fast multi-row inserts in the session's transaction: ``COPY … FROM STDIN`` on PostgreSQL,
one ``executemany`` on SQLite. Generic (any table), so core's search index and every domain's
bulk paths share them; the people-specific bulk upsert lives in ``hub.service.bulk``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Connection, Table, insert
from sqlalchemy.orm import Session

COPY_FROM = 200  # rows: below this a multi-row INSERT is as quick as COPY


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many plain rows (same keys each) in the session's transaction, the fastest way
    the database offers: ``COPY … FROM STDIN`` on PostgreSQL, one executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        session.execute(insert(table), rows)
        return
    from psycopg.types.json import Jsonb  # PostgreSQL only

    names = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    wrap = [name in json_columns for name in names]
    columns = ", ".join(f'"{n}"' for n in names)
    driver: Any = connection.connection.driver_connection  # a psycopg 3 connection
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(
                [Jsonb(row[n]) if w else row[n] for n, w in zip(names, wrap, strict=True)]
            )


def bind_value(connection: Connection, column: Column[Any], value: Any) -> Any:
    """``value`` as the driver is given it for ``column`` (the column type's own conversion:
    a UTC instant as SQLite's text, a boolean as 0/1…): for constants of :func:`insert_tuples`."""
    processor = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    return processor(value) if processor else value


def insert_tuples(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    constants: Sequence[tuple[str, Any]] = (),
    skip_existing: bool = False,
) -> None:
    """Insert many rows given as tuples in ``columns`` order, with values the driver takes
    as they are on both databases: text, numbers, ``None``, ids as 32 hex digits, JSON as
    text, and constants converted once with :func:`bind_value`. Plain driver calls (no
    per-row parameter processing): ``COPY … FROM STDIN`` on PostgreSQL, one
    ``executemany`` on SQLite — in the session's transaction. ``constants``: more columns,
    with the same value for every row (given once, in :func:`bind_value` form, and written
    into the statement on SQLite, so rows need not carry them). ``skip_existing``: rows whose
    key exists already are left out (``ON CONFLICT DO NOTHING``, an ``executemany`` on both)."""
    if not rows:
        return
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    names = ", ".join(f'"{n}"' for n in [*columns, *(name for name, _ in constants)])
    postgres = connection.dialect.name == "postgresql"
    if postgres and constants:
        tail = tuple(_as_text(value) for _, value in constants)
        rows = [row + tail for row in rows]
    if postgres and not skip_existing:
        with (
            driver.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["%s" if postgres else "?"] * len(columns))
    if constants and not postgres:
        marks += "".join(f", {_sql_literal(value)}" for _, value in constants)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    if skip_existing:
        sql += " ON CONFLICT DO NOTHING"
    cursor = driver.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _as_text(value: Any) -> Any:
    """A PostgreSQL constant as text, rendered once: psycopg renders a datetime or a UUID anew
    for every row it sends, at several times the cost of a string (the server reads the text
    as the column's type)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _sql_literal(value: Any) -> str:
    """A constant as SQL text (SQLite): NULL, a number, or a quoted string."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")
