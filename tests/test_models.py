"""``rapport.models`` alone (what Alembic's env imports) gives the whole schema: every domain's
tables, found through the registry's list of packages rather than listed by hand."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

from rapport.core.db import Base
from rapport.domains import DOMAIN_PACKAGES


def _tables_seen_by_alembic() -> dict[str, str]:
    """``{table: module of its model}`` in a fresh interpreter that imports only rapport.models."""
    script = (
        "import json, rapport.models as m\n"
        "print(json.dumps({mapper.local_table.name: mapper.class_.__module__"
        " for mapper in m.Base.registry.mappers}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout))


def test_rapport_models_alone_holds_every_domains_tables() -> None:
    seen = _tables_seen_by_alembic()
    for package in DOMAIN_PACKAGES:
        importlib.import_module(f"{package}.models")
    by_domain: dict[str, set[str]] = {p: set() for p in DOMAIN_PACKAGES}
    for mapper in Base.registry.mappers:
        package = mapper.class_.__module__.removesuffix(".models")
        if package in by_domain:
            by_domain[package].add(mapper.local_table.name)
    for package, tables in by_domain.items():
        assert tables, f"{package} has no table"
        assert tables <= set(seen), f"Alembic misses {package}: {tables - set(seen)}"
    assert {"users", "people", "deals", "import_jobs"} <= set(seen)
