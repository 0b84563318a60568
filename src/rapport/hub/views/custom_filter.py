"""One custom-field condition on a list page: field, operator, value.

The URL carries it as three plain parameters, ``cf`` (the field's key), ``cfop`` and ``cfv``,
so it is bookmarkable and a saved view keeps it; the list turns it into the filter language's
``cf.<key>[op]=value`` for the service, which checks the value against the field's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rapport.core.filtering import CUSTOM_FIELD_TYPES, OPS_BY_TYPE
from rapport.hub.models import CustomFieldDefinition

PARAMS = ("cf", "cfop", "cfv")
# What the operator menu offers, in order, with words a user reads.
OPERATORS: list[tuple[str, str]] = [
    ("eq", "is"), ("ne", "is not"), ("contains", "contains"), ("startswith", "starts with"),
    ("gt", "more than"), ("gte", "at least"), ("lt", "less than"), ("lte", "at most"),
    ("in", "is one of (a,b,…)"), ("is_null", "is empty"),
]  # fmt: skip


@dataclass(frozen=True)
class FieldChoice:
    key: str
    label: str
    ops: str  # the operators fit for its type, space-separated (for the menu's script)
    hint: str  # what a value looks like


_HINTS = {"number": "a number", "money": "an amount", "date": "YYYY-MM-DD",
          "boolean": "true or false", "enum": "one of its options",
          "multiselect": "one of its options", "string": "text"}  # fmt: skip


def choices(defs: Mapping[str, CustomFieldDefinition]) -> list[FieldChoice]:
    """The filterable custom fields, each with the operators its type allows."""
    out = []
    for key, d in sorted(defs.items(), key=lambda kv: kv[1].label.lower()):
        kind = CUSTOM_FIELD_TYPES.get(d.field_type)
        if not d.filterable or kind is None:
            continue
        allowed = OPS_BY_TYPE[kind]
        ops = " ".join(op for op, _ in OPERATORS if op in allowed)
        out.append(FieldChoice(key, d.label, ops, _HINTS.get(kind, "a value")))
    return out


def condition(
    defs: Mapping[str, CustomFieldDefinition], key: str, op: str, value: str
) -> tuple[dict[str, str], str | None]:
    """The filter-language parameters for the chosen condition, or a message saying what is
    wrong with it. An unfinished choice (no value yet) filters nothing and says nothing."""
    if not key:
        return {}, None
    field = next((c for c in choices(defs) if c.key == key), None)
    if field is None:
        return {}, f"There is no custom field “{key}” to filter on."
    op = op or "eq"
    if op not in field.ops.split():
        return {}, f"“{field.label}” cannot be filtered with “{op}”."
    if op == "is_null":
        return {f"cf.{key}[is_null]": "true"}, None
    value = value.strip()
    if not value:
        return {}, None
    return {f"cf.{key}[{op}]": value}, None
