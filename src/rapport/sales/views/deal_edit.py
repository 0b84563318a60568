"""A deal's fields edited in place on its page, one at a time.

The editor of a field is fetched when the member opens it, with the deal's version and the
field's value at that moment. Saving sends both back: if the deal changed meanwhile and this
field with it, nothing is saved and the editor shows the other change next to the member's
(``web/_inline_edit.html``'s conflict notice): keep mine (saved over the version now shown) or
take theirs. A change to another field only is not a conflict: the edit is applied on top.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from rapport.core.errors import Conflict, Invalid, NotFound, StaleWrite
from rapport.hub.public import lookups
from rapport.sales.models import Deal, DealStatus
from rapport.sales.schemas import DealPatch
from rapport.sales.service import deals, pipelines
from rapport.sales.views import deals as deal_views
from rapport.web.forms import form_errors
from rapport.web.render import is_htmx, redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
REFUSED_HEADER = "X-Rapport-Refused"


@dataclass(frozen=True)
class DealField:
    name: str
    label: str
    kind: str  # text, amount, currency, date, stage, owner, company, person


FIELDS = {
    f.name: f
    for f in (
        DealField("title", "Title", "text"),
        DealField("amount", "Amount", "amount"),
        DealField("currency", "Currency", "currency"),
        DealField("expected_close_date", "Expected close", "date"),
        DealField("stage", "Stage", "stage"),
        DealField("pipeline", "Pipeline", "stage"),
        DealField("owner", "Owner", "owner"),
        DealField("company", "Company", "company"),
        DealField("person", "Contact", "person"),
    )
}


def field_value(page: Page, deal: Deal, name: str) -> str:
    """The field's value as its editor holds it (what "original" compares)."""
    if name == "title":
        return deal.title
    if name == "amount":
        return f"{deal.amount:f}"
    if name == "currency":
        return deal.currency
    if name == "expected_close_date":
        return deal.expected_close_date.isoformat() if deal.expected_close_date else ""
    if name in ("stage", "pipeline"):
        return str(deal.stage_id)
    if name == "owner":
        return str(deal.owner_id or "")
    if name == "company":
        names = lookups.company_names(page.ctx, [deal.company_id])
        return names.get(deal.company_id, "") if deal.company_id else ""
    return lookups.person_of(page.ctx, deal.person_id) or ""


def _parse(page: Page, deal: Deal, name: str, value: str) -> dict[str, Any]:
    """The patch for the typed value; Invalid with a message for the field."""
    value = value.strip()
    if name == "title":
        if not value:
            raise Invalid("Give the deal a title.")
        return {"title": value}
    if name == "amount":
        try:
            amount = Decimal(value.replace(",", "") or "0")
        except InvalidOperation:
            raise Invalid("Enter a number, like 1200 or 1200.50.") from None
        if not amount.is_finite() or amount < 0:
            raise Invalid("The amount must be zero or more.")
        return {"amount": amount}
    if name == "currency":
        return {"currency": value.upper()}
    if name == "expected_close_date":
        try:
            return {"expected_close_date": date.fromisoformat(value) if value else None}
        except ValueError:
            raise Invalid("Pick a date, like 2026-12-31.") from None
    if name == "owner":
        members = {str(m.user_id) for m in lookups.members(page.ctx)}
        if value and value not in members:
            raise Invalid("Pick a member of the workspace.")
        return {"owner_id": uuid.UUID(value) if value else None}
    if name == "company":
        company_id = lookups.company_by_name(page.ctx, value) if value else None
        if value and company_id is None:
            raise Invalid(f"No company is called “{value}”; pick one from the list.")
        return {"company_id": company_id}
    if name == "person":
        person_id = lookups.person_by_label(page.ctx, value) if value else None
        if value and person_id is None:
            raise Invalid(f"Nobody is called “{value}”; pick a person from the list.")
        return {"person_id": person_id}
    raise NotFound("No such field")


def _save(page: Page, deal: Deal, name: str, value: str, version: int) -> None:
    if name in ("stage", "pipeline"):
        try:
            stage_id = uuid.UUID(value)
        except ValueError:
            raise Invalid("Pick a stage.") from None
        deals.move_to_pipeline(page.ctx, deal.id, stage_id, expected_version=version)
        return
    patch = DealPatch.model_validate(_parse(page, deal, name, value))
    deals.update(page.ctx, deal.id, patch, expected_version=version)


def _display(page: Page, deal: Deal, name: str) -> str:
    """The value as the conflict notice shows it."""
    if name == "amount":
        return f"{deal.amount:,.2f}".removesuffix(".00") + f" {deal.currency}"
    if name in ("stage", "pipeline"):
        pipeline = pipelines.get(page.ctx, deal.pipeline_id)
        stage = {s.id: s.name for s in pipelines.stages_of(page.ctx, deal.pipeline_id)}
        return f"{pipeline.name} · {stage.get(deal.stage_id, '—')}"
    if name == "owner":
        owners = {m.user_id: m.name for m in lookups.members(page.ctx)}
        return owners.get(deal.owner_id, "—") if deal.owner_id else "—"
    if name == "expected_close_date":
        return deal.expected_close_date.strftime("%-d %b %Y") if deal.expected_close_date else "—"
    return field_value(page, deal, name) or "—"


