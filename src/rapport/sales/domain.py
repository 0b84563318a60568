"""The sales domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from rapport.core.registry import Domain
from rapport.sales.api import router
from rapport.sales.service.import_deals import DEALS
from rapport.sales.service.leads import LEADS

DOMAIN = Domain(name="sales", api=router, imports=(DEALS, LEADS))
