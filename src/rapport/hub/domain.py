"""The hub domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from pathlib import Path

from rapport.core.registry import Domain, NavEntry
from rapport.hub import views
from rapport.hub.api import router

DOMAIN = Domain(
    name="hub",
    summary="People, companies, custom fields, tags, the timeline",
    api=router,
    views=views.router,
    templates=Path(__file__).parent / "templates",
    nav=(
        NavEntry("People", "/people", "users", order=10),
        NavEntry("Companies", "/companies", "building", order=20),
    ),
)
