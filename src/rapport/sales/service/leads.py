"""Lead capture: public web forms, the API and CSV files. Each lead becomes or updates a
person (matched by email) through the hub's bulk upsert, keeps its source and UTM fields in
``lead_submissions``, and appears on the person's timeline as a web note."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.orm import Session

from rapport.core.clock import utcnow
from rapport.core.context import Context, system_context
from rapport.core.db import get_scoped
from rapport.core.errors import (
    BadRequest,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    invalid,
)
from rapport.core.events import check_version, diff_fields, record
from rapport.core.imports import BaseTarget, Problem, Record, Written, labelled, overrides
from rapport.core.pagination import Page, decode_cursor, encode_cursor
from rapport.hub.models import (
    Activity,
    ActivityKind,
    Company,
    Direction,
    LifecycleStage,
    Person,
    PersonEmail,
)
from rapport.hub.public import bulk, people, timeline, validation
from rapport.hub.schemas import ActivityIn, Address, PersonIn, PersonPatch
from rapport.hygiene.public import sources
from rapport.sales.events import (
    LEAD_CAPTURED,
    LEAD_FORM_CREATED,
    LEAD_FORM_DELETED,
    LEAD_FORM_UPDATED,
)
from rapport.sales.models import LeadForm, LeadScore, LeadSubmission, ScoringModel
from rapport.sales.schemas import LeadFormIn, LeadIn, LeadOut
from rapport.sales.service import routing, scoring_live
from rapport.sales.service.ratelimit import TokenBucket

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
FORM_LIMIT = TokenBucket(capacity=5, period=60.0)  # per form and client address
FORM_ACTIVITY_SOURCE = "lead_form"
IMPORT_SOURCE = "lead_import"
ACTIVITY_SOURCES = {"api": "lead_api", "import": IMPORT_SOURCE}


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
        fields=list(dict.fromkeys(data.fields)),
        redirect_url=_redirect_url(data.redirect_url, origins),
    )
    ctx.session.add(form)
    ctx.session.flush()
    record(ctx, LEAD_FORM_CREATED, form.id, {"name": (None, form.name)})
    return form


def get_form(ctx: Context, form_id: uuid.UUID) -> LeadForm:
    """One lead form of the workspace (retired ones too); NotFound otherwise."""
    ctx.require("workspace:manage")
    form = get_scoped(ctx.session, LeadForm, form_id)
    if form is None:
        raise NotFound("No lead form with this id")
    return form


def update_form(
    ctx: Context, form_id: uuid.UUID, data: LeadFormIn, *, expected_version: int | None = None
) -> LeadForm:
    """Change a form's name, allowed sites, source or fields; its key (and so the snippets
    already pasted) stays."""
    ctx.require("workspace:manage")
    form = get_form(ctx, form_id)
    check_version(form.version, expected_version)
    origins = [_origin(o, ("allowed_origins", i)) for i, o in enumerate(data.allowed_origins)]
    values = {"name": data.name, "allowed_origins": origins, "source": data.source,
              "fields": list(dict.fromkeys(data.fields)),
              "redirect_url": _redirect_url(data.redirect_url, origins)}  # fmt: skip
    changes = diff_fields(form, values)
    if changes:
        ctx.session.flush()
        record(ctx, LEAD_FORM_UPDATED, form.id, changes)
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
    record(ctx, LEAD_FORM_DELETED, form.id, {"is_active": (True, False)})


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
    form's workspace. Returns the outcome and the headers for the response: CORS, and the
    form's ``redirect_url`` as ``Location`` (for the route to send a plain HTML post on).

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
    if form.redirect_url:
        cors["Location"] = form.redirect_url
    if data.website:
        return LeadOut(status="ignored"), cors
    session.info["workspace_id"] = form.workspace_id
    ctx = system_context(session, form.workspace_id)
    return capture(ctx, data, form=form), cors


def capture(
    ctx: Context,
    data: LeadIn,
    *,
    form: LeadForm | None = None,
    channel: str = "api",
    external_id: str | None = None,
    rescore: bool = True,
) -> LeadOut:
    """Create or update the person by email, store the submission, log it on the timeline,
    and rescore the person. ``channel`` is ``api`` or ``import`` (a form passes ``form``);
    ``external_id`` makes the timeline entry idempotent (CSV rows); a bulk caller may pass
    ``rescore=False`` and rescore its people once at the end."""
    ctx.require("leads:write")
    fallback = "web form" if form else ("csv import" if channel == "import" else "api")
    source = data.source or (form.source if form else None) or fallback
    fields: dict[str, Any] = {
        k: v
        for k in ("email", "first_name", "last_name", "phone", "job_title")
        if (v := getattr(data, k))
    }
    if not _known_source(ctx, data.email):
        fields["source"] = source[:100]  # first touch wins: a later form does not overwrite it
    if data.created_at is not None:
        _check_past(data.created_at)
    outcome = bulk.bulk_upsert(ctx, [PersonIn(**fields)]).results[0]
    if outcome.status == "error" or outcome.id is None:
        errors = [FieldError(tuple(e["loc"]), e["message"], e["code"]) for e in outcome.errors]
        raise Invalid(
            "The lead cannot be stored: " + "; ".join(e.message for e in errors), errors=errors
        )
    if outcome.status == "created":  # what only a new person takes from a lead
        if data.country:
            people.update(ctx, outcome.id, PersonPatch(addresses=[Address(country=data.country)]))
        if data.created_at is not None:
            people.backdate_creation(ctx, outcome.id, data.created_at)
    utm = {k: getattr(data, k) for k in UTM_FIELDS}
    submission = LeadSubmission(
        workspace_id=ctx.workspace_id,
        form_id=form.id if form else None,
        person_id=outcome.id,
        source=source[:100],
        message=data.message,
        **utm,
        **({"submitted_at": data.created_at} if data.created_at is not None else {}),
    )
    ctx.session.add(submission)
    ctx.session.flush()
    subject = f"Form submitted: {form.name}" if form else f"Lead captured ({source})"
    activity_source = FORM_ACTIVITY_SOURCE if form else ACTIVITY_SOURCES[channel]
    timeline.log(
        ctx,
        ActivityIn(
            kind=ActivityKind.NOTE,
            channel="web",
            direction=Direction.INBOUND,
            subject=subject[:500],
            body=data.message,
            person_id=outcome.id,
            occurred_at=data.created_at,
            source=activity_source,
            external_id=external_id,
            meta={"submission_id": str(submission.id), "source": source,
                  **{k: v for k, v in utm.items() if v}},
        ),
    )  # fmt: skip
    payload = {"person_id": outcome.id, "form_id": form.id if form else None, **utm}
    record(ctx, LEAD_CAPTURED, submission.id, payload=payload)
    if rescore:
        scoring_live.rescore_person(ctx, outcome.id)
    routing.assign_lead(ctx, outcome.id)  # a lead without an owner goes through the rules
    return LeadOut(
        status="captured",
        person_id=outcome.id,
        submission_id=submission.id,
        created=outcome.status == "created",
    )


def _check_past(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise invalid(("created_at",), "give a time zone (e.g. 2026-03-01Z)", "naive-datetime")
    if moment > utcnow():
        raise invalid(("created_at",), "cannot be in the future", "in-the-future")


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


def _redirect_url(value: str | None, origins: list[str]) -> str | None:
    """The page a browser goes to after submitting: http(s), and only on a site the form
    allows (so a form is never an open redirect to anywhere)."""
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise invalid(("redirect_url",), "give a full http or https address, e.g. "
                      "https://www.example.com/thanks", "bad-redirect")  # fmt: skip
    if f"{parts.scheme}://{parts.netloc}".lower() not in origins:
        raise invalid(("redirect_url",), "the address must be on one of the allowed sites",
                      "redirect-not-allowed")  # fmt: skip
    return value.strip()


def _origin(value: str, loc: tuple[str | int, ...]) -> str:
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise invalid(loc, f"'{value}' is not an origin such as https://www.example.com")
    return f"{parts.scheme}://{parts.netloc}"


# --- CSV import -----------------------------------------------------------------------------

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
LEAD_FIELDS = (
    "email", "first_name", "last_name", "full_name", "phone", "job_title", "source", "message",
    "country", "created_at",
)  # fmt: skip
_LEAD_SYNONYMS = {
    "country": ("country", "countrycode", "nation"),
    "created_at": ("createdat", "created", "createdon", "datecreated", "createdate", "leaddate"),
    "message": ("message", "notes", "note", "comment", "comments", "enquiry", "inquiry"),
    **{utm: (utm.replace("_", ""), "utm" + utm.removeprefix("utm_")) for utm in UTM_FIELDS},
}


@dataclass
class ImportReport:
    """The outcome of one CSV import (see ``LeadImportOut``)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def import_csv(ctx: Context, data: bytes) -> ImportReport:
    """Capture every row of a CSV file as a lead, through the same path as the web form.

    Columns are mapped by name (``E-Mail``, ``Job title``, ``UTM Source`` …). The whole file
    is read and decoded before anything is written, so an unreadable file writes nothing; then
    the rows go through the leads import target (:class:`LeadsTarget`, the one a background
    import job runs too) as one batch: each row is captured in its own savepoint, a bad row is
    reported with its line, column and reason and the good ones go in. Each row's timeline
    entry is keyed by a hash of the row, so importing the same file again finds every row
    already there and changes nothing.
    """
    ctx.require("leads:write")
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"the file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB")
    columns, rows = _read_csv(data)
    mapping = lead_mapping(columns)
    written = LEADS.write(ctx, mapping, rows)
    return ImportReport(
        rows=len(rows),
        created=len(written.created),
        updated=len(written.updated),
        unchanged=written.unchanged,
        rejected=len(written.rejects),
        mapping=mapping,
        ignored_columns=[c for c in columns if c not in mapping],
        errors=_errors(written),
    )


