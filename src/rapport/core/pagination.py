"""Keyset (cursor) pagination for SQLAlchemy ``select()``, alike on SQLite and PostgreSQL.

A list is ordered by the requested sort keys and then by the id, in the direction of the last
key, so the order is total. The cursor is the last row's sort values plus its id, tagged by type,
as JSON in URL-safe base64. The next page is the rows strictly after it, found with the expanded
predicate ``(a > x) OR (a = x AND b < y) OR (a = x AND b = y AND id > z)``, which stays correct
when directions are mixed. One row more than the limit is fetched to learn whether there are
more; a list never counts.

NULLs sort after every value ascending and before every value descending. That is PostgreSQL's
default, so a plain btree index serves both directions; it is spelled out as NULLS LAST/FIRST so
SQLite agrees. Whether a sort column can be NULL is read from the column; set
``SortKey.nullable=True`` for a NOT NULL column reached through an outer join.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, false, literal, or_
from sqlalchemy.orm import Session

from rapport.core.errors import BadRequest, invalid

T = TypeVar("T")

MAX_CURSOR_CHARS = 4096
MAX_SORT_KEYS = 5
BAD_CURSOR = "cursor is not valid for this list"
_INT64 = 2**63


@dataclass
class SortKey:
    """One ORDER BY term; ``name`` is the attribute read from a row to build the cursor."""

    name: str
    column: SQLColumnExpression[Any]
    descending: bool = False
    nullable: bool | None = None  # None: read it from the column

    @property
    def is_nullable(self) -> bool:
        if self.nullable is not None:
            return self.nullable
        expression = getattr(self.column, "expression", self.column)
        return bool(getattr(expression, "nullable", True))


@dataclass
class Page(Generic[T]):
    """One page of a list and the cursor that continues it (None on the last page)."""

    items: list[T]
    next_cursor: str | None
    has_more: bool


def _tag(value: Any) -> list[Any]:
    # bool before int (bool is an int), datetime before date (datetime is a date).
    if value is None:
        return ["n"]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", int(value)]
    if isinstance(value, float):
        return ["f", repr(value)]
    if isinstance(value, Decimal):
        return ["d", str(value)]
    if isinstance(value, str):
        return ["s", str(value)]
    if isinstance(value, uuid.UUID):
        return ["u", value.hex]
    if isinstance(value, datetime):
        if value.tzinfo is None:  # the database layer refuses naive times; so do cursors
            raise TypeError("a naive datetime cannot go in a cursor")
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["D", value.isoformat()]
    raise TypeError(f"a {type(value).__name__} cannot go in a cursor")


def _is_sane(number: Decimal) -> bool:
    # NaN or 1E+999999 would reach the database and fail there, as a 500.
    return number.is_finite() and abs(number.adjusted()) < 100


def _untag(item: Any) -> Any:
    match item:
        case ["n"]:
            return None
        case ["b", bool() as flag]:
            return flag
        case ["i", int() as number] if not isinstance(number, bool) and abs(number) < _INT64:
            return number
        case ["f", str() as text] if math.isfinite(float(text)):
            return float(text)
        case ["d", str() as text] if _is_sane(Decimal(text)):
            return Decimal(text)
        case ["s", str() as text]:
            return text
        case ["u", str() as text]:
            return uuid.UUID(hex=text)
        case ["t", str() as text] if datetime.fromisoformat(text).tzinfo is not None:
            return datetime.fromisoformat(text)
        case ["D", str() as text]:
            return date.fromisoformat(text)
    raise ValueError("unknown cursor item")


def encode_cursor(values: list[Any]) -> str:
    """Opaque, URL-safe cursor for a row's sort values; types survive the round trip."""
    raw = json.dumps([_tag(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, n: int) -> list[Any]:
    """The ``n`` values inside a cursor; anything malformed or tampered is a BadRequest."""
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise BadRequest(BAD_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        items = json.loads(raw)
        if not isinstance(items, list) or len(items) != n:
            raise ValueError("wrong number of values")
        return [_untag(item) for item in items]
    except (ValueError, TypeError, ArithmeticError, binascii.Error, RecursionError) as exc:
        # ValueError covers JSON, base64, unicode and ISO-date errors; ArithmeticError Decimal's.
        raise BadRequest(BAD_CURSOR) from exc


def parse_sort(
    sort: str | None, allowed: Mapping[str, SQLColumnExpression[Any]], default: str
) -> list[SortKey]:
    """Turn ``"stage,-created_at"`` into sort keys, refusing names the list does not offer."""
    spec = (sort or "").strip() or default
    parts = [part.strip() for part in spec.split(",")]
    if len(parts) > MAX_SORT_KEYS:
        raise invalid(("sort",), f"sort by at most {MAX_SORT_KEYS} fields")
    keys: list[SortKey] = []
    for part in parts:
        descending = part.startswith("-")
        name = part[1:] if descending else part
        if name not in allowed:
            shown = f"'{name}'" if name else "an empty name"
            raise invalid(
                ("sort",), f"cannot sort by {shown}; choose from: {', '.join(sorted(allowed))}"
            )
        if any(key.name == name for key in keys):
            raise invalid(("sort",), f"'{name}' appears more than once in sort")
        keys.append(SortKey(name, allowed[name], descending))
    return keys


def _signature(sort: list[SortKey]) -> str:
    return ",".join(("-" if key.descending else "") + key.name for key in sort)


def _order_by(key: SortKey) -> ColumnElement[Any]:
    if key.descending:
        term = key.column.desc()
        return term.nulls_first() if key.is_nullable else term
    term = key.column.asc()
    return term.nulls_last() if key.is_nullable else term


def _bind(key: SortKey, value: Any) -> ColumnElement[Any]:
    # A typed bound parameter: SQLAlchemy refuses `flag > True` with a bare Python bool.
    return literal(value, getattr(key.column, "type", None))


def _beyond(key: SortKey, value: Any) -> ColumnElement[bool] | None:
    """Rows whose value for this key comes strictly after ``value``; None when none can."""
    column = key.column
    if value is None:
        # NULL is the largest value: nothing lies beyond it ascending, every value descending.
        return column.is_not(None) if key.descending else None
    if key.descending:
        return column < _bind(key, value)
    after = column > _bind(key, value)
    return or_(after, column.is_(None)) if key.is_nullable else after


def _leading_bound(key: SortKey, value: Any) -> ColumnElement[bool] | None:
    """A redundant, OR-free range on the first key: PostgreSQL can start the index scan at
    the cursor with it instead of filtering every row before it (deep pages stay fast)."""
    column = key.column
    if value is None:
        return None if key.descending else column.is_(None)
    if key.descending:
        return column <= _bind(key, value)
    return None if key.is_nullable else column >= _bind(key, value)


def _after(keys: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    terms: list[ColumnElement[bool]] = []
    ties: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        beyond = _beyond(key, value)
        if beyond is not None:
            terms.append(and_(*ties, beyond))
        ties.append(key.column.is_(None) if value is None else key.column == _bind(key, value))
    predicate = or_(*terms) if terms else false()
    bound = _leading_bound(keys[0], values[0]) if len(keys) > 1 else None
    return predicate if bound is None else and_(bound, predicate)


def _fits(value: Any, column: SQLColumnExpression[Any]) -> bool:
    """Whether a decoded cursor value can be compared with the column without a database
    error (a tampered cursor must be a 400, not a 500)."""
    if value is None:
        return True
    column_type: Any = getattr(column, "type", None)  # SQLColumnExpression does not declare it
    try:
        expected: type = column_type.python_type
    except (AttributeError, NotImplementedError):  # untyped or opaque expressions: let it be
        return True
    if isinstance(value, bool) and expected is not bool:  # a bool is an int to Python only
        return False
    if isinstance(value, expected):
        return True
    if issubclass(expected, str):  # enums and other str subclasses come back as plain str
        return isinstance(value, str)
    if issubclass(expected, float | Decimal):
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    return False


def keyset_page(
    session: Session,
    stmt: Select[T],
    *,
    sort: list[SortKey],
    id_column: SQLColumnExpression[Any],
    limit: int,
    cursor: str | None,
    row_to_values: Callable[[T], list[Any]] | None = None,
) -> Page[T]:
    """One page of ``stmt`` after ``cursor``, ordered by ``sort`` then id, without counting.

    ``row_to_values`` returns a row's values for the sort keys followed by its id; the default
    reads the attributes named by ``SortKey.name`` and the id column's key.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    id_name = str(getattr(id_column, "key", "id"))
    id_key = SortKey(id_name, id_column, sort[-1].descending if sort else False, nullable=False)
    keys = [*sort, id_key]
    signature = _signature(sort)
    stmt = stmt.order_by(None).order_by(*(_order_by(key) for key in keys))
    if cursor is not None:
        seen_signature, *values = decode_cursor(cursor, len(keys) + 1)
        # A cursor from another sort order would skip or repeat rows; refuse it.
        if seen_signature != signature or not all(
            _fits(value, key.column) for key, value in zip(keys, values, strict=True)
        ):
            raise BadRequest(BAD_CURSOR)
        stmt = stmt.where(_after(keys, values))
    rows = list(session.scalars(stmt.limit(limit + 1)))
    items = rows[:limit]
    has_more = len(rows) > limit
    next_cursor = None
    if has_more:
        last = items[-1]
        values = row_to_values(last) if row_to_values else [getattr(last, k.name) for k in keys]
        next_cursor = encode_cursor([signature, *values])
    return Page(items=items, next_cursor=next_cursor, has_more=has_more)
