"""The deals target of the import pipeline: a team's deals brought in from another CRM.

Each row names its pipeline and stage by name (the default pipeline and its first stage when
left out), an amount and currency, an owner by email, a close date, the person (by email or
external id) and company (by name or domain) it is with, and its own id in the other CRM
(``external_id``). Rows go through ``deals.create`` and ``deals.update`` (validated, audited,
announced, indexed). A row names the deal already in Rapport with its external id (kept on
the deal), or else — for files without one — the same title, with the same person and company,
in the same pipeline; that deal is updated only where the row differs, so re-running a file
changes nothing, and a renamed deal stays one deal. A won or lost deal closed in the past keeps
its close date as the day it closed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from rapport.accounts.models import Membership, User
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.errors import RapportError
from rapport.core.imports import (
    BaseTarget,
    Problem,
    Record,
    Written,
    labelled,
    resolve_columns,
    text_cells,
)
from rapport.hub.models import Company, Person, PersonEmail
from rapport.sales.models import Deal, Pipeline, Stage
from rapport.sales.schemas import DealIn, DealPatch
from rapport.sales.service import deals, pipelines

FIELDS = (
    "title", "amount", "currency", "pipeline", "stage", "owner_email", "close_date",
    "person_email", "person_external_id", "company", "external_id", "created_date",
)  # fmt: skip
SYNONYMS = {
    "title": ("name", "deal", "deal name", "opportunity", "subject"),
    "amount": ("value", "deal value", "price", "total"),
    "close_date": ("expected close date", "closing date", "closed", "close", "closed at"),
    "owner_email": ("owner", "deal owner", "sales rep", "assigned to"),
    "person_email": ("email", "contact", "contact email", "person"),
    "person_external_id": ("contact id", "person id", "contact external id"),
    "company": ("company name", "organisation", "organization", "account"),
    "stage": ("deal stage", "status"),
    "external_id": ("id", "deal id", "opportunity id", "source id", "record id"),
    "created_date": ("created", "created at", "create date", "date created", "created on"),
}
REQUIRED = {"the deal's title": ("title",)}
_COMPARED = ("amount", "currency", "expected_close_date", "owner_id")
_NAMING = ("title", "person_id", "company_id")  # what names a deal in a file without ids


class DealsTarget(BaseTarget):
    """Deals, matched by title, person and company within a pipeline."""

    object = "deal"
    label = "Deals"
    permission = "deals:write"
    formats: tuple[str, ...] = ("csv",)
    batch = 500

    def fields(self, ctx: Context) -> list[tuple[str, str]]:
        return labelled(FIELDS)

    def resolve_mapping(
        self,
        ctx: Context,
        columns: list[str],
        fmt: str,
        saved: dict[str, str],
        explicit: dict[str, str],
    ) -> dict[str, str]:
        return resolve_columns(columns, saved, explicit, FIELDS, SYNONYMS, REQUIRED)

    def write(self, ctx: Context, mapping: dict[str, str], cleaned: list[Record]) -> Written:
        ctx.require("deals:write")
        written = Written()
        lookups = _Lookups(ctx)
        column_of = {f: c for c, f in mapping.items()}
        seen: dict[Any, int] = {}  # the line of each deal named so far: its id or its names
        for line, raw in cleaned:
            cells = text_cells(raw, mapping)
            problems: list[Problem] = []
            values = _values(cells, lookups, column_of, problems)
            if problems:
                written.rejects.append((line, problems))
                continue
            key = values["external_id"] or (
                values["pipeline_id"], values["title"].lower(), values["person_id"],
                values["company_id"],
            )  # fmt: skip
            if key in seen:
                written.rejects.append(
                    (line, [Problem("(record)", None, f"repeats line {seen[key]}")])
                )
                continue
            seen[key] = line
            _upsert(ctx, line, values, cells, column_of, written)
        return written


def _values(
    cells: dict[str, str],
    lookups: _Lookups,
    column_of: dict[str, str],
    problems: list[Problem],
) -> dict[str, Any]:
    """A row's deal fields with names resolved to ids; problems name the file's columns."""

    def bad(name: str, reason: str) -> None:
        problems.append(Problem(column_of.get(name, name), cells.get(name), reason))

    values: dict[str, Any] = {"title": cells.get("title", "")[:300]}
    values["external_id"] = cells.get("external_id")  # its length is checked with the deal's
    if not values["title"]:
        bad("title", "a deal needs a title")
    values["currency"] = cells.get("currency", "").upper() or None
    values["amount"] = Decimal(0)
    if "amount" in cells:
        try:
            values["amount"] = Decimal(cells["amount"].replace(",", "").replace(" ", ""))
        except InvalidOperation:
            bad("amount", "not a number")
    values["expected_close_date"] = None
    if "close_date" in cells:
        try:
            values["expected_close_date"] = date.fromisoformat(cells["close_date"][:10])
        except ValueError:
            bad("close_date", "not a date such as 2024-03-31")
    values["created_at"] = None  # a deal brought in from history keeps the day it was created
    if "created_date" in cells:
        try:
            values["created_at"] = _instant(cells["created_date"])
        except ValueError:
            bad("created_date", "not a date such as 2024-03-31")
    pipeline = lookups.pipeline(cells.get("pipeline"))
    if pipeline is None:
        bad("pipeline", "no pipeline with this name")
    values["pipeline_id"] = pipeline.id if pipeline else None
    values["currency"] = values["currency"] or (pipeline.currency if pipeline else None)
    if not values["currency"]:
        bad("currency", "a deal needs a currency (or a pipeline held to one)")
    values["stage_id"] = None
    if "stage" in cells and pipeline is not None:
        values["stage_id"] = lookups.stage(pipeline.id, cells["stage"])
        if values["stage_id"] is None:
            bad("stage", f"no stage with this name in pipeline {pipeline.name!r}")
    values["owner_id"] = None
    if "owner_email" in cells:
        values["owner_id"] = lookups.user(cells["owner_email"])
        if values["owner_id"] is None:
            bad("owner_email", "no member of this workspace has this email")
    values["person_id"] = None
    if "person_email" in cells:
        values["person_id"] = lookups.person_by_email(cells["person_email"])
        if values["person_id"] is None:
            bad("person_email", "no person with this email")
    elif "person_external_id" in cells:
        values["person_id"] = lookups.person_by_external_id(cells["person_external_id"])
        if values["person_id"] is None:
            bad("person_external_id", "no person with this external id")
    values["company_id"] = None
    if "company" in cells:
        values["company_id"] = lookups.company(cells["company"])
        if values["company_id"] is None:
            bad("company", "no company with this name or domain")
    return values


def _upsert(
    ctx: Context,
    line: int,
    values: dict[str, Any],
    cells: dict[str, str],
    column_of: dict[str, str],
    written: Written,
) -> None:
    """Create the row's deal, or update the one already there where the row differs."""
    existing, by_external_id = _existing(ctx, values)
    if existing is not None and existing.deleted_at is not None:
        reason = "the deal with this external id is in the bin; restore it first"
        written.rejects.append((line, [_problem(("external_id",), reason, column_of, cells)]))
        return
    try:
        with ctx.session.begin_nested():
            if existing is None:
                deal = deals.create(ctx, DealIn.model_validate(values))
                if deal.closed_at is not None and values["expected_close_date"] is not None:
                    closed = datetime.combine(values["expected_close_date"], time(), UTC)
                    if closed < utcnow():  # closed in the past, never before its creation
                        floor = values["created_at"]
                        deal.closed_at = max(closed, floor) if floor is not None else closed
                written.created.append(deal.id)
                return
            compared = _COMPARED + (_NAMING if by_external_id else ("external_id",))
            patch = {
                k: values[k]
                for k in compared
                if values[k] is not None and getattr(existing, k) != values[k]
            }
            if not patch:
                written.unchanged += 1
                return
            deals.update(ctx, existing.id, DealPatch.model_validate(patch))
            written.updated.append(existing.id)
    except ValidationError as exc:
        written.rejects.append((line, [_problem(e["loc"], e["msg"], column_of, cells)
                                       for e in exc.errors()]))  # fmt: skip
    except RapportError as exc:
        found = [_problem(e.loc, e.message, column_of, cells) for e in exc.errors]
        written.rejects.append((line, found or [Problem("(record)", None, exc.detail)]))


