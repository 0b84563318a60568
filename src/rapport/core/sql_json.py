"""A record's child rows as one JSON array inside the record's own SELECT, on both databases.

Loading a person with their emails, phones and tags took four queries (the row, then one
``selectinload`` per collection), each paid for in ORM work. :func:`json_rows` is a correlated
subquery that answers the children in the same row instead: PostgreSQL aggregates them with
``json_agg(json_build_object(...))``, SQLite with ``json_group_array(json_object(...))``.
The column is typed JSON, so the children come back as a list of dicts on both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, ColumnElement, ScalarSelect, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")


class _JsonObject(FunctionElement[Any]):
    """``{"key": value, ...}`` of one row."""

    type = JSON()
    inherit_cache = True


class _JsonArrayAgg(FunctionElement[Any]):
    """The rows' objects as one JSON array; ``[]`` when there are none."""

    type = JSON()
    inherit_cache = True


@compiles(_JsonObject)
def _object_sqlite(element: _JsonObject, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


@compiles(_JsonObject, "postgresql")
def _object_postgresql(element: _JsonObject, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(_JsonArrayAgg)
def _array_sqlite(element: _JsonArrayAgg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"  # [] over no rows


@compiles(_JsonArrayAgg, "postgresql")
def _array_postgresql(element: _JsonArrayAgg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"coalesce(json_agg({compiler.process(element.clauses, **kw)}), '[]'::json)"


def json_rows(fields: Mapping[str, ColumnElement[Any]], *where: Any) -> ScalarSelect[Any]:
    """A correlated subquery: the rows ``where`` finds, each as an object of ``fields``
    (key: column), in one JSON array. In no particular order: sort the list once loaded."""
    pairs: list[ColumnElement[Any]] = []
    for key, column in fields.items():
        if not _KEY.match(key):
            raise ValueError(f"JSON key {key!r} must be a plain identifier")
        pairs += [literal_column(f"'{key}'"), column]
    return select(_JsonArrayAgg(_JsonObject(*pairs))).where(*where).scalar_subquery()
