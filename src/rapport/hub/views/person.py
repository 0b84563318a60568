"""A person's record page: the 360° summary, details (custom fields, company, tags,
communication preferences and consent) edited in place, the timeline, quick actions, and
delete with undo."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData

from rapport.core.errors import Conflict, FieldError, Invalid, NotFound, StaleWrite
from rapport.hub import lookups
from rapport.hub.labels import LABELS
from rapport.hub.models import (
    PREFERENCE_CHANNELS,
    ActivityKind,
    ChannelPreference,
    ConsentStatus,
    Direction,
)
from rapport.hub.schemas import ActivityIn, PersonPatch
from rapport.hub.service import fields, people, tags, timeline, timeline_read
from rapport.hub.service.timeline import CHANNELS
from rapport.hub.views import custom_fields
from rapport.hub.views.people import STAGES
from rapport.web.forms import PersonForm, form_errors, person_values, raw_form
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
TIMELINE_PAGE = 25
QUICK_KINDS = [
    ("call", "Call"), ("note", "Note"), ("meeting", "Meeting"), ("email", "Email"),
    ("purchase", "Purchase"),
]  # fmt: skip
KINDS = [(k.value, LABELS["activity_kind"].get(k.value, k.value)) for k in ActivityKind]
CONSENT = [(c.value, LABELS["consent"][c.value]) for c in ConsentStatus]
PREFERENCES = [(c.value, LABELS["channel_preference"][c.value]) for c in ChannelPreference]
CHANNEL_LABELS = {"email": "Email", "phone": "Phone", "sms": "SMS", "post": "Post"}
FRAGMENTS = {
    "details": "hub/people/_details.html",
    "timeline": "hub/people/_timeline.html",
    "more": "hub/people/_timeline_items.html",
    "communication": "hub/people/_communication.html",
    "logged": "hub/people/_logged.html",
    "stats": "hub/people/_stats.html",
}
ACTIVITY_LOGGED = "rapport:activity-logged"  # the event a logged activity triggers (HX-Trigger)
RawForm = Annotated[FormData, Depends(raw_form)]


class ActivityForm(BaseModel):
    """A quick action on the record page: log a call, a note, a meeting, an email or a
    purchase (with its amount and currency)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    kind: ActivityKind = ActivityKind.NOTE
    subject: str = Field(default="", max_length=500)
    body: str = Field(default="", max_length=100_000)
    amount: str = Field(default="", max_length=30)
    currency: str = Field(default="", max_length=3)


