"""The hub domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from rapport.core.registry import Domain
from rapport.hub.api import router
from rapport.hub.links import LINKS

DOMAIN = Domain(name="hub", api=router, links=LINKS)
