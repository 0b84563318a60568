"""Custom field definitions, and the validation of the values records carry for them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import Conflict, FieldError, Invalid, NotFound
from rapport.core.events import check_version, diff_fields, record
from rapport.hub.events import CUSTOM_FIELD_CREATED, CUSTOM_FIELD_DELETED, CUSTOM_FIELD_UPDATED
from rapport.hub.models import CustomFieldDefinition, CustomFieldType
from rapport.hub.schemas import FieldDefinitionIn, FieldDefinitionPatch
from rapport.hub.validation import normalise_currency

CHOICE_TYPES = (CustomFieldType.SELECT, CustomFieldType.MULTISELECT)

# Filter-language types of each custom field type (see core.filtering).
FILTER_TYPES = {t.value: t.value for t in CustomFieldType}


def list_definitions(ctx: Context, object_type: str | None = None) -> list[CustomFieldDefinition]:
    """The workspace's custom fields, optionally for one object type."""
    ctx.require("fields:read")
    query = select(CustomFieldDefinition).order_by(
        CustomFieldDefinition.object_type, CustomFieldDefinition.label
    )
    if object_type:
        query = query.where(CustomFieldDefinition.object_type == object_type)
    return list(ctx.session.scalars(query))


def definitions(ctx: Context, object_type: str) -> dict[str, CustomFieldDefinition]:
    """Definitions by key, cached for the life of the context (one query per request)."""
    cache: dict[str, dict[str, CustomFieldDefinition]] = ctx.extra.setdefault("custom_fields", {})  # type: ignore[assignment]  # extra is a free-form dict
    if object_type not in cache:
        rows = ctx.session.scalars(
            select(CustomFieldDefinition).where(CustomFieldDefinition.object_type == object_type)
        )
        cache[object_type] = {d.key: d for d in rows}
    return cache[object_type]


def filter_types(ctx: Context, object_type: str) -> dict[str, str]:
    """``{key: type}`` for the filter compiler."""
    return {k: d.field_type for k, d in definitions(ctx, object_type).items() if d.filterable}


def get_definition(ctx: Context, definition_id: uuid.UUID) -> CustomFieldDefinition:
    ctx.require("fields:read")
    definition = get_scoped(ctx.session, CustomFieldDefinition, definition_id)
    if definition is None:
        raise NotFound("No such custom field")
    return definition


def create_definition(ctx: Context, data: FieldDefinitionIn) -> CustomFieldDefinition:
    """Define a new custom field (admins)."""
    ctx.require("fields:write")
    if data.key in definitions(ctx, data.object_type):
        raise Conflict(f"The {data.object_type} field {data.key!r} already exists")
    _check_options(data.field_type, data.options)
    values = data.model_dump()
    if values["currency"] is not None:
        try:
            values["currency"] = normalise_currency(values["currency"])
        except ValueError as exc:
            raise Invalid(str(exc), errors=[FieldError(("currency",), str(exc))]) from None
    definition = CustomFieldDefinition(**values, workspace_id=ctx.workspace_id)
    ctx.session.add(definition)
    ctx.session.flush()
    ctx.extra.pop("custom_fields", None)
    record(
        ctx,
        CUSTOM_FIELD_CREATED,
        definition.id,
        {k: (None, v) for k, v in data.model_dump().items()},
    )
    return definition


def update_definition(
    ctx: Context,
    definition_id: uuid.UUID,
    patch: FieldDefinitionPatch,
    *,
    expected_version: int | None = None,
) -> CustomFieldDefinition:
    """Change a field's label, options or flags (its key and type are fixed)."""
    ctx.require("fields:write")
    definition = get_definition(ctx, definition_id)
    check_version(definition.version, expected_version)
    values = patch.model_dump(exclude_unset=True)
    if "options" in values:
        _check_options(CustomFieldType(definition.field_type), values["options"] or [])
    changes = diff_fields(definition, values)
    if changes:
        ctx.session.flush()
        record(ctx, CUSTOM_FIELD_UPDATED, definition.id, changes)
    ctx.extra.pop("custom_fields", None)
    return definition


