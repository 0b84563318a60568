"""The workspace's own settings: its name, default currency, time zone and country (the one
phone numbers written without a +country code are read in, when a record has no country).

One source of truth: ``Workspace.name`` and ``Workspace.settings["general"]`` (the sales
domain keeps its SLA settings under ``settings["sales"]``). Other domains read the defaults
through :func:`defaults` (``rapport.accounts.public.workspace``)."""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import asdict, dataclass
from functools import lru_cache

import pycountry
from sqlalchemy.orm import Session

from rapport.accounts.events import WORKSPACE_UPDATED
from rapport.accounts.models import Workspace
from rapport.core.context import Context
from rapport.core.errors import FieldError, Invalid, NotFound
from rapport.core.events import record

KEY = "general"
DEFAULT_CURRENCY = "EUR"
DEFAULT_TIME_ZONE = "UTC"


@dataclass(frozen=True)
class WorkspaceSettings:
    name: str
    currency: str
    time_zone: str
    country: str | None = None  # ISO 3166-1 alpha-2, or None: no default country


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """The IANA time zones this machine knows, sorted (the form's choices)."""
    return tuple(sorted(zoneinfo.available_timezones()))


@lru_cache(maxsize=1)
def currencies() -> tuple[tuple[str, str], ...]:
    """ISO 4217 currencies: (code, name), by code."""
    return tuple(sorted((c.alpha_3, c.name) for c in pycountry.currencies))


def _of(workspace: Workspace) -> WorkspaceSettings:
    stored = (workspace.settings or {}).get(KEY) or {}
    return WorkspaceSettings(
        name=workspace.name,
        currency=str(stored.get("currency") or DEFAULT_CURRENCY),
        time_zone=str(stored.get("time_zone") or DEFAULT_TIME_ZONE),
        country=str(stored["country"]) if stored.get("country") else None,
    )


@lru_cache(maxsize=1)
def countries() -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 countries: (alpha-2 code, name), by name (the form's choices)."""
    return tuple(sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1]))


def defaults(session: Session, workspace_id: uuid.UUID) -> WorkspaceSettings:
    """The workspace's name, default currency and time zone (defaults where unset)."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("No such workspace")
    return _of(workspace)


def get(ctx: Context) -> WorkspaceSettings:
    return defaults(ctx.session, ctx.workspace_id)


def update(
    ctx: Context,
    *,
    name: str | None = None,
    currency: str | None = None,
    time_zone: str | None = None,
    country: str | None = None,
) -> WorkspaceSettings:
    """Change the name, default currency (ISO 4217), time zone (IANA) or default country
    (ISO 3166-1 alpha-2; "" for none); audited."""
    ctx.require("workspace:manage")
    workspace = ctx.session.get(Workspace, ctx.workspace_id)
    if workspace is None:
        raise NotFound("No such workspace")
    before = _of(workspace)
    errors: list[FieldError] = []
    new_name = before.name if name is None else " ".join(name.split())
    if not new_name:
        errors.append(FieldError(("name",), "Give the workspace a name."))
    elif len(new_name) > 200:
        errors.append(FieldError(("name",), "A workspace name has at most 200 characters."))
    new_currency = before.currency if currency is None else currency.strip().upper()
    if pycountry.currencies.get(alpha_3=new_currency) is None:
        errors.append(
            FieldError(("currency",), "Choose an ISO 4217 currency code, such as EUR or USD.")
        )
    new_zone = before.time_zone if time_zone is None else time_zone.strip()
    if new_zone not in time_zones():
        errors.append(FieldError(("time_zone",), "Choose a time zone such as Europe/Paris or UTC."))
    new_country = before.country if country is None else (country.strip().upper() or None)
    if new_country and pycountry.countries.get(alpha_2=new_country) is None:
        errors.append(
            FieldError(("country",), "Choose an ISO 3166 country code, such as DE or US.")
        )
    if errors:
        raise Invalid("; ".join(e.message for e in errors), errors=errors)
    after = WorkspaceSettings(new_name, new_currency, new_zone, new_country)
    changes = {k: (v, asdict(after)[k]) for k, v in asdict(before).items() if asdict(after)[k] != v}
    if not changes:
        return after
    workspace.name = new_name
    settings = dict(workspace.settings or {})
    settings[KEY] = {"currency": new_currency, "time_zone": new_zone}
    if new_country:
        settings[KEY]["country"] = new_country
    workspace.settings = settings
    ctx.session.flush()
    record(ctx, WORKSPACE_UPDATED, workspace.id, changes)
    return after
