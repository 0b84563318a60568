"""The accounts domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from rapport.accounts.api import router
from rapport.accounts.events import EVENTS
from rapport.core.registry import Domain

DOMAIN = Domain(name="accounts", api=router, events=EVENTS)
