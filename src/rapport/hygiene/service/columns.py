"""What people and companies imports share about columns: mapping headers to fields (fixed
fields by name or synonym, custom fields as ``custom.<key>`` by that header, the key itself or
the field's label), reading tags, and custom field values as cells of a file (text in, the
field type's JSON form out, validated by the hub's own rules — and back, for exports).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from rapport.core.context import Context
from rapport.core.errors import invalid
from rapport.hub.models import CustomFieldType
from rapport.hub.public import fields

CUSTOM = "custom."
MAX_TAGS, TAG_LENGTH = 50, 100


def key(header: str) -> str:
    """A header reduced for matching: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", header.strip().lower())


def is_target(field: str, known: Iterable[str], custom_keys: Iterable[str]) -> bool:
    """Whether ``field`` is something a column can map to: a known field or ``custom.<key>``
    of a defined custom field."""
    return field in known or (
        field.startswith(CUSTOM) and field.removeprefix(CUSTOM) in set(custom_keys)
    )


# Headers of the address books people export from, reduced by :func:`key` → a person field.
# Outlook ("Business Country/Region", "E-mail 2 Address") and Google Contacts ("E-mail 1 -
# Value", "Organization 1 - Title"). A file's first column for a field wins, in the file's
# order (Outlook's business address and phone come before the home ones). Outlook's "Title"
# is Mr/Ms: a "Job Title" column takes the job title first (:func:`auto_mapping`).
PERSON_EXPORT_HEADERS = {
    "emailaddress": "email", "email1address": "email", "email2address": "email",
    "email3address": "email", "email1value": "email", "businessemail": "email",
    "businessphone": "phone", "homephone": "phone", "mobilephone": "phone",
    "primaryphone": "phone", "phone1value": "phone", "businessphone2": "phone",
    "companyname": "company", "organization1name": "company", "organizationname": "company",
    "organization1title": "job_title", "organizationtitle": "job_title",
    "businessstreet": "street", "homestreet": "street", "address1street": "street",
    "businesscity": "city", "homecity": "city", "address1city": "city",
    "businessstate": "region", "homestate": "region", "address1region": "region",
    "businesspostalcode": "postal_code", "homepostalcode": "postal_code",
    "address1postalcode": "postal_code",
    "countryregion": "country", "businesscountryregion": "country",
    "homecountryregion": "country", "address1country": "country", "businesscountry": "country",
}  # fmt: skip


def auto_mapping(
    columns: Iterable[str],
    overrides: dict[str, str] | None,
    *,
    known: tuple[str, ...],
    by_key: dict[str, str],
    custom: dict[str, str] | None = None,
) -> dict[str, str]:
    """``{column: field}`` for the columns recognised: a ``known`` field by name, a synonym
    (``by_key``: reduced header → field) or a custom field (``custom`` is ``{key: label}``);
    overrides win (``""``/``ignore`` drops a column). A column named after a field takes it
    before a synonym does ("Job Title" before Outlook's "Title", which is Mr or Ms). Raises
    Invalid for an unknown field or an unknown column."""
    columns = list(columns)
    custom = custom or {}
    by_custom = {key(k): f"{CUSTOM}{k}" for k in custom}
    by_custom |= {key(label): f"{CUSTOM}{k}" for k, label in custom.items() if label}
    by_name = {key(f): f for f in known}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for named_only in (True, False):
        for column in columns:
            field: str | None
            if column in mapping:
                continue
            if column in known or (column.startswith(CUSTOM) and is_target(column, (), custom)):
                field = column
            elif named_only:
                field = by_name.get(key(column))
            else:
                field = by_key.get(key(column)) or by_custom.get(key(column))
            if field and field not in taken:
                mapping[column] = field
                taken.add(field)
    for column, field in (overrides or {}).items():
        if column not in columns:
            raise invalid(("map", column), f"the file has no column {column!r}")
        if field in ("", "ignore"):
            mapping.pop(column, None)
            continue
        if not is_target(field, known, custom):
            if field.startswith(CUSTOM):
                defined = ", ".join(f"{CUSTOM}{k}" for k in custom) or "none is defined yet"
                raise invalid(
                    ("map", column),
                    f"unknown custom field {field!r}; define it first (custom fields: {defined})",
                )
            choices = ", ".join([*known, *(f"{CUSTOM}{k}" for k in custom)])
            raise invalid(("map", column), f"unknown field {field!r}; one of {choices}")
        for other in [c for c, f in mapping.items() if f == field and c != column]:
            del mapping[other]
        mapping[column] = field
    return mapping


