"""The deal page's custom fields: a panel (registered in ``sales/domain.py``) that shows the
workspace's deal fields, and the form in it that sets them (``POST /deals/{id}/custom``).

Every value arrives as text named ``custom.<key>``: an empty one clears the field, a
multi-select takes its options comma-separated, a yes/no field "true" or "false", money an
amount in the field's currency. The service checks each against its definition.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rapport.core.context import Context
from rapport.core.errors import Conflict, Invalid
from rapport.hub.models import CustomFieldDefinition
from rapport.hub.public import fields
from rapport.sales.models import Deal
from rapport.sales.schemas import DealPatch
from rapport.sales.service import deals
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
PREFIX = "custom."


def display(definition: CustomFieldDefinition, value: Any) -> str:
    """A stored value as a reader sees it."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict) and "amount" in value:
        return f"{value['amount']} {value.get('currency', '')}".strip()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def shown(definition: CustomFieldDefinition, value: Any) -> str:
    """What the field's input shows for a stored value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and "amount" in value:
        return str(value["amount"])
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def custom_panel(ctx: Context, deal: Deal) -> dict[str, Any] | None:
    """The panel's data: each deal field with its value; None when the workspace has none."""
    defs = fields.definitions(ctx, "deal")
    if not defs:
        return None
    rows = [
        {"key": key, "definition": d, "display": display(d, deal.custom.get(key)),
         "input": shown(d, deal.custom.get(key))}
        for key, d in sorted(defs.items(), key=lambda item: item[1].label.lower())
    ]  # fmt: skip
    return {"deal": deal, "rows": rows, "errors": {}, "can_write": ctx.can("deals:write")}


def _value(definition: CustomFieldDefinition, raw: str) -> Any:
    text = raw.strip()
    if not text:
        return None
    kind = definition.field_type
    if kind == "multiselect":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "boolean":
        lowered = text.lower()
        return lowered in ("true", "yes") if lowered in ("true", "yes", "false", "no") else text
    if kind == "money":
        return {"amount": text.replace(",", ""), "currency": definition.currency or ""}
    return text


@router.post("/deals/{deal_id}/custom", response_class=HTMLResponse)
async def save_custom(request: Request, page: Page, deal_id: uuid.UUID) -> Response:
    """Set the deal's custom values; the panel comes back with messages next to the fields."""
    page.ctx.require("deals:write")
    deal = deals.get(page.ctx, deal_id)
    form = await request.form()
    defs = fields.definitions(page.ctx, "deal")
    values = {key: _value(d, str(form.get(PREFIX + key) or ""))
              for key, d in defs.items() if PREFIX + key in form}  # fmt: skip
    version = str(form.get("version") or "")
    try:
        deals.update(
            page.ctx,
            deal_id,
            DealPatch.model_validate({"custom": values}),
            expected_version=int(version) if version.isdigit() else None,
        )
    except (Invalid, Conflict) as exc:
        data = custom_panel(page.ctx, deal) or {"rows": [], "deal": deal}
        errors: dict[str, str] = {}
        if isinstance(exc, Invalid):
            for e in exc.errors:
                if len(e.loc) > 1 and e.loc[0] == "custom":
                    errors[str(e.loc[1])] = e.message
        else:
            errors["form"] = "Someone else changed this deal meanwhile; reload to see it."
        for row in data["rows"]:
            if PREFIX + row["key"] in form:
                row["input"] = str(form.get(PREFIX + row["key"]) or "")
        data["errors"] = errors or {"form": exc.detail}
        data["can_write"] = True
        response = render(request, "sales/_deal_custom.html", panel_data=data, editing=True)
        response.status_code = 422
        return response
    toast(request, "Saved.")
    return redirect(request, f"/deals/{deal_id}")
