"""The one filter language: field, operator, value, in and/or/not groups, compiled to SQL.

A filter is plain JSON, so list filters, saved views, segments, workflow conditions and KPI
filters can all store it::

    {"and": [{"field": "lifecycle_stage", "op": "in", "value": ["lead", "customer"]},
             {"not": {"field": "cf.plan", "op": "eq", "value": "gold"}},
             {"or": [{"field": "tag", "op": "eq", "value": "vip"},
                     {"field": "created_at", "op": "gte", "value": "2025-01-01"}]}]}

Lists also take the short form ``?lifecycle_stage=lead&created_at[gte]=2025-01-01&tag=vip``.
Operators: eq ne lt lte gt gte in nin contains startswith is_null between; each field type
accepts some of them. The meaning is the same on SQLite and PostgreSQL:

1. a condition is true or false, never unknown: an empty value fails eq, lt, contains… and
   passes ne and nin, so ``not`` is the exact complement of what it wraps;
2. contains and startswith ignore case; a date-only value on a datetime field is the whole UTC day;
3. custom fields are ``cf.<key>``, typed by the workspace's definitions given at compile time.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeAlias

from rapidfuzz import fuzz, process
from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

from rapport.core.errors import invalid

MAX_DEPTH = 10
MAX_CONDITIONS = 100
MAX_LIST_VALUES = 500
MAX_FILTER_CHARS = 20_000
RESERVED_PARAMS = frozenset({"limit", "cursor", "sort", "q", "filter", "fields"})
OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "nin",
             "contains", "startswith", "is_null", "between")  # fmt: skip
_EQUALITY = frozenset({"eq", "ne", "in", "nin", "is_null"})
_ORDERING = frozenset({"lt", "lte", "gt", "gte", "between"})
OPS_BY_TYPE: Mapping[str, frozenset[str]] = {
    "string": _EQUALITY | {"contains", "startswith"},
    "enum": _EQUALITY,
    "uuid": _EQUALITY,
    "number": _EQUALITY | _ORDERING,
    "integer": _EQUALITY | _ORDERING,
    "money": _EQUALITY | _ORDERING,
    "date": _EQUALITY | _ORDERING,
    "datetime": (_EQUALITY | _ORDERING) - {"in", "nin"},
    "boolean": frozenset({"eq", "ne", "is_null"}),
    "tag": frozenset({"eq", "ne", "in", "nin"}),
    "multiselect": frozenset({"eq", "ne", "contains", "in", "nin", "is_null"}),
}
FIELD_TYPES = frozenset(OPS_BY_TYPE) - {"money", "multiselect"}
CUSTOM_FIELD_TYPES: Mapping[str, str] = {  # custom field definition type -> filter type
    "text": "string", "number": "number", "date": "date", "boolean": "boolean",
    "select": "enum", "multiselect": "multiselect", "money": "money",
}  # fmt: skip
_NO_CUSTOM_FIELDS: Mapping[str, str] = MappingProxyType({})
_CUSTOM_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
_PARAM = re.compile(r"(?P<name>[A-Za-z0-9_.]+)(?:\[(?P<op>[a-z_]+)\])?")
_NEGATIONS = {"ne": "eq", "nin": "in"}


@dataclass(frozen=True)
class Condition:
    """One test: ``field`` ``op`` ``value``."""

    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class And:
    """Every item holds."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one item holds."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The item does not hold (its exact complement)."""

    item: Node


Node: TypeAlias = Condition | And | Or | Not


@dataclass(frozen=True)
class FilterField:
    """A filterable field: a column, or ``build(op, value)`` for computed facts (tags,
    timeline). ``build`` gets positive operators only (eq, in, lt…, is_null with True) and
    must return a predicate that is never NULL, such as EXISTS; the compiler negates it."""

    name: str
    type: str
    column: SQLColumnExpression[Any] | None = None
    choices: tuple[str, ...] = ()
    build: Callable[[str, Any], ColumnElement[bool]] | None = None

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"unknown filter field type {self.type!r}")
        if (self.column is None) == (self.build is None):
            raise ValueError(f"filter field {self.name!r} needs exactly one of column, build")


class FieldSet:
    """The filterable fields of one model, plus its JSON column of custom fields."""

    def __init__(
        self,
        fields: Iterable[FilterField],
        *,
        custom_column: SQLColumnExpression[Any] | None = None,
    ) -> None:
        self.fields = {field.name: field for field in fields}
        self.custom_column = custom_column

    def resolve(self, name: str, custom_types: Mapping[str, str]) -> FilterField:
        """The field called ``name`` (``cf.<key>`` for custom ones), or Invalid saying why not."""
        if name in self.fields:
            return self.fields[name]
        key = name.removeprefix("cf.")
        if name.startswith("cf.") and self.custom_column is not None and key in custom_types:
            if not _CUSTOM_KEY.fullmatch(key) or custom_types[key] not in CUSTOM_FIELD_TYPES:
                raise ValueError(f"custom field {key!r} has a bad key or type")
            # A stand-in: the compiler reads custom fields from the JSON column by their type.
            return FilterField(name, "string", column=self.custom_column)
        names = [*self.fields, *(f"cf.{k}" for k in custom_types if self.custom_column)]
        hint = _did_you_mean(name, names) or f"; filterable fields are: {', '.join(names[:30])}"
        raise _error(name, f"unknown field '{name}'{hint}")


def _error(field: str | None, message: str) -> Exception:
    return invalid(("filter",) if field is None else ("filter", field), message)


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    found = process.extractOne(name, list(choices), scorer=fuzz.ratio, score_cutoff=70)
    return f"; did you mean '{found[0]}'?" if found else ""


class _Parser:
    def __init__(self) -> None:
        self.conditions = 0

    def node(self, data: Any, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _error(None, f"filter is nested more than {MAX_DEPTH} levels deep")
        if not isinstance(data, Mapping):
            raise _error(None, "each part of a filter must be an object")
        if "field" in data:
            return self.condition(data)
        if len(data) != 1:
            raise _error(None, 'a group is {"and": [...]}, {"or": [...]} or {"not": {...}}')
        ((key, inner),) = data.items()
        if key == "not":
            return Not(self.node(inner, depth + 1))
        if key not in ("and", "or"):
            raise _error(None, f"unknown filter key '{key}'; use field, and, or, not")
        if not isinstance(inner, list):
            raise _error(None, f"'{key}' takes a list of conditions")
        items = tuple(self.node(item, depth + 1) for item in inner)
        return And(items) if key == "and" else Or(items)

    def condition(self, data: Mapping[str, Any]) -> Condition:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _error(None, f"a filter has at most {MAX_CONDITIONS} conditions")
        field, op = data["field"], data.get("op", "eq")
        if not isinstance(field, str) or not field:
            raise _error(None, "'field' must be a field name")
        if extra := set(data) - {"field", "op", "value"}:
            raise _error(field, f"unknown key(s) {', '.join(sorted(extra))} in a condition")
        if op not in OPERATORS:
            hint = _did_you_mean(str(op), OPERATORS) or f"; use one of: {', '.join(OPERATORS)}"
            raise _error(field, f"unknown operator '{op}'{hint}")
        if "value" not in data and op != "is_null":
            raise _error(field, f"'{op}' needs a value")
        return Condition(field, op, data.get("value", True))


def parse_filter(expr: str | Mapping[str, Any]) -> Node:
    """Read a filter tree from JSON text or an already-decoded object."""
    data: Any = expr
    if isinstance(expr, str):
        if len(expr) > MAX_FILTER_CHARS:
            raise _error(None, f"filter is longer than {MAX_FILTER_CHARS} characters")
        try:
            data = json.loads(expr)
        except (ValueError, RecursionError) as exc:
            raise _error(None, "filter is not valid JSON") from exc
    return _Parser().node(data, 1)


def parse_query_params(params: Mapping[str, str], fieldset: FieldSet) -> Node | None:
    """Read ``?field=value&field[op]=value`` filters (repeated keys all apply); None if none."""
    multi_items = getattr(params, "multi_items", None)  # Starlette's QueryParams keeps repeats
    pairs: Iterable[tuple[str, str]] = multi_items() if multi_items else params.items()
    parser = _Parser()  # the same checks and limits as the JSON form
    conditions: list[Node] = []
    for key, raw in pairs:
        if key in RESERVED_PARAMS:
            continue
        match = _PARAM.fullmatch(key)
        if match is None:
            raise _error(key, f"'{key}' is not a filter; write field=value or field[op]=value")
        name, op = match["name"], match["op"] or "eq"
        if not name.startswith("cf."):
            fieldset.resolve(name, _NO_CUSTOM_FIELDS)
        value = raw.split(",") if op in ("in", "nin", "between") else raw
        conditions.append(parser.condition({"field": name, "op": op, "value": value}))
    return combine(*conditions)


def combine(*nodes: Node | None) -> Node | None:
    """AND the given filters together, skipping the absent ones."""
    present = tuple(node for node in nodes if node is not None)
    return None if not present else present[0] if len(present) == 1 else And(present)


def filter_to_dict(node: Node) -> dict[str, Any]:
    """The JSON form of a filter tree, as :func:`parse_filter` reads it."""
    if isinstance(node, Condition):
        return {"field": node.field, "op": node.op, "value": node.value}
    if isinstance(node, Not):
        return {"not": filter_to_dict(node.item)}
    return {"and" if isinstance(node, And) else "or": [filter_to_dict(i) for i in node.items]}


@dataclass(frozen=True)
class _Span:
    """A comparison value; ``end`` is set when a date-only value stands for a whole UTC day."""

    start: Any
    end: Any = None


def _compare(expr: SQLColumnExpression[Any], op: str, value: Any) -> ColumnElement[bool]:
    """The positive operators on a scalar expression; spans make days behave on datetimes."""
    if op == "in":
        return expr.in_([v.start for v in value])
    if op == "between":
        return and_(_compare(expr, "gte", value[0]), _compare(expr, "lte", value[1]))
    if op == "contains":
        return expr.icontains(value.start, autoescape=True)
    if op == "startswith":
        return expr.istartswith(value.start, autoescape=True)
    start, end = value.start, value.end
    if op == "eq":
        return expr == start if end is None else and_(expr >= start, expr < end)
    if op == "lt":
        return expr < start
    if op == "gte":
        return expr >= start
    if op == "lte":
        return expr <= start if end is None else expr < end
    if op == "gt":
        return expr > start if end is None else expr >= end
    raise AssertionError(op)


def _is_nullable(expr: SQLColumnExpression[Any]) -> bool:
    return bool(getattr(getattr(expr, "expression", expr), "nullable", True))


_EXPECTED = {
    "string": "text", "tag": "text", "multiselect": "text", "enum": "text",
    "boolean": "true or false", "number": "a number", "money": "a number",
    "integer": "a whole number", "uuid": "an id", "date": "a date (YYYY-MM-DD)",
    "datetime": "a date or an ISO 8601 time",
}  # fmt: skip


def _convert(kind: str, raw: Any) -> _Span | None:
    """``raw`` as the Python value a field of this kind compares with; None if it is not one."""
    if isinstance(raw, bool):
        return _Span(raw) if kind == "boolean" else None
    if kind in ("string", "tag", "multiselect", "enum"):
        return _Span(str(raw)) if isinstance(raw, str | int | float) else None
    if kind == "boolean":
        text = str(raw).lower()
        return _Span(text == "true") if text in ("true", "false") else None
    if kind in ("number", "integer", "money"):
        number = Decimal(str(raw)) if isinstance(raw, str | int | float | Decimal) else None
        if number is None or not number.is_finite() or abs(number.adjusted()) > 30:
            return None
        is_whole = number == number.to_integral_value()
        if kind == "money" or (kind == "integer" and not is_whole):
            return _Span(number) if kind == "money" else None
        # int/float: the sqlite3 driver cannot bind a Decimal to a column that is not Numeric.
        return _Span(int(number) if is_whole else float(number))
    if kind == "uuid":
        return _Span(raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw)))
    if kind == "date":
        if isinstance(raw, datetime):
            return None
        return _Span(raw if isinstance(raw, date) else date.fromisoformat(str(raw)))
    if isinstance(raw, datetime):
        return _Span(raw if raw.tzinfo else raw.replace(tzinfo=UTC))
    text = str(raw)
    if isinstance(raw, date) or len(text) == 10:  # a date alone stands for the whole UTC day
        day = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        return _Span(day, day + timedelta(days=1))
    moment = datetime.fromisoformat(text)
    return _Span(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _coerce_one(field: FilterField, kind: str, raw: Any) -> _Span:
    """One user value checked and converted, or an Invalid a user can act on."""
    name = field.name
    if raw is None or isinstance(raw, list | dict):
        raise _error(name, f"'{name}' needs a single value here; to match empty use is_null")
    try:
        span = _convert(kind, raw)
    except (ValueError, TypeError, ArithmeticError):
        span = None
    if span is None:
        shown = json.dumps(raw, default=str)
        raise _error(name, f"'{name}' needs {_EXPECTED[kind]}, not {shown}")
    if field.choices and span.start not in field.choices:
        hint = _did_you_mean(span.start, field.choices)
        raise _error(
            name,
            f"'{span.start}' is not a choice of '{name}'{hint}; "
            f"choose from: {', '.join(field.choices)}",
        )
    return span


def _coerce(field: FilterField, kind: str, op: str, raw: Any) -> Any:
    """The condition's value checked and converted for its operator and type."""
    if op == "is_null":
        return _coerce_one(field, "boolean", raw).start
    if op in ("in", "between"):
        values = raw.split(",") if isinstance(raw, str) else raw
        if op == "between" and not (isinstance(values, list) and len(values) == 2):
            raise _error(field.name, "between needs two values, [low, high]")
        if not isinstance(values, list) or not 0 < len(values) <= MAX_LIST_VALUES:
            raise _error(field.name, f"'{op}' needs a list of 1 to {MAX_LIST_VALUES} values")
        return [_coerce_one(field, kind, value) for value in values]
    if op in ("contains", "startswith") and kind != "multiselect":
        return _coerce_one(field, "string", raw)
    return _coerce_one(field, kind, raw)


