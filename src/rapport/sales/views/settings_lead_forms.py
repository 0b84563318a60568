"""Settings → Lead forms: the public web forms that capture leads.

List; add and edit (name, the optional fields it asks for, the sites allowed to post to it,
the source it stamps on its leads); delete after a confirmation page (its key stops working at
once); and the embed snippet, HTML to paste into a site, with a copy button. Every route needs
``workspace:manage`` (admins); the service audits every change.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape
from pydantic import ValidationError

from rapport.core.errors import Conflict, Invalid
from rapport.sales.models import LeadForm
from rapport.sales.schemas import LeadFormIn
from rapport.sales.service import leads
from rapport.web.forms import form_errors
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
BASE = "/settings/lead-forms"
FIELDS = [
    ("first_name", "First name", "text", "given-name"),
    ("last_name", "Last name", "text", "family-name"),
    ("phone", "Phone", "tel", "tel"),
    ("job_title", "Job title", "text", "organization-title"),
    ("message", "Message", "textarea", "off"),
]


def snippet(form: LeadForm, base_url: str) -> str:
    """The HTML a site pastes to show the form: it posts straight to Rapport."""
    action = f"{base_url}/api/v1/forms/{form.key}/submit"
    lines = [f'<form method="post" action="{escape(action)}">',
             '  <label>Email <input type="email" name="email" autocomplete="email" required>'
             "</label>"]  # fmt: skip
    for name, label, kind, autocomplete in FIELDS:
        if name not in form.fields:
            continue
        if kind == "textarea":
            lines.append(f'  <label>{label} <textarea name="{name}"></textarea></label>')
        else:
            lines.append(f'  <label>{label} <input type="{kind}" name="{name}" '
                         f'autocomplete="{autocomplete}"></label>')  # fmt: skip
    lines += [
        "  <!-- leave empty: a filled one marks a bot -->",
        '  <input type="text" name="website" tabindex="-1" autocomplete="off" hidden>',
        '  <button type="submit">Send</button>',
        "</form>",
    ]
    return "\n".join(lines)


def _origins(text: str) -> list[str]:
    return [o.strip() for o in text.replace(",", "\n").splitlines() if o.strip()]


def _errors(exc: Invalid | ValidationError) -> dict[str, str]:
    errors = form_errors(exc)
    if "name" in errors and "at least 1 character" in errors["name"]:
        errors["name"] = "Give the form a name."
    return errors


def _list(request: Request, page: Page, values: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
    page.ctx.require("workspace:manage")
    response = render(
        request,
        "sales/settings/lead_forms.html",
        title="Lead forms · Settings",
        forms=[f for f in leads.list_forms(page.ctx) if f.is_active],
        field_choices=FIELDS,
        values=values or {"fields": ["first_name", "last_name"]},
        errors=errors or {},
    )
    response.status_code = status
    return response


@router.get(BASE, response_class=HTMLResponse)
def lead_forms_page(request: Request, page: Page) -> HTMLResponse:
    """The workspace's lead forms and the form that adds one."""
    return _list(request, page)


def _data(name: str, origins: str, source: str, fields: list[str],
          redirect_url: str = "") -> dict[str, Any]:  # fmt: skip
    return {"name": name.strip(), "allowed_origins": _origins(origins),
            "source": source.strip() or None, "fields": fields,
            "redirect_url": redirect_url.strip() or None}  # fmt: skip


@router.post(BASE)
def create_lead_form(
    request: Request,
    page: Page,
    name: Annotated[str, Form(max_length=300)] = "",
    allowed_origins: Annotated[str, Form(max_length=5000)] = "",
    source: Annotated[str, Form(max_length=200)] = "",
    fields: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    redirect_url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Add a form; its page then shows the snippet to paste."""
    page.ctx.require("workspace:manage")
    values = {"name": name, "allowed_origins": allowed_origins, "source": source,
              "fields": fields, "redirect_url": redirect_url}  # fmt: skip
    try:
        data = _data(name, allowed_origins, source, fields, redirect_url)
        form = leads.create_form(page.ctx, LeadFormIn.model_validate(data))
    except (Invalid, ValidationError) as exc:
        return _list(request, page, values, _errors(exc), status=422)
    toast(request, f"“{form.name}” was added: paste its snippet into your site.")
    return redirect(request, f"{BASE}/{form.id}")


def _edit(request: Request, page: Page, form: LeadForm, values: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
    response = render(
        request,
        "sales/settings/lead_form.html",
        title=f"{form.name} · Lead forms",
        form=form,
        field_choices=FIELDS,
        snippet=snippet(form, str(request.base_url).rstrip("/")),
        values=values
        or {
            "name": form.name,
            "allowed_origins": "\n".join(form.allowed_origins),
            "source": form.source or "",
            "fields": form.fields,
            "redirect_url": form.redirect_url or "",
        },
        errors=errors or {},
    )
    response.status_code = status
    return response


@router.get(BASE + "/{form_id}", response_class=HTMLResponse)
def lead_form_page(request: Request, page: Page, form_id: uuid.UUID) -> HTMLResponse:
    """One form: its settings and its embed snippet."""
    return _edit(request, page, leads.get_form(page.ctx, form_id))


@router.post(BASE + "/{form_id}")
def update_lead_form(
    request: Request,
    page: Page,
    form_id: uuid.UUID,
    name: Annotated[str, Form(max_length=300)] = "",
    allowed_origins: Annotated[str, Form(max_length=5000)] = "",
    source: Annotated[str, Form(max_length=200)] = "",
    fields: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    version: Annotated[int | None, Form()] = None,
    redirect_url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Save the form's settings; its key, and so the snippets already pasted, stay."""
    form = leads.get_form(page.ctx, form_id)
    values = {"name": name, "allowed_origins": allowed_origins, "source": source,
              "fields": fields, "redirect_url": redirect_url}  # fmt: skip
    try:
        data = LeadFormIn.model_validate(_data(name, allowed_origins, source, fields, redirect_url))
        leads.update_form(page.ctx, form_id, data, expected_version=version)
    except (Invalid, ValidationError) as exc:
        return _edit(request, page, form, values, _errors(exc), status=422)
    except Conflict:
        page.ctx.session.refresh(form)
        message = "Someone else changed this form meanwhile; here it is as it is now."
        return _edit(request, page, form, errors={"name": message}, status=409)
    toast(request, "Saved.")
    return redirect(request, f"{BASE}/{form_id}")


@router.get(BASE + "/{form_id}/delete", response_class=HTMLResponse)
def confirm_delete_page(request: Request, page: Page, form_id: uuid.UUID) -> HTMLResponse:
    """Asks before deleting: the snippets already pasted stop working."""
    form = leads.get_form(page.ctx, form_id)
    return render(request, "sales/settings/lead_form_delete.html",
                  title=f"Delete {form.name} · Lead forms", form=form)  # fmt: skip


@router.post(BASE + "/{form_id}/delete")
def delete_lead_form(request: Request, page: Page, form_id: uuid.UUID) -> Response:
    """Retire the form: its key stops working at once."""
    form = leads.get_form(page.ctx, form_id)
    leads.delete_form(page.ctx, form_id)
    toast(request, f"“{form.name}” was deleted; its snippet no longer captures leads.")
    return redirect(request, BASE)
