"""The hygiene domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from rapport.core.registry import Domain
from rapport.hygiene.api import router
from rapport.hygiene.service.importing import OWN_TARGETS

DOMAIN = Domain(name="hygiene", api=router, imports=tuple(OWN_TARGETS.values()))
