"""The sales domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from rapport.core.registry import Domain
from rapport.sales.api import router
from rapport.sales.links import LINKS

DOMAIN = Domain(name="sales", api=router, links=LINKS)