def _instant(text: str) -> datetime:
    """A date or date-time cell as a UTC instant (a plain date is its midnight UTC)."""
    text = text.strip()
    if len(text) <= 10:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _existing(ctx: Context, values: dict[str, Any]) -> tuple[Deal | None, bool]:
    """The deal a row names, and whether by its external id (the bin included); else the deal
    of the same title, person and company in the pipeline (one without an external id of its
    own, when the row brings one: a deal imported before ids were kept gets it now)."""
    external_id = values["external_id"]
    if external_id:
        query = select(Deal).where(Deal.external_id == external_id)
        found = ctx.session.scalars(query.execution_options(include_deleted=True)).first()
        if found is not None:
            return found, True
    same = select(Deal).where(
        Deal.pipeline_id == values["pipeline_id"],
        func.lower(Deal.title) == values["title"].lower(),
        Deal.person_id.is_(None)
        if values["person_id"] is None
        else Deal.person_id == values["person_id"],
        Deal.company_id.is_(None)
        if values["company_id"] is None
        else Deal.company_id == values["company_id"],
    )
    if external_id:
        same = same.where(Deal.external_id.is_(None))
    return ctx.session.scalars(same).first(), False


_FIELD_OF = {"expected_close_date": "close_date", "owner_id": "owner_email",
             "person_id": "person_email", "company_id": "company", "stage_id": "stage",
             "pipeline_id": "pipeline"}  # fmt: skip


