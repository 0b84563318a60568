"""A person's record page: the 360° summary, details edited in place, and the timeline."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rapport.core.errors import Conflict, Invalid, StaleWrite
from rapport.hub.models import ActivityKind, Direction
from rapport.hub.schemas import ActivityIn, PersonPatch
from rapport.hub.service import fields, people, timeline, timeline_read
from rapport.hub.service.timeline import CHANNELS
from rapport.web import lookups
from rapport.web.forms import PersonForm, form_errors, person_values
from rapport.web.people_views import STAGES
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
TIMELINE_PAGE = 25
QUICK_KINDS = [("call", "Call"), ("note", "Note"), ("meeting", "Meeting"), ("email", "Email")]
FRAGMENTS = {
    "details": "people/_details.html",
    "timeline": "people/_timeline.html",
    "more": "people/_timeline_items.html",
}


class ActivityForm(BaseModel):
    """A quick action on the record page: log a call, a note, a meeting or an email."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    kind: ActivityKind = ActivityKind.NOTE
    subject: str = Field(default="", max_length=500)
    body: str = Field(default="", max_length=100_000)


def _record(
    request: Request,
    page: Page,
    person_id: uuid.UUID,
    *,
    part: str = "",
    channel: str = "",
    cursor: str | None = None,
    edit: bool = False,
    form: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    conflict: bool = False,
) -> HTMLResponse:
    summary = timeline_read.summary(page.ctx, person_id)
    activities = timeline_read.timeline(
        page.ctx,
        person_id,
        channels=[channel] if channel else (),
        limit=TIMELINE_PAGE,
        cursor=cursor,
    )
    person = summary.person
    owners = lookups.members(page.ctx)
    edit_values = form or {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        "job_title": person.job_title,
        "lifecycle_stage": person.lifecycle_stage,
        "owner_id": str(person.owner_id or ""),
        "source": person.source,
        "tags": ", ".join(t.name for t in person.tags),
        "version": person.version,
    }
    return render(
        request,
        "people/record.html",
        fragment=FRAGMENTS.get(part),
        title=person.full_name or person.email or "Person",
        summary=summary,
        person=person,
        activities=activities,
        channel=channel,
        channels=[c.channel for c in summary.channels],
        all_channels=CHANNELS,
        owners=owners,
        owner_names={m.user_id: m.name for m in owners},
        custom_labels={d.key: d.label for d in fields.definitions(page.ctx, "person").values()},
        stages=STAGES,
        kinds=QUICK_KINDS,
        edit=edit,
        edit_values=edit_values,
        errors=errors or {},
        error=error,
        conflict=conflict,
        can_write=page.ctx.can("people:write"),
        can_log=page.ctx.can("activities:write"),
    )


@router.get("/people/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request,
    page: Page,
    person_id: uuid.UUID,
    part: str = "",
    channel: Annotated[str, Query(max_length=30)] = "",
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    edit: bool = False,
) -> HTMLResponse:
    """The 360° view; HTMX asks for the details, the timeline or its next page alone."""
    return _record(request, page, person_id, part=part, channel=channel, cursor=cursor, edit=edit)


@router.post("/people/{person_id}")
def update_person(
    request: Request, page: Page, person_id: uuid.UUID, form: Annotated[PersonForm, Form()]
) -> Response:
    """Save the details form; a stale form is refused with a clear message, never applied."""
    try:
        patch = PersonPatch.model_validate(person_values(form, for_update=True))
        people.update(page.ctx, person_id, patch, expected_version=form.version)
    except StaleWrite:
        message = "Someone else changed this person while you were editing; nothing was saved."
        return _record(
            request, page, person_id, part="details", edit=True, form=form.model_dump(),
            error=message, conflict=True,
        )  # fmt: skip
    except (Invalid, Conflict, ValidationError) as exc:
        errors = form_errors(exc)
        return _record(
            request, page, person_id, part="details", edit=True, form=form.model_dump(),
            errors=errors, error=None if errors else str(exc),
        )  # fmt: skip
    toast(request, "Saved.")
    if request.headers.get("hx-request"):
        return _record(request, page, person_id, part="details")
    return redirect(request, f"/people/{person_id}")


@router.post("/people/{person_id}/activities")
def log_activity(
    request: Request, page: Page, person_id: uuid.UUID, form: Annotated[ActivityForm, Form()]
) -> Response:
    """Log a call, note, meeting or email on the person's timeline."""
    direction = Direction.INTERNAL if form.kind == ActivityKind.NOTE else Direction.OUTBOUND
    try:
        timeline.log(
            page.ctx,
            ActivityIn(
                kind=form.kind,
                direction=direction,
                subject=form.subject or None,
                body=form.body or None,
                person_id=person_id,
            ),
        )
    except Invalid as exc:
        toast(request, exc.detail, "error")
    else:
        toast(request, f"{form.kind.value.capitalize()} logged.")
    if request.headers.get("hx-request"):
        return _record(request, page, person_id, part="timeline")
    return redirect(request, f"/people/{person_id}")