def _errors(written: Written) -> list[dict[str, Any]]:
    """The report's errors: one per problem, in line order."""
    return [
        {"line": line, "column": None if p.column == NO_COLUMN else p.column,
         "value": p.value, "reason": p.reason}
        for line, problems in written.rejects
        for p in problems
    ]  # fmt: skip


def lead_mapping(columns: list[str], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """``{column: lead field}`` by name and synonyms (``overrides`` win; ``ignore`` drops a
    column); Invalid without an email column."""
    overrides = overrides or {}
    mapping = {c: f for c, f in sources.auto_mapping(columns).items() if f in LEAD_FIELDS}
    mapping = {c: f for c, f in mapping.items() if c not in overrides}
    mapping |= {c: f for c, f in overrides.items() if f not in ("", "ignore")}
    taken = set(mapping.values())
    for column in columns:
        key = re.sub(r"[^a-z0-9]", "", column.strip().lower())
        for name, keys in _LEAD_SYNONYMS.items():
            if column in overrides:
                continue
            if name not in taken and column not in mapping and (key in keys or column == name):
                mapping[column] = name
                taken.add(name)
    if "email" not in taken:
        raise invalid(
            ("file", "columns"),
            "the file has no email column (found: " + ", ".join(columns) + ")",
            "required",
        )
    return mapping


NO_COLUMN = "(record)"


class LeadsTarget(BaseTarget):
    """Leads: each row captured like a form submission (person by email, submission, timeline
    note, routing), the people rescored once per batch."""

    object = "lead"
    label = "Leads"
    permission = "leads:write"
    formats: tuple[str, ...] = ("csv",)
    batch = 500

    def fields(self, ctx: Context) -> list[tuple[str, str]]:
        return labelled((*LEAD_FIELDS, *UTM_FIELDS))

    def resolve_mapping(
        self,
        ctx: Context,
        columns: list[str],
        fmt: str,
        saved: dict[str, str],
        explicit: dict[str, str],
    ) -> dict[str, str]:
        return lead_mapping(columns, overrides(columns, saved, explicit))

    def write(self, ctx: Context, mapping: dict[str, str], cleaned: list[Record]) -> Written:
        ctx.require("leads:write")
        written = Written()
        for line, raw in cleaned:
            _import_row(ctx, line, raw, mapping, written)
        scoring_live.rescore_people(ctx, [*written.created, *written.updated])
        return written


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if not data.strip():
        raise BadRequest("the file is empty")
    if b"\x00" in data[: sources.SNIFF_BYTES] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadRequest("this is not a text CSV file (it contains binary data)")
    source = sources.open_source(io.BufferedReader(io.BytesIO(data)), "csv")
    try:
        rows = []
        for line, raw in source.records:
            rows.append((line, raw))
            if len(rows) > MAX_IMPORT_ROWS:
                raise PayloadTooLarge(f"the file has more than {MAX_IMPORT_ROWS} rows")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"the file is not valid {exc.encoding} text (byte {exc.start}); save it as UTF-8"
        ) from None
    except csv.Error as exc:
        raise BadRequest(f"the file is not a readable CSV: {exc}") from None
    if not rows:
        raise invalid(("file",), "the file has a header but no rows", "empty")
    return source.columns, rows


