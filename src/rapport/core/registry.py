"""The domain registry: each domain declares itself once, in ``<domain>/domain.py``.

``rapport.domains`` lists the domains and installs them here at start-up; the application, the
CLI, the nav, the permissions and role grants, record-page panels, the links to people and
companies and the event catalogue read from this registry, so adding a domain touches no shared
file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

if TYPE_CHECKING:  # core.permissions reads this registry: no import cycle at run time
    from rapport.core.permissions import Role

# A reference to an object by ``"package.module:attribute"``: a domain names its routers, CLI
# and panel loaders this way, so that declaring the domains imports none of them (``rapport
# --version`` must not build every router) and each entry point imports what it uses.
Ref = str


@dataclass(frozen=True)
class NavEntry:
    """One item of the app's side navigation."""

    label: str
    href: str
    icon: str
    order: int = 100
    ready: bool = True


@dataclass(frozen=True)
class Panel:
    """A block a domain adds to another domain's page (a person's, a company's, a deal's).

    ``kind`` names the page (``"person"``, ``"company"``, ``"deal"``, ``"person.new"``: the
    add-person form, whose panels are warnings); ``template`` is rendered in the page's context
    plus ``panel_data``, the dict ``load(ctx, record)`` returns; ``load`` returning ``None``
    leaves the panel out. Panels are shown by ``order``.
    """

    kind: str
    template: str
    order: int = 100
    load: Callable[[Any, Any], dict[str, Any] | None] | Ref | None = None

    def loaded(self, ctx: Any, record: Any) -> dict[str, Any] | None:
        """What the panel shows for ``record`` (``None``: leave it out)."""
        if self.load is None:
            return {}
        load: Callable[[Any, Any], dict[str, Any] | None] = resolve(self.load)
        return load(ctx, record)


@dataclass(frozen=True)
class SettingsSection:
    """One page of the settings area (``/settings/...``), listed in its side menu.

    ``permission`` is what a member needs to see it (``None``: every member, for their own
    profile and tokens); ``group`` heads the menu block it appears under.
    """

    label: str
    href: str
    group: str = "Workspace"
    order: int = 100
    permission: str | None = None


@dataclass(frozen=True)
class Command:
    """An action of the command menu (Ctrl/⌘-K).

    ``href`` is the page it opens; a ``#name`` href runs that action of the current page
    instead (``#log-call``: the record page's quick log, set to a call), and ``on`` then names
    the record pages it applies to (``"person"``, ``"company"``, ``"deal"``). ``permission``
    is what a member needs to see it; ``keywords`` are other words that find it.
    """

    label: str
    href: str
    group: str = "Actions"
    order: int = 100
    permission: str | None = None
    keywords: str = ""
    on: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoSeed:
    """What ``rapport demo`` hands each domain's demo step, after the hub seeded its records."""

    rng: Any  # random.Random, seeded: the same demo every time
    owner_id: Any  # uuid.UUID of the demo owner
    team: list[Any]  # the members' user ids
    people: int  # people the hub seeded
    deals: int  # deals wanted
    progress: Callable[[str, int], None]


@dataclass(frozen=True)
class DemoMade:
    """What a demo step added, summed into the demo's result."""

    people: int = 0
    activities: int = 0
    deals: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class Domain:
    """What a domain brings to the product; every field is optional but ``name``."""

    name: str
    summary: str = ""
    api: APIRouter | Ref | None = None  # JSON routes, mounted under /api/v1
    views: APIRouter | Ref | None = None  # HTML routes of the web app
    templates: Path | None = None  # a folder holding ``<name>/*.html``
    nav: Sequence[NavEntry] = ()
    # The "<object>:<action>" permissions it checks, each with the least role granted it
    # (core.permissions computes the roles' grants from these).
    permissions: Mapping[str, Role] = field(default_factory=dict)
    jobs: str | None = None  # the module whose import registers its job handlers
    cli: Callable[[Any], None] | Ref | None = None  # adds its commands to the root Typer app
    demo: Callable[..., Any] | Ref | None = None  # its step of ``rapport demo``
    events: Sequence[Any] = ()  # its event topics (``<domain>/events.py``)
    links: Sequence[Any] = ()  # its tables that point at a person or company
    panels: Sequence[Panel] = ()  # blocks it adds to person, company and deal pages
    record_types: Sequence[Any] = ()  # its records' list, bin and export (core/records.py)
    extra: dict[str, Any] = field(default_factory=dict)
    imports: Sequence[Any] = ()  # its import targets (``rapport.core.imports.Target``)
    settings: Sequence[SettingsSection] = ()  # its pages in the settings area
    # Human labels of its enumerated values, by vocabulary: {"lifecycle_stage": {"subscriber":
    # "Subscriber", ...}}; pages show them with the ``label`` filter (web/render.py).
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    commands: Sequence[Command] = ()  # its actions in the command menu


# A new tuple at each install, the same one in between: readers (the template loader) can tell
# by identity whether the registered set changed.
_installed: tuple[Domain, ...] = ()


def resolve(value: Any) -> Any:
    """The object a :data:`Ref` names (imported on first use); any other value as it is."""
    if not isinstance(value, str):
        return value
    module, _, attribute = value.partition(":")
    return getattr(importlib.import_module(module), attribute)


def install(domains: Sequence[Domain]) -> None:
    """Make ``domains`` the registered set (idempotent: the same set installs once)."""
    names = [d.name for d in domains]
    if len(set(names)) != len(names):
        raise ValueError(f"a domain is registered twice: {names}")
    global _installed
    _installed = tuple(domains)


def domains() -> tuple[Domain, ...]:
    """The registered domains, in registry order."""
    if not _installed:
        raise RuntimeError("no domain registered: call rapport.domains.install() first")
    return _installed


def installed() -> bool:
    """True once some set of domains is registered."""
    return bool(_installed)


def nav() -> list[NavEntry]:
    """Every domain's nav entries, ordered."""
    return sorted((entry for d in domains() for entry in d.nav), key=lambda e: e.order)


def settings_sections() -> list[SettingsSection]:
    """Every domain's settings pages, ordered."""
    return sorted((s for d in domains() for s in d.settings), key=lambda s: s.order)


def commands() -> list[Command]:
    """Every domain's command-menu actions, ordered."""
    return sorted((c for d in domains() for c in d.commands), key=lambda c: c.order)


def panels(kind: str) -> list[Panel]:
    """The panels registered for pages of ``kind``, ordered."""
    return sorted((p for d in domains() for p in d.panels if p.kind == kind), key=lambda p: p.order)


def template_dirs() -> list[Path]:
    """Every domain's templates folder, in registry order."""
    return [d.templates for d in domains() if d.templates is not None]


def labels(vocabulary: str) -> dict[str, str]:
    """Every domain's labels of ``vocabulary`` (value → label), merged in registry order."""
    merged: dict[str, str] = {}
    for d in domains():
        merged.update(d.labels.get(vocabulary, {}))
    return merged


def permissions() -> frozenset[str]:
    """Every permission some domain checks (``"<object>:<action>"``)."""
    return frozenset(p for d in domains() for p in d.permissions)
