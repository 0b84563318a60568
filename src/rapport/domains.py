"""The registry of domains: one line per domain, in dependency order.

Each entry names a package whose ``domain`` module defines ``DOMAIN`` (a
``rapport.core.registry.Domain``). ``install()`` is called by every entry point (the app, the
CLI, the worker, the tests) before anything else runs.
"""

from __future__ import annotations

import importlib

from rapport.core import registry

DOMAIN_PACKAGES = (
    "rapport.accounts",
    "rapport.hub",
    "rapport.sales",
    "rapport.hygiene",
)


def install() -> tuple[registry.Domain, ...]:
    """Import each domain's declaration and register it (cheap to call again)."""
    found = [importlib.import_module(f"{p}.domain").DOMAIN for p in DOMAIN_PACKAGES]
    registry.install(found)
    return registry.domains()
