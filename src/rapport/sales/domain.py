"""The sales domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from pathlib import Path

from rapport.core.permissions import Role
from rapport.core.registry import Command, Domain, NavEntry, Panel, SettingsSection
from rapport.sales.events import EVENTS
from rapport.sales.labels import LABELS
from rapport.sales.links import LINKS
from rapport.sales.records import RECORD_TYPES
from rapport.sales.service.import_deals import DEALS
from rapport.sales.service.leads import LEADS

DEALS_PANEL = "rapport.sales.views.panels:deals_panel"
TASKS_PANEL = "rapport.sales.views.panels:tasks_panel"
RECORDS = ("person", "company", "deal")

DOMAIN = Domain(
    name="sales",
    labels=LABELS,
    events=EVENTS,
    links=LINKS,
    record_types=RECORD_TYPES,
    imports=(DEALS, LEADS),
    summary="Leads, scoring, routing, pipelines, deals, forecasts, tasks",
    api="rapport.sales.api:router",
    views="rapport.sales.views:router",
    templates=Path(__file__).parent / "templates",
    permissions={
        "deals:read": Role.READ_ONLY,
        "deals:write": Role.MEMBER,
        "deals:delete": Role.MANAGER,
        "pipelines:read": Role.READ_ONLY,
        "pipelines:write": Role.ADMIN,
        "leads:write": Role.MEMBER,
        "tasks:read": Role.READ_ONLY,
        "tasks:write": Role.MEMBER,
        "scoring:write": Role.ADMIN,
        "routing:manage": Role.ADMIN,
    },
    cli="rapport.sales.cli:register",
    settings=(
        SettingsSection("Pipelines", "/settings/pipelines", "Workspace", 50, "pipelines:write"),
        SettingsSection("Lead routing", "/settings/routing", "Workspace", 60, "routing:manage"),
        SettingsSection("Lead scoring", "/settings/scoring", "Workspace", 61, "scoring:write"),
        SettingsSection("Lead forms", "/settings/lead-forms", "Workspace", 62, "workspace:manage"),
    ),
    demo="rapport.sales.demo:demo_step",
    nav=(
        NavEntry("Deals", "/deals", "deal", order=30),
        NavEntry("Leads", "/leads", "person", order=40),
        NavEntry("Sales", "/sales", "chart", order=50),
        NavEntry("Tasks", "/tasks", "tasks", order=60),
    ),
    commands=(
        Command(
            "New deal",
            "/deals/new",
            order=30,
            permission="deals:write",
            keywords="add create opportunity",
        ),
        Command(
            "Log a call",
            "#log-call",
            order=5,
            permission="activities:write",
            keywords="phone activity",
            on=("deal",),
        ),
        Command(
            "Add a note",
            "#log-note",
            order=6,
            permission="activities:write",
            keywords="activity comment",
            on=("deal",),
        ),
    ),
    panels=(
        # loads itself (hx-get), so the person page pays nothing for it
        Panel("person", "sales/leads_score_include.html", order=10),
        *(
            Panel(kind, "sales/_record_deals.html", 20, DEALS_PANEL)
            for kind in ("person", "company")
        ),
        # the workspace's deal custom fields, shown and set (views/deal_custom.py)
        Panel("deal", "sales/_deal_custom.html", 5, "rapport.sales.views.deal_custom:custom_panel"),
        # loads itself too; its rows tick and add through My tasks' routes
        *(Panel(kind, "sales/_record_tasks_slot.html", 30, TASKS_PANEL) for kind in RECORDS),
    ),
)