def _import_row(
    ctx: Context, line: int, raw: dict[str, Any], mapping: dict[str, str], written: Written
) -> None:
    if "__error__" in raw:  # a record the reader could not take (e.g. cells out of line)
        written.rejects.append((line, [Problem("(record)", None, str(raw["__error__"]))]))
        return
    column_of = {f: c for c, f in mapping.items()}
    values = {f: str(raw.get(c) or "").strip() for c, f in mapping.items()}
    values = {f: v for f, v in values.items() if v}
    full_name = values.pop("full_name", "")
    if full_name and not (values.get("first_name") or values.get("last_name")):
        first, _, last = full_name.rpartition(" ") if " " in full_name else (full_name, "", "")
        values |= {"first_name": first, "last_name": last} if last else {"first_name": first}
        column_of.setdefault("first_name", column_of["full_name"])
        column_of.setdefault("last_name", column_of["full_name"])
    if len(values.get("created_at", "")) == 10:  # a plain date in a file: its midnight UTC
        values["created_at"] += "T00:00:00Z"
    try:
        lead = LeadIn.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "email"
            problems.append(_problem(column_of.get(name), raw, error["msg"]))
        written.rejects.append((line, problems))
        return
    if _already_imported(ctx, key := _row_key(lead)):
        written.unchanged += 1
        return
    try:
        with ctx.session.begin_nested():
            outcome = capture(ctx, lead, channel="import", external_id=key, rescore=False)
    except Invalid as exc:
        written.rejects.append(
            (line, [_problem(column_of.get(str(e.loc[0]) if e.loc else "email"), raw, e.message)
                    for e in exc.errors or [FieldError(("email",), exc.detail)]])
        )  # fmt: skip
        return
    (written.created if outcome.created else written.updated).append(outcome.person_id)


