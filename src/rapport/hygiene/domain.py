"""The hygiene domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from rapport.core.registry import Domain
from rapport.hub.public import duplicates
from rapport.hygiene.api import router
from rapport.hygiene.service import dedupe

DOMAIN = Domain(name="hygiene", api=router)
duplicates.register(dedupe.check_create)  # the hub's ?check_duplicates=true on a create
