"""The accounts domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from pathlib import Path

from rapport.accounts import service
from rapport.accounts.events import EVENTS
from rapport.accounts.labels import LABELS
from rapport.core import identity
from rapport.core.permissions import Role
from rapport.core.registry import Domain

DOMAIN = Domain(
    name="accounts",
    labels=LABELS,
    events=EVENTS,
    summary="Workspaces, users, roles, API tokens, sign-in",
    api="rapport.accounts.api:router",
    views="rapport.accounts.views:router",
    templates=Path(__file__).parent / "templates",
    permissions={
        "members:manage": Role.ADMIN,
        "workspace:manage": Role.ADMIN,
        "tokens:manage": Role.READ_ONLY,  # everyone manages their own tokens
    },
    cli="rapport.accounts.cli:register",
)
identity.provide(service)  # core's request dependency resolves credentials through accounts
