"""The hygiene domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from pathlib import Path

from rapport.core.permissions import Role
from rapport.core.registry import Domain, NavEntry, Panel
from rapport.hub.public import duplicates
from rapport.hygiene.events import EVENTS
from rapport.hygiene.labels import LABELS
from rapport.hygiene.service import dedupe
from rapport.hygiene.service.importing import OWN_TARGETS

DOMAIN = Domain(
    name="hygiene",
    labels=LABELS,
    events=EVENTS,
    imports=tuple(OWN_TARGETS.values()),
    summary="Import, export, duplicates and merge, quality, staleness",
    api="rapport.hygiene.api:router",
    views="rapport.hygiene.views:router",
    templates=Path(__file__).parent / "templates",
    # Everyone sees import jobs and the duplicate queue; members import (a bulk people:write);
    # merging (it removes a person) and bulk export (a whole list leaving the system, a privacy
    # matter) are for managers and above.
    permissions={
        "hygiene:read": Role.READ_ONLY,
        "hygiene:import": Role.MEMBER,
        "hygiene:merge": Role.MANAGER,
        "export:read": Role.MANAGER,
    },
    cli="rapport.hygiene.cli:register",
    demo="rapport.hygiene.demo:demo_step",
    nav=(
        NavEntry("Duplicates", "/duplicates", "check", order=70),
        NavEntry("Data quality", "/quality", "alert", order=75),
        NavEntry("Imports", "/imports", "upload", order=80),
    ),
    panels=(
        Panel(
            "person.new",
            "hygiene/_likely_duplicates.html",
            load="rapport.hygiene.views.duplicates:likely_duplicates_panel",
        ),
    ),
)
duplicates.register(dedupe.check_create)  # the hub's ?check_duplicates=true on a create
