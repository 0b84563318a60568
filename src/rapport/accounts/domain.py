"""The accounts domain's declaration for the registry (see rapport.core.registry)."""

from __future__ import annotations

from rapport.accounts import service
from rapport.accounts.api import router
from rapport.core import identity
from rapport.core.registry import Domain

DOMAIN = Domain(name="accounts", api=router)
identity.provide(service)  # core's request dependency resolves credentials through accounts
