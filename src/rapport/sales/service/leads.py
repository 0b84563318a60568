"""Lead capture: public web forms and the API. Each lead becomes or updates a person (matched
by email) through the hub's bulk upsert, keeps its source and UTM fields in
``lead_submissions``, and appears on the person's timeline as a web note."""

from __future__ import annotations

import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.core.context import Context, system_context
from rapport.core.db import get_scoped
from rapport.core.errors import FieldError, Forbidden, Invalid, NotFound, RateLimited, invalid
from rapport.core.events import record
from rapport.hub import validation
from rapport.hub.models import ActivityKind, Direction, Person, PersonEmail
from rapport.hub.schemas import ActivityIn, PersonIn
from rapport.hub.service import bulk, timeline
from rapport.sales.models import LeadForm, LeadSubmission
from rapport.sales.schemas import LeadFormIn, LeadIn, LeadOut
from rapport.sales.service.ratelimit import TokenBucket

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
FORM_LIMIT = TokenBucket(capacity=5, period=60.0)  # per form and client address
FORM_ACTIVITY_SOURCE = "lead_form"


def create_form(ctx: Context, data: LeadFormIn) -> LeadForm:
    """A public form with a fresh random key and the sites allowed to post to it."""
    ctx.require("workspace:manage")
    origins = [_origin(o, ("allowed_origins", i)) for i, o in enumerate(data.allowed_origins)]
    form = LeadForm(
        workspace_id=ctx.workspace_id,
        name=data.name,
        key=secrets.token_urlsafe(24),
        allowed_origins=origins,
        source=data.source,
    )
    ctx.session.add(form)
    ctx.session.flush()
    record(ctx, "lead_form.created", form.id, {"name": (None, form.name)})
    return form


def list_forms(ctx: Context) -> list[LeadForm]:
    """The workspace's lead forms."""
    ctx.require("workspace:manage")
    return list(ctx.session.scalars(select(LeadForm).order_by(LeadForm.created_at)))


def delete_form(ctx: Context, form_id: uuid.UUID) -> None:
    """Retire a form: its key stops working at once."""
    ctx.require("workspace:manage")
    form = get_scoped(ctx.session, LeadForm, form_id)
    if form is None:
        raise NotFound("No lead form with this id")
    form.is_active = False
    ctx.session.flush()
    record(ctx, "lead_form.deleted", form.id, {"is_active": (True, False)})


def preflight(session: Session, key: str, origin: str | None) -> dict[str, str]:
    """CORS preflight headers: permissive only for an origin the form allows."""
    form = _form_by_key(session, key)
    headers = {"Vary": "Origin"}
    if origin and origin in form.allowed_origins:
        headers |= {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        }
    return headers


def submit_form(
    session: Session, key: str, data: LeadIn, *, origin: str | None, client: str
) -> tuple[LeadOut, dict[str, str]]:
    """A public submission: checks origin, rate and honeypot, then captures the lead as the
    form's workspace. Returns the outcome and the CORS headers for the response.

    1. an unknown or retired key is 404; a browser origin the form does not allow is 403;
    2. more than the bucket allows from one address is 429 with Retry-After;
    3. a filled honeypot answers like a success but stores nothing (bots learn nothing).
    """
    form = _form_by_key(session, key)
    cors = {"Vary": "Origin"}
    if origin is not None:
        if origin not in form.allowed_origins:
            raise Forbidden("This site may not post to this form")
        cors["Access-Control-Allow-Origin"] = origin
    wait = FORM_LIMIT.take((form.id, client))
    if wait is not None:
        error = RateLimited(f"Too many submissions; retry in {wait} s")
        error.headers = {"Retry-After": str(wait), **cors}  # type: ignore[attr-defined]
        raise error
    if data.website:
        return LeadOut(status="ignored"), cors
    session.info["workspace_id"] = form.workspace_id
    ctx = system_context(session, form.workspace_id)
    return capture(ctx, data, form=form), cors


def capture(ctx: Context, data: LeadIn, *, form: LeadForm | None = None) -> LeadOut:
    """Create or update the person by email, store the submission, log it on the timeline."""
    ctx.require("leads:write")
    source = data.source or (form.source if form else None) or ("web form" if form else "api")
    fields: dict[str, Any] = {
        k: v
        for k in ("email", "first_name", "last_name", "phone", "job_title")
        if (v := getattr(data, k))
    }
    if not _known_source(ctx, data.email):
        fields["source"] = source[:100]  # first touch wins: a later form does not overwrite it
    outcome = bulk.bulk_upsert(ctx, [PersonIn(**fields)]).results[0]
    if outcome.status == "error" or outcome.id is None:
        errors = [FieldError(tuple(e["loc"]), e["message"], e["code"]) for e in outcome.errors]
        raise Invalid(
            "The lead cannot be stored: " + "; ".join(e.message for e in errors), errors=errors
        )
    utm = {k: getattr(data, k) for k in UTM_FIELDS}
    submission = LeadSubmission(
        workspace_id=ctx.workspace_id,
        form_id=form.id if form else None,
        person_id=outcome.id,
        source=source[:100],
        message=data.message,
        **utm,
    )
    ctx.session.add(submission)
    ctx.session.flush()
    subject = f"Form submitted: {form.name}" if form else f"Lead captured ({source})"
    timeline.log(
        ctx,
        ActivityIn(
            kind=ActivityKind.NOTE,
            channel="web",
            direction=Direction.INBOUND,
            subject=subject[:500],
            body=data.message,
            person_id=outcome.id,
            source=FORM_ACTIVITY_SOURCE if form else "lead_api",
            meta={"submission_id": str(submission.id), "source": source,
                  **{k: v for k, v in utm.items() if v}},
        ),
    )  # fmt: skip
    payload = {"person_id": outcome.id, "form_id": form.id if form else None, **utm}
    record(ctx, "lead.captured", submission.id, payload=payload)
    return LeadOut(
        status="captured",
        person_id=outcome.id,
        submission_id=submission.id,
        created=outcome.status == "created",
    )


def _known_source(ctx: Context, email: str) -> str | None:
    """The source already on the person with this email, if any (read as a column, so the
    upsert loads the person itself with everything it needs)."""
    try:
        email = validation.normalise_email(email)
    except ValueError:
        return None  # the upsert reports the bad email
    query = (
        select(Person.source)
        .join(PersonEmail, PersonEmail.person_id == Person.id)
        .where(PersonEmail.email == email)
    )
    return ctx.session.scalar(query.execution_options(include_deleted=True))


def _form_by_key(session: Session, key: str) -> LeadForm:
    # The key is the credential that tells us the workspace, so the lookup spans workspaces.
    form = session.scalars(
        select(LeadForm)
        .where(LeadForm.key == key, LeadForm.is_active.is_(True))
        .execution_options(all_workspaces=True)
    ).first()
    if form is None:
        raise NotFound("No form with this key")
    return form


def _origin(value: str, loc: tuple[str | int, ...]) -> str:
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise invalid(loc, f"'{value}' is not an origin such as https://www.example.com")
    return f"{parts.scheme}://{parts.netloc}"