def _problem(column: str | None, raw: dict[str, Any], reason: str) -> Problem:
    value = raw.get(column) if column else None
    return Problem(column or NO_COLUMN, None if value is None else str(value), reason)


def _row_key(lead: LeadIn) -> str:
    """The row's identity for idempotency: its values with the email normalised."""
    values = lead.model_dump(mode="json", exclude_none=True)
    values["email"] = values["email"].lower()
    return "csv:" + hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _already_imported(ctx: Context, key: str) -> bool:
    query = select(Activity.id).where(Activity.source == IMPORT_SOURCE, Activity.external_id == key)
    return ctx.session.scalar(query.execution_options(include_deleted=True)) is not None


# --- the leads worklist ---------------------------------------------------------------------

LEAD_SORTS = ("score", "probability")
UNSCORED = -1_000_000  # people never scored sort after every scored one


@dataclass
class LeadRow:
    """One line of the leads worklist."""

    person_id: uuid.UUID
    name: str
    email: str | None
    job_title: str | None
    company: str | None
    score: int | None
    probability: float | None
    reasons: list[dict[str, Any]]

    @property
    def likelihood(self) -> str | None:
        """The win probability in words (None without a trained model)."""
        return likelihood(self.probability)


# Win probability from which a lead reads "Very likely" / "Likely" to buy; below: "Unlikely".
VERY_LIKELY, LIKELY = 0.6, 0.3


def likelihood(probability: float | None) -> str | None:
    """A win probability as a sales rep says it: Very likely, Likely or Unlikely to buy."""
    if probability is None:
        return None
    if probability >= VERY_LIKELY:
        return "Very likely"
    return "Likely" if probability >= LIKELY else "Unlikely"


def best_sort(model: ScoringModel | None) -> str:
    """The order the worklist opens in: the trained model's probability when it ranks
    held-out buyers better than the rule score does (higher AUC on the same people), the rule
    score otherwise (no model, too little history, a model that does no better, or one the
    leakage guard warned about)."""
    if model is None or model.status != "trained" or model.auc is None:
        return "score"
    if (model.params or {}).get("warnings"):
        return "score"
    if model.rules_auc is not None and model.rules_auc >= model.auc:
        return "score"
    return "probability"


def worklist(
    ctx: Context, *, sort: str = "score", limit: int = 50, cursor: str | None = None
) -> Page[LeadRow]:
    """People at the lead stage, most promising first (by rule score or by predicted
    probability, ties broken by the other), one keyset page at a time."""
    ctx.require("people:read")
    if sort not in LEAD_SORTS:
        raise invalid(("sort",), f"sort by one of {', '.join(LEAD_SORTS)}")
    score = func.coalesce(LeadScore.score, UNSCORED)
    probability = func.coalesce(LeadScore.probability, -1.0)
    keys: list[ColumnElement[Any]] = (
        [score, probability] if sort == "score" else [probability, score]
    )
    stmt = (
        select(
            Person.id, Person.full_name, Person.email, Person.job_title, Company.name,
            LeadScore.score, LeadScore.probability, LeadScore.reasons, *keys,
        )
        .outerjoin(LeadScore, LeadScore.person_id == Person.id)
        .outerjoin(Company, Company.id == Person.company_id)
        .where(Person.lifecycle_stage == LifecycleStage.LEAD)
    )  # fmt: skip
    if cursor:
        first, second, last_id = decode_cursor(cursor, 3)
        stmt = stmt.where(
            tuple_(keys[0], keys[1], Person.id) < tuple_(first, second, uuid.UUID(last_id))
        )
    stmt = stmt.order_by(keys[0].desc(), keys[1].desc(), Person.id.desc()).limit(limit + 1)
    rows = ctx.session.execute(stmt).all()
    items = [
        LeadRow(r[0], r[1] or r[2] or "(no name)", r[2], r[3], r[4], r[5], r[6], list(r[7] or []))
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    next_cursor = encode_cursor([last[8], last[9], str(last[0])]) if last is not None else None
    return Page(items, next_cursor, more)


LEADS = LeadsTarget()
