"""The hygiene domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from pathlib import Path

from rapport.core.registry import Domain, NavEntry, Panel
from rapport.hygiene import views
from rapport.hygiene.api import router
from rapport.hygiene.views.duplicates import likely_duplicates_panel

DOMAIN = Domain(
    name="hygiene",
    summary="Import, export, duplicates and merge, quality, staleness",
    api=router,
    views=views.router,
    templates=Path(__file__).parent / "templates",
    nav=(
        NavEntry("Duplicates", "/duplicates", "check", order=70),
        NavEntry("Imports", "/imports", "upload", order=80),
    ),
    panels=(Panel("person.new", "hygiene/_likely_duplicates.html", load=likely_duplicates_panel),),
)