def _problem(
    loc: tuple[Any, ...], message: str, column_of: dict[str, str], cells: dict[str, str]
) -> Problem:
    name = _FIELD_OF.get(str(loc[0]), str(loc[0])) if loc else "(record)"
    return Problem(column_of.get(name, name), cells.get(name), message)


class _Lookups:
    """Names to ids for one batch, each asked once."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._cache: dict[tuple[str, str], Any] = {}

    def _once(self, kind: str, key: str, find: Any) -> Any:
        if (kind, key) not in self._cache:
            self._cache[kind, key] = find()
        return self._cache[kind, key]

    def pipeline(self, name: str | None) -> Pipeline | None:
        if not name:
            return self._once(
                "pipeline", "",
                lambda: pipelines.default_pipeline(self.ctx) or pipelines.ensure_default(self.ctx),
            )  # fmt: skip
        query = select(Pipeline).where(func.lower(Pipeline.name) == name.lower())
        return self._once("pipeline", name.lower(), lambda: self.ctx.session.scalar(query))

    def stage(self, pipeline_id: uuid.UUID, name: str) -> uuid.UUID | None:
        query = select(Stage.id).where(
            Stage.pipeline_id == pipeline_id, func.lower(Stage.name) == name.lower()
        )
        return self._once("stage", f"{pipeline_id}:{name.lower()}",
                          lambda: self.ctx.session.scalar(query))  # fmt: skip

    def user(self, email: str) -> uuid.UUID | None:
        query = (
            select(User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(func.lower(User.email) == email.lower())
        )
        return self._once("user", email.lower(), lambda: self.ctx.session.scalar(query))

    def person_by_email(self, email: str) -> uuid.UUID | None:
        query = select(PersonEmail.person_id).where(PersonEmail.email == email.lower())
        return self._once("email", email.lower(), lambda: self.ctx.session.scalar(query))

    def person_by_external_id(self, external_id: str) -> uuid.UUID | None:
        query = select(Person.id).where(Person.external_id == external_id)
        return self._once("external", external_id, lambda: self.ctx.session.scalar(query))

    def company(self, name: str) -> uuid.UUID | None:
        query = select(Company.id).where(
            (func.lower(Company.name) == name.lower()) | (Company.domain == name.lower())
        )
        return self._once("company", name.lower(), lambda: self.ctx.session.scalars(query).first())


DEALS = DealsTarget()
