"""Custom fields on the record pages: typed inputs in, service values out, and back again.

A browser sends every custom field as text named ``custom.<key>`` (several values for a
multi-select). These helpers turn that into what ``fields.validate_values`` takes (an empty
input clears the value) and turn stored values back into what the inputs show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData

from rapport.hub.models import CustomFieldDefinition

PREFIX = "custom."


def from_form(defs: Mapping[str, CustomFieldDefinition], form: FormData) -> dict[str, Any]:
    """The custom values a form posted, for the service (None clears a field)."""
    values: dict[str, Any] = {}
    for key, definition in defs.items():
        name = PREFIX + key
        kind = definition.field_type
        if kind == "multiselect":
            if f"{name}.present" in form:  # the group was on the form (it may be all unticked)
                chosen = [str(v) for v in form.getlist(name) if str(v)]
                values[key] = chosen or None
            continue
        if name not in form:
            continue
        raw = str(form.get(name) or "").strip()
        if not raw:
            values[key] = None
        elif kind == "boolean":
            values[key] = raw == "true" if raw in ("true", "false") else raw
        elif kind == "money":
            values[key] = {"amount": raw.replace(",", ""), "currency": definition.currency or ""}
        else:
            values[key] = raw
    return values


def shown(defs: Mapping[str, CustomFieldDefinition], stored: Mapping[str, Any]) -> dict[str, Any]:
    """What each input shows for the stored values (text; a list for a multi-select)."""
    out: dict[str, Any] = {}
    for key, definition in defs.items():
        value = stored.get(key)
        if value is None:
            out[key] = [] if definition.field_type == "multiselect" else ""
        elif definition.field_type == "boolean":
            out[key] = "true" if value else "false"
        elif definition.field_type == "money" and isinstance(value, dict):
            out[key] = str(value.get("amount", ""))
        elif definition.field_type == "multiselect":
            out[key] = list(value)
        else:
            out[key] = str(value)
    return out


def raw_values(defs: Mapping[str, CustomFieldDefinition], form: FormData) -> dict[str, Any]:
    """What the user typed, to show again next to the messages when the form is refused."""
    out: dict[str, Any] = {}
    for key, definition in defs.items():
        name = PREFIX + key
        if definition.field_type == "multiselect":
            out[key] = [str(v) for v in form.getlist(name)]
        else:
            out[key] = str(form.get(name) or "")
    return out


def display(definition: CustomFieldDefinition | None, value: Any) -> str:
    """A stored value as a reader sees it."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict) and "amount" in value:
        try:
            amount = f"{float(value['amount']):,.2f}"
        except (TypeError, ValueError):
            amount = str(value["amount"])
        return f"{amount} {value.get('currency', '')}".strip()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)