def _typed_display(page: Page, deal: Deal, name: str, value: str) -> str:
    if name in ("stage", "pipeline"):
        for pipeline, stages in pipelines.list_pipelines(page.ctx):
            for stage in stages:
                if str(stage.id) == value:
                    return f"{pipeline.name} · {stage.name}"
    if name == "owner":
        owners = {str(m.user_id): m.name for m in lookups.members(page.ctx)}
        return owners.get(value, "—")
    return value or "—"


def _editor(
    request: Request,
    page: Page,
    deal: Deal,
    name: str,
    *,
    value: str | None = None,
    error: str | None = None,
    conflict: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    spec = FIELDS[name]
    choices = pipelines.list_pipelines(page.ctx) if spec.kind == "stage" else []
    return render(
        request,
        "sales/deals/_field_editor.html",
        status_code=status_code,
        deal=deal,
        field=spec,
        value=field_value(page, deal, name) if value is None else value,
        original=field_value(page, deal, name),
        error=error,
        conflict=conflict,
        members=lookups.members(page.ctx) if spec.kind == "owner" else [],
        stage_choices=[
            (p, [s for s in stages if not (s.is_won or s.is_lost)]) for p, stages in choices
        ],
    )


def _field_or_404(name: str) -> DealField:
    if name not in FIELDS:
        raise NotFound("No such field")
    return FIELDS[name]


@router.get("/deals/{deal_id}/fields/{name}", response_class=HTMLResponse)
def field_editor(request: Request, page: Page, deal_id: uuid.UUID, name: str) -> HTMLResponse:
    """The editor of one field, at the deal's current version."""
    _field_or_404(name)
    page.ctx.require("deals:write")
    deal = deals.get(page.ctx, deal_id)
    if name in ("stage", "pipeline") and deal.status != DealStatus.OPEN:
        raise Conflict("A closed deal changes stage by being reopened")
    return _editor(request, page, deal, name)


@router.post("/deals/{deal_id}/fields/{name}")
def save_field(
    request: Request,
    page: Page,
    deal_id: uuid.UUID,
    name: str,
    value: Annotated[str, Form(max_length=300)] = "",
    original: Annotated[str, Form(max_length=300)] = "",
    version: Annotated[int, Form()] = 0,
) -> Response:
    """Save one field. A deal changed meanwhile in this field is a conflict: nothing is saved
    and the editor shows both values (HTMX: 200 with ``X-Rapport-Refused: conflict``; a plain
    form: 409)."""
    spec = _field_or_404(name)
    page.ctx.require("deals:write")
    deal = deals.get(page.ctx, deal_id)
    if deal.version != version:
        if field_value(page, deal, name) != original:
            conflict = {
                "theirs": _display(page, deal, name),
                "yours": _typed_display(page, deal, name, value),
                "label": spec.label,
            }
            response = _editor(
                request, page, deal, name, value=value, conflict=conflict,
                status_code=200 if is_htmx(request) else 409,
            )  # fmt: skip
            response.headers[REFUSED_HEADER] = "conflict"
            response.headers["HX-Retarget"] = f"#deal-field-{name}"
            return response
        version = deal.version  # another field changed: this one is applied on top
    try:
        _save(page, deal, name, value, version)
    except StaleWrite:  # changed between our read and the write: show it as it is now
        page.ctx.session.refresh(deal)
        conflict = {"theirs": _display(page, deal, name), "label": spec.label,
                    "yours": _typed_display(page, deal, name, value)}  # fmt: skip
        response = _editor(request, page, deal, name, value=value, conflict=conflict)
        response.headers[REFUSED_HEADER] = "conflict"
        response.headers["HX-Retarget"] = f"#deal-field-{name}"
        return response
    except (Invalid, Conflict, ValidationError) as exc:
        errors = form_errors(exc)
        message = next(iter(errors.values()), None) if errors else None
        detail = message or getattr(exc, "detail", None) or str(exc)
        response = _editor(
            request, page, deal, name, value=value, error=detail,
            status_code=200 if is_htmx(request) else 422,
        )  # fmt: skip
        response.headers[REFUSED_HEADER] = "invalid"
        response.headers["HX-Retarget"] = f"#deal-field-{name}"
        return response
    toast(request, f"{spec.label} saved.")
    if is_htmx(request):
        return saved_fragment(request, page, deal.id)
    return redirect(request, f"/deals/{deal.id}")


def saved_fragment(request: Request, page: Page, deal_id: uuid.UUID) -> HTMLResponse:
    """The details card as saved, with the header, figures and actions swapped out of band."""
    return deal_views.render_deal(request, page, deal_id, part="saved")
