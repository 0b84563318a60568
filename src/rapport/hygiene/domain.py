"""The hygiene domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from rapport.core.registry import Domain
from rapport.hygiene.api import router
from rapport.hygiene.events import EVENTS

DOMAIN = Domain(name="hygiene", api=router, events=EVENTS)
