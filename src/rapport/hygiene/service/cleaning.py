"""Validating and normalising one import record, with the hub's own normalisers.

A record either becomes a :class:`CleanRow` or a list of problems naming the source column,
the value and the reason, which become lines of the rejects CSV. In a lenient import a value
that fails its check does not refuse its record: the field is left empty and the problem
becomes a *warning* of the row (only what makes a record unusable — no name nor email, an
unreadable line — still refuses it). A phone number that is possible for its country but not
in a range assigned today is kept in both modes, with a warning: old exports are full of them
and they are often still real numbers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapport.accounts.public import workspace
from rapport.core.config import get_settings
from rapport.core.context import Context
from rapport.core.imports import Problem
from rapport.hub.models import LifecycleStage
from rapport.hub.public import validation

__all__ = ["ADDRESS_FIELDS", "CleanRow", "Problem", "clean_record", "phone_region"]

STAGES = {s.value for s in LifecycleStage}
ADDRESS_FIELDS = ("street", "city", "region", "postal_code", "country")
LIMITS = {"first_name": 100, "last_name": 100, "job_title": 200, "source": 100}
LIMITS |= {"external_id": 200, "company": 300}


@dataclass(slots=True)
class CleanRow:
    """A record ready to upsert: person columns plus the links that live in other tables."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)
    person_id: uuid.UUID | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    # Filled by the import's worker (hub people_bulk.prepare): what the writer inserts if the row
    # turns out to be a new person — ids, full name, addresses as JSON, search document.
    prepared: tuple[Any, ...] | None = None
    # Custom field and tag cells, ``{target: (column, text)}``: checked against the
    # workspace's definitions by the writer (hygiene.service.people_custom).
    extras: dict[str, tuple[str, str]] | None = None
    # Problems that did not refuse the row (values left out in a lenient import, doubts).
    warnings: list[Problem] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Plain positional state: the default protocol for a slotted dataclass runs Python
        # code per object and doubled what sending a batch to the writer costs.
        return CleanRow, (
            self.line, self.values, self.person_id, self.email, self.phone, self.company,
            self.prepared, self.extras, self.warnings,
        )  # fmt: skip


def phone_region(ctx: Context) -> str:
    """The country an import reads national phone numbers in when a row has none: the
    workspace's default country, else the one the operator configured
    (``RAPPORT_DEFAULT_REGION``), else none (""): such numbers are then refused, or left out
    in a lenient import, rather than guessed American."""
    chosen = ctx.extra.get("region") or workspace.get(ctx).country
    if chosen:
        return str(chosen)
    settings = get_settings()
    return settings.default_region if "default_region" in settings.model_fields_set else ""


@lru_cache(maxsize=4096)
def _country(value: str) -> str:
    return validation.normalise_country(value)


@lru_cache(maxsize=65536)
def _phone(value: str, region: str) -> tuple[str, str | None]:
    return validation.read_phone(value, region)


# Names and stages repeat across a file's rows: normalise each distinct value once.
_name = lru_cache(maxsize=65536)(validation.clean_name)


@lru_cache(maxsize=256)
def _stage(value: str) -> str | None:
    stage = value.lower().replace(" ", "_").replace("-", "_")
    return stage if stage in STAGES else None


def clean_record(
    line: int, raw: dict[str, str], mapping: dict[str, str], *, region: str, lenient: bool = False
) -> CleanRow | list[Problem]:
    """Normalise one record; the problems found, or the clean row if there were none (or,
    ``lenient``, if what remains still names a person). National phone numbers are read in
    the row's own country, else in ``region`` (the workspace's; "" for none)."""
    if "__error__" in raw:
        return [Problem("(record)", None, raw["__error__"])]
    data: dict[str, str] = {}
    source_of: dict[str, str] = {}
    for column, value in raw.items():
        target = mapping.get(column)
        if target is not None and value is not None and value.strip():
            data[target] = value.strip()
            source_of[target] = column
    problems: list[Problem] = []
    warnings: list[Problem] = []
    row = CleanRow(line)

    def bad(name: str, reason: str) -> None:
        """A value that fails its check: refuses the row, or (lenient) is left out."""
        problem = Problem(source_of.get(name, name), data.get(name), reason)
        if lenient:
            warnings.append(problem)
            data.pop(name, None)
        else:
            problems.append(problem)

    for name, limit in LIMITS.items():
        if len(data.get(name, "")) > limit:
            bad(name, f"longer than {limit} characters")
    if "id" in data:
        try:
            row.person_id = uuid.UUID(data["id"])
        except ValueError:
            bad("id", "not a Rapport id (a UUID)")
    first, last = data.get("first_name", ""), data.get("last_name", "")
    if not (first or last) and data.get("full_name"):
        first, _, last = validation.clean_name(data["full_name"]).rpartition(" ")
        first, last = (first, last) if first else (last, "")
    row.values["first_name"] = _name(first)
    row.values["last_name"] = _name(last)
    if "email" in data:
        try:
            row.email = validation.normalise_email(data["email"])
        except ValueError as exc:
            bad("email", str(exc))
    country = None
    if "country" in data:
        try:
            country = _country(data["country"])
        except ValueError as exc:
            bad("country", str(exc))
    # A refused country refuses the row: its phone, unreadable without one, adds nothing.
    if "phone" in data and not (problems and "country" in data and country is None):
        try:
            row.phone, doubt = _phone(data["phone"], country or region)
        except ValueError as exc:
            bad("phone", str(exc))
        else:
            if doubt:
                warnings.append(Problem(source_of["phone"], data["phone"], f"kept: {doubt}"))
    for name in ("job_title", "source", "external_id"):
        if name in data:
            row.values[name] = data[name]
    if "lifecycle_stage" in data:
        stage = _stage(data["lifecycle_stage"])
        if stage is not None:
            row.values["lifecycle_stage"] = stage
        else:
            bad("lifecycle_stage", f"not one of {', '.join(sorted(STAGES))}")
    address = {k: data[k] for k in ADDRESS_FIELDS if k in data}
    if address:
        if country:
            address["country"] = country
        row.values["addresses"] = [address]
    row.company = data.get("company")
    if extra := [t for t in data if t == "tags" or t.startswith("custom.")]:
        row.extras = {t: (source_of[t], data[t]) for t in extra}
    if not (row.values["first_name"] or row.values["last_name"] or row.email) and not problems:
        if warnings:  # what made it unusable was left out: the row's problems refuse it
            return warnings
        problems.append(Problem(source_of.get("first_name", "first_name"), None,
                                "a person needs a name or an email"))  # fmt: skip
    if problems:
        return problems
    row.warnings = warnings or None
    return row