# A list in one cell: names between ``;`` or ``,``; a name holding one of them (or a
# backslash) escapes it with a backslash, so "R&D\, EMEA" is one name.
_ITEM = re.compile(r"(?:\\[\\;,]|[^;,])+")
_ESCAPED = re.compile(r"\\([\\;,])")
_TO_ESCAPE = re.compile(r"([\\;,])")


def join_list(names: Iterable[str]) -> str:
    """Names as one cell (``a; b``), separators inside a name escaped: :func:`split_tags`
    gives them back."""
    return "; ".join(_TO_ESCAPE.sub(r"\\\1", name) for name in names)


def split_tags(value: Any) -> list[str]:
    """Tag names from a cell (``;`` or ``,`` between them, ``\\`` escaping one inside a name)
    or a JSON list, without repeats."""
    if isinstance(value, list):
        items = [str(t) for t in value]
    else:
        items = [_ESCAPED.sub(r"\1", item) for item in _ITEM.findall(str(value))]
    return list(dict.fromkeys(" ".join(t.split()) for t in items if t.strip()))


def clean_tags(value: Any) -> list[str]:
    """Tag names from a cell, within the hub's limits; ValueError otherwise."""
    tags = split_tags(value)
    if len(tags) > MAX_TAGS or any(len(t) > TAG_LENGTH for t in tags):
        raise ValueError(f"at most {MAX_TAGS} tags of up to {TAG_LENGTH} characters")
    return tags


def typed(kind: str, value: Any) -> Any:
    """A custom field's value from a cell: text becomes the field type's JSON form (JSON
    values pass as they are)."""
    if not isinstance(value, str):
        return value
    if kind == CustomFieldType.BOOLEAN:
        lowered = value.lower()
        if lowered in ("true", "yes", "y", "1", "x"):
            return True
        if lowered in ("false", "no", "n", "0"):
            return False
        raise ValueError(f"{value!r} is not true or false")
    if kind == CustomFieldType.MULTISELECT:
        return split_tags(value)
    if kind == CustomFieldType.MONEY:
        amount, _, currency = value.partition(" ")
        return {"amount": amount, "currency": currency} if currency else amount
    return value


def cell_text(kind: str, value: Any) -> str:
    """A custom value as the text an export writes (and :func:`typed` reads back)."""
    if value is None:
        return ""
    if kind == CustomFieldType.BOOLEAN:
        return "true" if value else "false"
    if kind == CustomFieldType.MULTISELECT:
        return join_list(value)
    if kind == CustomFieldType.MONEY and isinstance(value, dict):
        return f"{value.get('amount')} {value.get('currency')}"
    return str(value)


def as_text(value: Any) -> str:
    """Any JSON value as the text of a cell (for readers that hand on text only)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return join_list(as_text(v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            return f"{value['amount']} {value['currency']}"
        return json.dumps(value)
    return str(value)


def flatten(obj: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """A JSON object as columns: a ``custom`` object becomes ``custom.<key>`` columns."""
    out: dict[str, Any] = {}
    for name, value in obj.items():
        if name == "custom" and isinstance(value, dict):
            out |= {f"{CUSTOM}{k}": convert(v) for k, v in value.items()}
        else:
            out[str(name)] = convert(value)
    return out


def labels(ctx: Context, object_type: str) -> dict[str, str]:
    """``{key: label}`` of the workspace's custom fields of ``person`` or ``company``."""
    return {k: d.label for k, d in fields.definitions(ctx, object_type).items()}


def custom_values(
    ctx: Context, object_type: str, cells: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Custom field values from cells ``{"custom.<key>": value}``: each made typed and checked
    against its definition like the hub's service checks it (required fields aside: that is
    for the record as a whole). Returns the values by key and the problems as
    ``(target, reason)``."""
    definitions = fields.definitions(ctx, object_type)
    custom: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for target, value in cells.items():
        name = target.removeprefix(CUSTOM)
        definition = definitions.get(name)
        if definition is None:
            problems.append((target, "unknown custom field"))
            continue
        try:
            custom[name] = typed(definition.field_type, value)
        except ValueError as exc:
            problems.append((target, str(exc)))
    if not custom:
        return {}, problems
    merged, errors = fields.validate_values(ctx, object_type, custom, existing={})
    for error in errors:
        if error.code != "required" and len(error.loc) > 1:
            problems.append((f"{CUSTOM}{error.loc[1]}", error.message))
    return {k: merged[k] for k in custom if k in merged}, problems
