"""Settings → Custom fields: the workspace's own fields on people and companies.

List by record type; add (label, key derived from it, type, options); edit label and options;
change the type when no stored value would be lost; archive (hidden, data kept) and restore.
Every route needs ``fields:write`` (admins); the service audits every change.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from rapport.core.errors import Conflict, Invalid
from rapport.hub.models import CustomFieldDefinition, CustomFieldType
from rapport.hub.schemas import FieldDefinitionIn, FieldDefinitionPatch
from rapport.hub.service import fields
from rapport.web.forms import form_errors
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
BASE = "/settings/fields"
OBJECT_TYPES = (("person", "People"), ("company", "Companies"), ("deal", "Deals"))
TYPE_LABELS = {
    "text": "Text",
    "number": "Number",
    "boolean": "Yes / no",
    "date": "Date",
    "select": "One of a list",
    "multiselect": "Several of a list",
    "money": "Money",
}
TYPES = [(t.value, TYPE_LABELS[t.value]) for t in CustomFieldType]


def derive_key(label: str) -> str:
    """``"Last NPS score"`` → ``last_nps_score``: the key filters and the API name it by."""
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if key and not key[0].isalpha():
        key = f"f_{key}"
    return key[:64]


def _options(text: str) -> list[str]:
    """One option a line (commas also separate them), blanks dropped."""
    parts = re.split(r"[\n,]", text)
    return [p.strip() for p in parts if p.strip()]


def _object_type(value: str) -> str:
    return value if value in dict(OBJECT_TYPES) else "person"


def _list(request: Request, page: Page, object_type: str, values: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
    page.ctx.require("fields:write")
    rows = fields.list_definitions(page.ctx, object_type)
    response = render(
        request,
        "hub/settings/fields.html",
        title="Custom fields · Settings",
        object_type=object_type,
        object_types=OBJECT_TYPES,
        active=[d for d in rows if d.archived_at is None],
        archived=[d for d in rows if d.archived_at is not None],
        type_labels=TYPE_LABELS,
        types=TYPES,
        values=values or {"field_type": "text"},
        errors=errors or {},
    )
    response.status_code = status
    return response


@router.get(BASE, response_class=HTMLResponse)
def fields_page(request: Request, page: Page, type: str = "person") -> HTMLResponse:
    """The custom fields of one record type, and the form that adds one."""
    return _list(request, page, _object_type(type))


@router.post(BASE)
def create_field(
    request: Request,
    page: Page,
    object_type: Annotated[str, Form(max_length=20)] = "person",
    label: Annotated[str, Form(max_length=300)] = "",
    key: Annotated[str, Form(max_length=100)] = "",
    field_type: Annotated[str, Form(max_length=20)] = "text",
    options: Annotated[str, Form(max_length=20_000)] = "",
    currency: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Add a field; the form comes back with a message next to what it could not take."""
    page.ctx.require("fields:write")
    kind = _object_type(object_type)
    values = {"label": label, "key": key, "field_type": field_type, "options": options,
              "currency": currency}  # fmt: skip
    errors: dict[str, str] = {}
    if not label.strip():
        errors["label"] = "Give the field a name."
    derived = key.strip() or derive_key(label)
    if label.strip() and not derived:
        errors["key"] = "Give a key of letters, digits and underscores."
    if not errors:
        try:
            data = FieldDefinitionIn.model_validate(
                {
                    "object_type": kind,
                    "key": derived,
                    "label": label.strip(),
                    "field_type": field_type,
                    "options": _options(options),
                    "currency": currency.strip() or None,
                }
            )
            definition = fields.create_definition(page.ctx, data)
        except ValidationError as exc:
            errors = form_errors(exc)
        except Invalid as exc:
            errors = form_errors(exc) or {"label": exc.detail}
        except Conflict:
            errors = {"key": f"A field with the key “{derived}” exists already (maybe archived)."}
    if errors:
        if "object_type" in errors:
            errors["label"] = errors.pop("object_type")
        return _list(request, page, kind, values, errors, status=422)
    toast(request, f"“{definition.label}” was added.")
    return redirect(request, f"{BASE}?type={kind}")


