"""The domain registry: each domain declares itself once, in ``<domain>/domain.py``.

``rapport.domains`` lists the domains and installs them here at start-up; the application, the
CLI, the nav, the permission list, record-page panels, the links to people and companies and the
event catalogue read from this registry, so adding a domain touches no shared file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter


@dataclass(frozen=True)
class NavEntry:
    """One item of the app's side navigation."""

    label: str
    href: str
    icon: str
    order: int = 100
    ready: bool = True


@dataclass(frozen=True)
class Domain:
    """What a domain brings to the product; every field is optional but ``name``."""

    name: str
    summary: str = ""
    api: APIRouter | None = None  # JSON routes, mounted under /api/v1
    views: APIRouter | None = None  # HTML routes of the web app
    templates: Path | None = None  # a folder holding ``<name>/*.html``
    nav: Sequence[NavEntry] = ()
    permissions: Sequence[str] = ()  # "<object>:<action>" names this domain checks
    jobs: str | None = None  # the module whose import registers its job handlers
    cli: Callable[[Any], None] | None = None  # adds its commands to the root Typer app
    demo: Callable[..., Any] | None = None  # its step of ``rapport demo``
    events: Sequence[Any] = ()  # its event topics (``<domain>/events.py``)
    links: Sequence[Any] = ()  # its tables that point at a person or company
    panels: Sequence[Any] = ()  # blocks it adds to person, company and deal pages
    record_types: Sequence[Any] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    imports: Sequence[Any] = ()  # its import targets (``rapport.core.imports.Target``)


_installed: list[Domain] = []


def install(domains: Sequence[Domain]) -> None:
    """Make ``domains`` the registered set (idempotent: the same set installs once)."""
    names = [d.name for d in domains]
    if len(set(names)) != len(names):
        raise ValueError(f"a domain is registered twice: {names}")
    _installed[:] = list(domains)


def domains() -> tuple[Domain, ...]:
    """The registered domains, in registry order."""
    if not _installed:
        raise RuntimeError("no domain registered: call rapport.domains.install() first")
    return tuple(_installed)


def nav() -> list[NavEntry]:
    """Every domain's nav entries, ordered."""
    return sorted((entry for d in domains() for entry in d.nav), key=lambda e: e.order)