def _record(
    request: Request,
    page: Page,
    person_id: uuid.UUID,
    *,
    part: str = "",
    channel: str = "",
    kind: str = "",
    cursor: str | None = None,
    edit: bool = False,
    form: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    conflict: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    summary = timeline_read.summary(page.ctx, person_id)
    channel = channel if channel in CHANNELS else ""
    kind = kind if kind in {k for k, _ in KINDS} else ""
    activities = timeline_read.timeline(
        page.ctx,
        person_id,
        channels=[channel] if channel else (),
        kinds=[kind] if kind else (),
        limit=TIMELINE_PAGE,
        cursor=cursor,
    )
    person = summary.person
    owners = lookups.members(page.ctx)
    defs = fields.definitions(page.ctx, "person")
    edit_values = form or {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        "job_title": person.job_title,
        "lifecycle_stage": person.lifecycle_stage,
        "owner_id": str(person.owner_id or ""),
        "company": summary.company.name if summary.company else "",
        "source": person.source,
        "tags": ", ".join(t.name for t in person.tags),
        "version": person.version,
    }
    return render(
        request,
        "hub/people/record.html",
        fragment=FRAGMENTS.get(part),
        status_code=status_code,
        title=person.full_name or person.email or "Person",
        summary=summary,
        person=person,
        activities=activities,
        channel=channel,
        kind=kind,
        kinds_all=KINDS,
        channels=[c.channel for c in summary.channels],
        all_channels=CHANNELS,
        owners=owners,
        owner_names={m.user_id: m.name for m in owners},
        custom_defs=defs,
        custom_values=custom if custom is not None else custom_fields.shown(defs, person.custom),
        show_custom=custom_fields.display,
        stages=STAGES,
        kinds=QUICK_KINDS,
        consent_choices=CONSENT,
        preference_choices=PREFERENCES,
        preference_channels=[(c, CHANNEL_LABELS.get(c, c)) for c in PREFERENCE_CHANNELS],
        edit=edit,
        edit_values=edit_values,
        errors=errors or {},
        error=error,
        conflict=conflict,
        can_write=page.ctx.can("people:write"),
        can_delete=page.ctx.can("people:delete"),
        can_log=page.ctx.can("activities:write"),
    )


def timeline_url(person_id: uuid.UUID, **params: str) -> str:
    """The timeline's URL with its filters (used by the templates' links)."""
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return f"/people/{person_id}" + ("?" + query if query else "")


@router.get("/people/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request,
    page: Page,
    person_id: uuid.UUID,
    part: str = "",
    channel: Annotated[str, Query(max_length=30)] = "",
    kind: Annotated[str, Query(max_length=30)] = "",
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    edit: bool = False,
) -> HTMLResponse:
    """The 360° view; HTMX asks for the details, the timeline or its next page alone."""
    return _record(
        request, page, person_id, part=part, channel=channel, kind=kind, cursor=cursor, edit=edit
    )


def _company_id(page: Page, name: str) -> uuid.UUID | None:
    """The company the form names (exact name); Invalid with a message for the field."""
    if not name:
        return None
    found = lookups.company_by_name(page.ctx, name)
    if found is None:
        message = f"No company is called “{name}”; add it first, or pick one from the list."
        raise Invalid(message, errors=[FieldError(("company",), message, "unknown-company")])
    return found


@router.post("/people/{person_id}")
def update_person(
    request: Request,
    page: Page,
    person_id: uuid.UUID,
    form: Annotated[PersonForm, Form()],
    raw: RawForm,
) -> Response:
    """Save the details form; a stale form is refused with a clear message, never applied."""
    page.ctx.require("people:write")
    defs = fields.definitions(page.ctx, "person")
    typed = custom_fields.raw_values(defs, raw)
    try:
        values = person_values(form, for_update=True)
        values["company_id"] = _company_id(page, form.company)
        values["custom"] = custom_fields.from_form(defs, raw)
        patch = PersonPatch.model_validate(values)
        people.update(page.ctx, person_id, patch, expected_version=form.version)
    except StaleWrite:
        message = "Someone else changed this person while you were editing; nothing was saved."
        return _record(
            request, page, person_id, part="details", edit=True, form=form.model_dump(),
            custom=typed, error=message, conflict=True,
        )  # fmt: skip
    except (Invalid, Conflict, ValidationError) as exc:
        errors = form_errors(exc)
        return _record(
            request, page, person_id, part="details", edit=True, form=form.model_dump(),
            custom=typed, errors=errors, error=None if errors else str(exc),
        )  # fmt: skip
    toast(request, "Saved.")
    if request.headers.get("hx-request"):
        return _record(request, page, person_id, part="details")
    return redirect(request, f"/people/{person_id}")


class PreferencesForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    consent_status: ConsentStatus = ConsentStatus.UNKNOWN
    email: ChannelPreference = ChannelPreference.UNKNOWN
    phone: ChannelPreference = ChannelPreference.UNKNOWN
    sms: ChannelPreference = ChannelPreference.UNKNOWN
    post: ChannelPreference = ChannelPreference.UNKNOWN
    version: int | None = None


@router.post("/people/{person_id}/communication")
def update_communication(
    request: Request, page: Page, person_id: uuid.UUID, form: Annotated[PreferencesForm, Form()]
) -> Response:
    """Save the consent status and the per-channel preferences (version-checked)."""
    patch = PersonPatch(
        consent_status=form.consent_status,
        preferences={c: getattr(form, c) for c in PREFERENCE_CHANNELS},
    )
    try:
        people.update(page.ctx, person_id, patch, expected_version=form.version)
    except StaleWrite:
        toast(request, "Someone else changed this person meanwhile; nothing was saved. "
                       "The current preferences are shown.", "error")  # fmt: skip
    else:
        toast(request, "Communication preferences saved.")
    if request.headers.get("hx-request"):
        return _record(request, page, person_id, part="communication")
    return redirect(request, f"/people/{person_id}")


@router.post("/people/{person_id}/tags")
def add_tag(
    request: Request,
    page: Page,
    person_id: uuid.UUID,
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Give the person one or more tags (comma-separated)."""
    names = [n.strip() for n in name.split(",") if n.strip()]
    if names:
        tags.add_tags(page.ctx, "person", [person_id], names)
        toast(request, "Tagged.")
    else:
        toast(request, "Type a tag name first.", "error")
    if request.headers.get("hx-request"):
        return _record(request, page, person_id, part="details")
    return redirect(request, f"/people/{person_id}")


@router.post("/people/{person_id}/tags/remove")
def remove_tag(
    request: Request,
    page: Page,
    person_id: uuid.UUID,
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Take one tag off the person."""
    if name.strip():
        tags.remove_tags(page.ctx, "person", [person_id], [name])
        toast(request, f"Removed the tag “{name.strip()}”.", "info")
    if request.headers.get("hx-request"):
        return _record(request, page, person_id, part="details")
    return redirect(request, f"/people/{person_id}")


def _purchase(form: ActivityForm) -> tuple[Decimal | None, str | None, str | None]:
    """(amount, currency, problem) of a purchase form."""
    try:
        amount = Decimal(form.amount.replace(",", "")) if form.amount else None
    except InvalidOperation:
        return None, None, f"“{form.amount}” is not an amount; write it like 129.90."
    if amount is None:
        return None, None, "A purchase needs an amount."
    if not amount.is_finite() or amount < 0:
        return None, None, "The amount must be a positive number."
    currency = form.currency.upper()
    if len(currency) != 3 or not currency.isalpha():
        return None, None, "Give the currency as a three-letter code, e.g. EUR."
    return amount.quantize(Decimal("0.01")), currency, None


@router.post("/people/{person_id}/activities")
def log_activity(
    request: Request, page: Page, person_id: uuid.UUID, form: Annotated[ActivityForm, Form()]
) -> Response:
    """Log a call, note, meeting, email or purchase on the person's timeline."""
    direction = Direction.INTERNAL if form.kind == ActivityKind.NOTE else Direction.OUTBOUND
    amount, currency, problem = None, None, None
    if form.kind == ActivityKind.PURCHASE:
        direction = Direction.INBOUND
        amount, currency, problem = _purchase(form)
    try:
        if problem:
            raise Invalid(problem)
        timeline.log(
            page.ctx,
            ActivityIn(
                kind=form.kind,
                direction=direction,
                subject=form.subject or None,
                body=form.body or None,
                person_id=person_id,
                amount=amount,
                currency=currency,
            ),
        )
    except Invalid as exc:
        toast(request, exc.detail, "error")
    else:
        toast(request, f"{form.kind.value.capitalize()} logged.")
    if request.headers.get("hx-request"):
        # the timeline, and the figures swapped out of band; panels may listen to the event
        response = _record(request, page, person_id, part="logged")
        response.headers["HX-Trigger"] = ACTIVITY_LOGGED
        return response
    return redirect(request, f"/people/{person_id}")


@router.post("/people/{person_id}/delete")
def delete_person(request: Request, page: Page, person_id: uuid.UUID) -> Response:
    """Move the person to the bin; the toast that follows offers to undo it."""
    person = people.delete(page.ctx, person_id)
    toast(
        request,
        f"{person.full_name or person.email or 'The person'} was moved to the bin.",
        "info",
        action=f"/people/{person_id}/restore",
        action_label="Undo",
    )
    return redirect(request, "/people")


@router.post("/people/{person_id}/restore")
def restore_person(request: Request, page: Page, person_id: uuid.UUID) -> Response:
    """Bring the person back from the bin (the Undo of a delete)."""
    try:
        person = people.restore(page.ctx, person_id)
    except NotFound:
        toast(request, "This person is gone for good and cannot be restored.", "error")
        return redirect(request, "/people")
    toast(request, f"{person.full_name or person.email or 'The person'} was restored.")
    return redirect(request, f"/people/{person_id}")