def _edit(request: Request, page: Page, definition: CustomFieldDefinition,
          values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> HTMLResponse:  # fmt: skip
    page.ctx.require("fields:write")
    response = render(
        request,
        "hub/settings/field_edit.html",
        title=f"{definition.label} · Custom fields",
        field=definition,
        object_label=dict(OBJECT_TYPES).get(definition.object_type, definition.object_type),
        used=fields.usage(page.ctx, definition),
        type_labels=TYPE_LABELS,
        types=TYPES,
        values=values
        or {
            "label": definition.label,
            "options": "\n".join(definition.options),
            "field_type": definition.field_type,
            "currency": definition.currency or "",
        },
        errors=errors or {},
    )
    response.status_code = status
    return response


@router.get(BASE + "/{field_id}", response_class=HTMLResponse)
def edit_field_page(request: Request, page: Page, field_id: uuid.UUID) -> HTMLResponse:
    """One field: its label and options, its type, archive or restore."""
    page.ctx.require("fields:write")
    return _edit(request, page, fields.get_definition(page.ctx, field_id))


@router.post(BASE + "/{field_id}")
def update_field(
    request: Request,
    page: Page,
    field_id: uuid.UUID,
    label: Annotated[str, Form(max_length=300)] = "",
    options: Annotated[str, Form(max_length=20_000)] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    """Save the label and (for a choice field) the options."""
    page.ctx.require("fields:write")
    definition = fields.get_definition(page.ctx, field_id)
    values = {"label": label, "options": options, "field_type": definition.field_type,
              "currency": definition.currency or ""}  # fmt: skip
    changes: dict[str, Any] = {"label": label.strip()}
    if definition.field_type in ("select", "multiselect"):
        changes["options"] = _options(options)
    try:
        if not label.strip():
            raise fields.invalid_field("label", "Give the field a name.")
        patch = FieldDefinitionPatch.model_validate(changes)
        fields.update_definition(page.ctx, field_id, patch, expected_version=version)
    except (Invalid, ValidationError) as exc:
        return _edit(request, page, definition, values, form_errors(exc), status=422)
    except Conflict:
        message = "Someone else changed this field meanwhile; here it is as it is now."
        page.ctx.session.refresh(definition)
        return _edit(request, page, definition, errors={"label": message}, status=409)
    toast(request, "Saved.")
    return redirect(request, f"{BASE}/{field_id}")


@router.post(BASE + "/{field_id}/type")
def change_field_type(
    request: Request,
    page: Page,
    field_id: uuid.UUID,
    field_type: Annotated[str, Form(max_length=20)] = "",
    options: Annotated[str, Form(max_length=20_000)] = "",
    currency: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Change the type if every stored value converts; otherwise say how many would not."""
    page.ctx.require("fields:write")
    definition = fields.get_definition(page.ctx, field_id)
    values = {"label": definition.label, "options": options or "\n".join(definition.options),
              "field_type": field_type, "currency": currency}  # fmt: skip
    try:
        try:
            kind = CustomFieldType(field_type)
        except ValueError:
            raise fields.invalid_field("field_type", "Choose one of the types.") from None
        chosen = _options(options) if options.strip() else None
        fields.change_type(
            page.ctx, field_id, kind, options=chosen, currency=currency.strip() or None
        )
    except Invalid as exc:
        errors = form_errors(exc)
        if not errors:
            errors = {"field_type": exc.detail}
        return _edit(request, page, definition, values, errors, status=422)
    toast(request, f"“{definition.label}” is now {TYPE_LABELS[field_type].lower()}.")
    return redirect(request, f"{BASE}/{field_id}")


@router.post(BASE + "/{field_id}/archive")
def archive_field(request: Request, page: Page, field_id: uuid.UUID) -> Response:
    """Hide the field from forms, lists and filters; its values stay."""
    definition = fields.archive_definition(page.ctx, field_id)
    toast(request, f"“{definition.label}” was archived; its values are kept.")
    return redirect(request, f"{BASE}?type={definition.object_type}")


@router.post(BASE + "/{field_id}/restore")
def restore_field(request: Request, page: Page, field_id: uuid.UUID) -> Response:
    """Bring an archived field back with its values."""
    definition = fields.restore_definition(page.ctx, field_id)
    toast(request, f"“{definition.label}” is back.")
    return redirect(request, f"{BASE}?type={definition.object_type}")
