"""The hub domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from pathlib import Path

from rapport.core.permissions import Role
from rapport.core.registry import Command, Domain, NavEntry, SettingsSection
from rapport.hub.events import EVENTS
from rapport.hub.labels import LABELS
from rapport.hub.links import LINKS
from rapport.hub.records import RECORD_TYPES
from rapport.hub.service.import_activities import ACTIVITIES

DOMAIN = Domain(
    name="hub",
    labels=LABELS,
    events=EVENTS,
    links=LINKS,
    record_types=RECORD_TYPES,
    imports=(ACTIVITIES,),
    summary="People, companies, custom fields, tags, the timeline",
    api="rapport.hub.api:router",
    views="rapport.hub.views:router",
    templates=Path(__file__).parent / "templates",
    permissions={
        **{
            f"{record}:{action}": role
            for record in ("people", "companies", "activities", "tags")
            for action, role in (
                ("read", Role.READ_ONLY),
                ("write", Role.MEMBER),
                ("delete", Role.MANAGER),
            )
        },
        "fields:read": Role.READ_ONLY,
        "fields:write": Role.ADMIN,
    },
    cli="rapport.hub.cli:register",
    settings=(
        SettingsSection("Custom fields", "/settings/fields", "Workspace", 40, "fields:write"),
    ),
    nav=(
        NavEntry("People", "/people", "users", order=10),
        NavEntry("Companies", "/companies", "building", order=20),
    ),
    commands=(
        Command(
            "New person",
            "/people/new",
            order=10,
            permission="people:write",
            keywords="add create contact",
        ),
        Command(
            "New company",
            "/companies/new",
            order=20,
            permission="companies:write",
            keywords="add create account organisation",
        ),
        Command(
            "Log a call",
            "#log-call",
            order=5,
            permission="activities:write",
            keywords="phone activity",
            on=("person", "company"),
        ),
        Command(
            "Add a note",
            "#log-note",
            order=6,
            permission="activities:write",
            keywords="activity comment",
            on=("person", "company"),
        ),
    ),
)
