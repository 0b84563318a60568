"""Custom field definitions, and the validation of the values records carry for them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import update as sql_update

from rapport.core import records
from rapport.core.clock import utcnow
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
    """The fields in use (not archived) by key, cached for the life of the context (one query
    per request): what forms, lists, filters, exports and validation know."""
    cache: dict[str, dict[str, CustomFieldDefinition]] = ctx.extra.setdefault("custom_fields", {})  # type: ignore[assignment]  # extra is a free-form dict
    if object_type not in cache:
        rows = ctx.session.scalars(
            select(CustomFieldDefinition).where(
                CustomFieldDefinition.object_type == object_type,
                CustomFieldDefinition.archived_at.is_(None),
            )
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
    taken = select(CustomFieldDefinition.id).where(
        CustomFieldDefinition.object_type == data.object_type, CustomFieldDefinition.key == data.key
    )
    if ctx.session.scalar(taken) is not None:
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
        _check_removed_options(ctx, definition, values["options"] or [])
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


# --- the settings page: archive, restore, change of type, options still in use --------------

_TYPE_WORDS = {
    CustomFieldType.TEXT: "text",
    CustomFieldType.NUMBER: "numbers",
    CustomFieldType.BOOLEAN: "yes or no",
    CustomFieldType.DATE: "dates",
    CustomFieldType.SELECT: "one of the options",
    CustomFieldType.MULTISELECT: "among the options",
    CustomFieldType.MONEY: "amounts",
}
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def archive_definition(ctx: Context, definition_id: uuid.UUID) -> CustomFieldDefinition:
    """Hide a field from forms, lists and filters; the values records hold are kept."""
    ctx.require("fields:write")
    definition = get_definition(ctx, definition_id)
    if definition.archived_at is None:
        now = utcnow()
        changes = diff_fields(definition, {"archived_at": now})
        ctx.session.flush()
        record(ctx, CUSTOM_FIELD_UPDATED, definition.id, changes)
    ctx.extra.pop("custom_fields", None)
    return definition


def restore_definition(ctx: Context, definition_id: uuid.UUID) -> CustomFieldDefinition:
    """Bring an archived field back, with the values it had."""
    ctx.require("fields:write")
    definition = get_definition(ctx, definition_id)
    if definition.archived_at is not None:
        changes = diff_fields(definition, {"archived_at": None})
        ctx.session.flush()
        record(ctx, CUSTOM_FIELD_UPDATED, definition.id, changes)
    ctx.extra.pop("custom_fields", None)
    return definition


def change_type(
    ctx: Context,
    definition_id: uuid.UUID,
    field_type: CustomFieldType,
    *,
    options: list[str] | None = None,
    currency: str | None = None,
) -> CustomFieldDefinition:
    """Change a field's type when every stored value converts; the values are converted in
    the same transaction. Refused (Invalid on ``field_type``) with how many records hold a
    value that would be lost and one example."""
    ctx.require("fields:write")
    definition = get_definition(ctx, definition_id)
    old = CustomFieldType(definition.field_type)
    if field_type is old:
        return definition
    new_options = list(options if options is not None else definition.options)
    if field_type in CHOICE_TYPES:
        _check_options(field_type, new_options)
    if field_type is CustomFieldType.MONEY:
        currency = currency or definition.currency
        if not currency:
            raise invalid_field("currency", "a money field needs a currency")
        try:
            currency = normalise_currency(currency)
        except ValueError as exc:
            raise invalid_field("currency", str(exc)) from None
    target = CustomFieldDefinition(
        key=definition.key,
        label=definition.label,
        field_type=field_type.value,
        options=new_options,
        currency=currency if field_type is CustomFieldType.MONEY else None,
    )
    model = records.record_type(definition.object_type).model
    converted: dict[uuid.UUID, tuple[dict[str, Any], Any]] = {}
    failed = 0
    example: Any = None
    for record_id, custom in _holding(ctx, model, definition.key):
        value = custom.get(definition.key)
        try:
            converted[record_id] = (custom, _convert(value, old, target))
        except ValueError:
            failed += 1
            example = value if example is None else example
    if failed:
        noun = _noun(definition.object_type, failed)
        shown = _show(example)
        raise invalid_field(
            "field_type",
            f"{failed:,} {noun} {'has a value' if failed == 1 else 'have values'} that "
            f"{'is' if failed == 1 else 'are'} not {_TYPE_WORDS[field_type]}, e.g. {shown}",
        )
    for record_id, (custom, value) in converted.items():
        if value != custom.get(definition.key):
            new_custom = {**custom, definition.key: value}
            ctx.session.execute(
                sql_update(model)
                .where(model.id == record_id)
                .values(custom=new_custom)
                .execution_options(synchronize_session=False, include_deleted=True)
            )
    values: dict[str, Any] = {"field_type": field_type.value, "options": new_options}
    if field_type is CustomFieldType.MONEY:
        values["currency"] = currency
    changes = diff_fields(definition, values)
    ctx.session.flush()
    changes["converted"] = (None, len(converted))
    record(ctx, CUSTOM_FIELD_UPDATED, definition.id, changes)
    ctx.extra.pop("custom_fields", None)
    return definition


def usage(ctx: Context, definition: CustomFieldDefinition) -> int:
    """How many records (the bin included) hold a value for this field."""
    model = records.record_type(definition.object_type).model
    held = model.custom[definition.key].as_string().is_not(None)
    query = select(func.count()).select_from(model).where(held)
    return ctx.session.scalar(query.execution_options(include_deleted=True)) or 0


def invalid_field(name: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError((name,), message)])


def _check_removed_options(
    ctx: Context, definition: CustomFieldDefinition, options: list[str]
) -> None:
    """Refuse to drop an option some record still holds, saying how many."""
    removed = [o for o in definition.options if o not in options]
    if not removed or definition.field_type not in CHOICE_TYPES:
        return
    model = records.record_type(definition.object_type).model
    counts = dict.fromkeys(removed, 0)
    for _id, custom in _holding(ctx, model, definition.key):
        value = custom.get(definition.key)
        held = value if isinstance(value, list) else [value]
        for option in held:
            if option in counts:
                counts[option] += 1
    used = [(o, n) for o, n in counts.items() if n]
    if used:
        option, count = used[0]
        noun = _noun(definition.object_type, count)
        raise invalid_field(
            "options",
            f"“{option}” is still used by {count:,} {noun}; change their value before removing it",
        )


def _holding(ctx: Context, model: Any, key: str) -> Iterator[tuple[uuid.UUID, dict[str, Any]]]:
    """(id, custom values) of every record, the bin included, holding a value for ``key``."""
    held = model.custom[key].as_string().is_not(None)
    query = select(model.id, model.custom).where(held).execution_options(include_deleted=True)
    for record_id, custom in ctx.session.execute(query.execution_options(yield_per=1000)):
        yield record_id, dict(custom or {})


def _noun(object_type: str, count: int) -> str:
    if count == 1:
        return object_type
    return str(records.record_type(object_type).plural)


def _show(value: Any) -> str:
    if isinstance(value, dict) and "amount" in value:
        value = f"{value['amount']} {value.get('currency', '')}".strip()
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = str(value)
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _convert(value: Any, old: CustomFieldType, target: CustomFieldDefinition) -> Any:
    """A stored value of type ``old`` as the ``target`` type stores it; ValueError if it
    would lose something."""
    new = CustomFieldType(target.field_type)
    raw: Any = value
    if isinstance(raw, list) and new is not CustomFieldType.MULTISELECT:
        if len(raw) != 1:
            raise ValueError("several options")
        raw = raw[0]
    if isinstance(raw, dict) and "amount" in raw and new is not CustomFieldType.MONEY:
        if new is CustomFieldType.TEXT:
            return f"{raw['amount']} {raw.get('currency', '')}".strip()
        raw = raw["amount"]
    if new is CustomFieldType.TEXT:
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        return _coerce(target, str(raw))
    if new is CustomFieldType.BOOLEAN and isinstance(raw, str):
        word = raw.strip().lower()
        if word not in _TRUE | _FALSE:
            raise ValueError("not yes or no")
        return word in _TRUE
    if new is CustomFieldType.MULTISELECT and not isinstance(raw, list):
        raw = [raw]
    if new is CustomFieldType.NUMBER and isinstance(raw, str) and not raw.strip():
        raise ValueError("empty")
    if isinstance(raw, bool) and new is not CustomFieldType.BOOLEAN:
        raise ValueError("a yes or no")
    if new in (CustomFieldType.NUMBER, CustomFieldType.MONEY) and isinstance(raw, str):
        raw = raw.strip().replace(",", "")
    return _coerce(target, raw)