def delete_definition(
    ctx: Context, definition_id: uuid.UUID, *, expected_version: int | None = None
) -> None:
    """Remove a field definition; values already stored stay in the records' JSON."""
    ctx.require("fields:write")
    definition = get_definition(ctx, definition_id)
    check_version(definition.version, expected_version)
    ctx.session.delete(definition)
    ctx.session.flush()
    ctx.extra.pop("custom_fields", None)
    record(ctx, CUSTOM_FIELD_DELETED, definition_id, {"key": (definition.key, None)})


def _check_options(field_type: CustomFieldType, options: list[str]) -> None:
    if field_type in CHOICE_TYPES and not options:
        raise Invalid(
            "Select fields need options",
            errors=[FieldError(("options",), "give at least one option")],
        )
    if len(set(options)) != len(options):
        raise Invalid("Options repeat", errors=[FieldError(("options",), "options must be unique")])


def validate_values(
    ctx: Context,
    object_type: str,
    values: dict[str, Any],
    *,
    existing: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Merge ``values`` into ``existing`` (None deletes a key), each checked against its
    definition. Returns the merged values and any field errors (loc ``("custom", key)``)."""
    defs = definitions(ctx, object_type)
    merged = dict(existing or {})
    errors: list[FieldError] = []
    for key, raw in values.items():
        definition = defs.get(key)
        if definition is None:
            known = ", ".join(sorted(defs)) or "none defined yet"
            errors.append(
                FieldError(
                    ("custom", key), f"unknown custom field (known: {known})", "unknown-field"
                )
            )
            continue
        if raw is None:
            merged.pop(key, None)
            continue
        try:
            merged[key] = _coerce(definition, raw)
        except ValueError as exc:
            errors.append(FieldError(("custom", key), str(exc), "invalid-value"))
    for key, definition in defs.items():
        if definition.required and merged.get(key) in (None, "", []):
            errors.append(
                FieldError(("custom", key), f"{definition.label} is required", "required")
            )
    return merged, errors


def _coerce(definition: CustomFieldDefinition, raw: Any) -> Any:
    kind = CustomFieldType(definition.field_type)
    if kind is CustomFieldType.TEXT:
        if not isinstance(raw, str):
            raise ValueError("expected text")
        if len(raw) > 10_000:
            raise ValueError("text is longer than 10,000 characters")
        return raw
    if kind is CustomFieldType.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValueError("expected a number")
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("expected a finite number")
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind is CustomFieldType.BOOLEAN:
        if not isinstance(raw, bool):
            raise ValueError("expected true or false")
        return raw
    if kind is CustomFieldType.DATE:
        if not isinstance(raw, str):
            raise ValueError("expected a date as YYYY-MM-DD")
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValueError(f"{raw!r} is not a date (use YYYY-MM-DD)") from None
    if kind is CustomFieldType.SELECT:
        if raw not in definition.options:
            raise ValueError(f"{raw!r} is not one of {definition.options}")
        return raw
    if kind is CustomFieldType.MULTISELECT:
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise ValueError("expected a list of options")
        unknown = [v for v in raw if v not in definition.options]
        if unknown:
            raise ValueError(f"{unknown} not in {definition.options}")
        return sorted(set(raw), key=definition.options.index)
    return _coerce_money(definition, raw)


def _coerce_money(definition: CustomFieldDefinition, raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        amount, currency = raw.get("amount"), raw.get("currency") or definition.currency
    else:
        amount, currency = raw, definition.currency
    if not currency or not isinstance(currency, str) or len(currency) != 3:
        raise ValueError(
            "money needs a 3-letter currency, e.g. {'amount': '12.50', 'currency': 'EUR'}"
        )
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        raise ValueError("money needs an amount")
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not an amount") from None
    if definition.currency and currency.upper() != definition.currency.upper():
        raise ValueError(f"this field is in {definition.currency}, not {currency.upper()}")
    return {"amount": str(value), "currency": currency.upper()}
