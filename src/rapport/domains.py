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
    """Import each domain's declaration and register it; cheap to call again.

    A registry that already holds these domains is kept as it is, so a test that registered an
    extra domain next to them (see ``tests/core/test_registry.py``) keeps it while the app is
    built.
    """
    if registry.installed():
        names = {d.name for d in registry.domains()}
        if all(p.rsplit(".", 1)[1] in names for p in DOMAIN_PACKAGES):
            return registry.domains()
    found = [importlib.import_module(f"{p}.domain").DOMAIN for p in DOMAIN_PACKAGES]
    registry.install(found)
    return registry.domains()