def _iso(value: Any) -> Any:
    """Dates as the ISO text a custom field stores, which sorts as the dates do."""
    return [_iso(v) for v in value] if isinstance(value, list) else _Span(value.start.isoformat())


def _plain(value: Any) -> Any:
    return [v.start for v in value] if isinstance(value, list) else value.start


class _Compiler:
    def __init__(self, fieldset: FieldSet, custom_types: Mapping[str, str], dialect: str):
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"filters do not compile for {dialect!r}")
        self.fieldset = fieldset
        self.custom_types = custom_types
        self.is_postgres = dialect == "postgresql"

    def node(self, node: Node, negate: bool, depth: int = 1) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            raise _error(None, f"filter is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, Condition):
            return self.condition(node, negate)
        if isinstance(node, Not):
            return self.node(node.item, not negate, depth + 1)
        parts = [self.node(item, negate, depth + 1) for item in node.items]
        if isinstance(node, And) != negate:  # De Morgan: NOT pushed down to the conditions
            return and_(*parts) if parts else true()
        return or_(*parts) if parts else false()

    def condition(self, condition: Condition, negate: bool) -> ColumnElement[bool]:
        name, op = condition.field, condition.op
        field = self.fieldset.resolve(name, self.custom_types)
        custom_key = None if name in self.fieldset.fields else name.removeprefix("cf.")
        kind = CUSTOM_FIELD_TYPES[self.custom_types[custom_key]] if custom_key else field.type
        if op not in OPS_BY_TYPE[kind]:
            allowed = ", ".join(o for o in OPERATORS if o in OPS_BY_TYPE[kind])
            raise _error(name, f"'{op}' does not apply to '{name}'; use one of: {allowed}")
        if op in _NEGATIONS:
            op, negate = _NEGATIONS[op], not negate
        value = _coerce(field, kind, op, condition.value)
        if op == "is_null":
            negate, value = negate != (value is False), True
        if field.build is not None:
            plain = value if op == "is_null" else _plain(value)
            predicate, nullable_by = field.build(op, plain), None
        elif custom_key is not None:
            predicate, nullable_by = self.custom(custom_key, kind, op, value)
        else:
            assert field.column is not None  # FilterField guarantees column or build
            predicate, nullable_by = self.scalar(field.column, op, value)
        if not negate:
            return predicate
        if nullable_by is None or not _is_nullable(nullable_by):
            return not_(predicate)
        # NOT (x = 1) is NULL, not true, where x is NULL; say what a user means by "is not".
        return or_(not_(predicate), nullable_by.is_(None))

    def scalar(
        self, expr: SQLColumnExpression[Any], op: str, value: Any
    ) -> tuple[ColumnElement[bool], SQLColumnExpression[Any] | None]:
        if op == "is_null":
            return expr.is_(None), None
        return _compare(expr, op, value), expr

    def custom(
        self, key: str, kind: str, op: str, value: Any
    ) -> tuple[ColumnElement[bool], SQLColumnExpression[Any] | None]:
        column: Any = self.fieldset.custom_column  # JSON index operators are untyped here
        if kind == "multiselect":
            return self.multiselect(column, key, op, value)
        if kind == "date" and op != "is_null":
            value = _iso(value)
        if self.is_postgres and op == "eq" and kind != "money":
            # JSONB containment, so a GIN (jsonb_path_ops) index on the column serves it.
            return type_coerce(column, JSONB).contains({key: value.start}), column
        if kind == "money":  # {"amount": "12.50", "currency": "EUR"}: compare the amount exactly
            return self.scalar(column[(key, "amount")].as_numeric(28, 6), op, value)
        if kind == "number":
            return self.scalar(column[key].as_float(), op, value)
        if kind == "boolean":
            return self.scalar(column[key].as_boolean(), op, value)
        return self.scalar(column[key].as_string(), op, value)

    def multiselect(
        self, column: Any, key: str, op: str, value: Any
    ) -> tuple[ColumnElement[bool], SQLColumnExpression[Any] | None]:
        """Whether the JSON list holds the value (eq, contains), any of them (in), or, for
        is_null, none at all."""
        wanted = None if op == "is_null" else _plain(value) if op == "in" else [_plain(value)]
        if self.is_postgres:
            document = type_coerce(column, JSONB)
            if wanted is None:
                has_any = and_(
                    document.contains({key: []}), document[key] != cast(literal("[]"), JSONB)
                )
                return or_(column.is_(None), not_(has_any)), None
            return or_(*(document.contains({key: [v]}) for v in wanted)), column
        elements = func.json_each(column, f'$."{key}"').table_valued("value")
        query = select(1).select_from(elements)
        if wanted is None:
            return not_(exists(query)), None
        return exists(query.where(elements.c.value.in_(wanted))), None


def compile_filter(
    node: Node,
    fieldset: FieldSet,
    *,
    custom_types: Mapping[str, str] = _NO_CUSTOM_FIELDS,
    dialect_name: str,
) -> ColumnElement[bool]:
    """A WHERE clause for ``node``; unknown fields, wrong operators or values raise Invalid."""
    return _Compiler(fieldset, custom_types, dialect_name).node(node, negate=False)
