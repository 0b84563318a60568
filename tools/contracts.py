"""Custom import-linter contract: the boundaries between domains (DESIGN.md §3).

A domain is a package directly under the root package that has a ``domain`` module (its
registry record), so a new domain is checked without editing the configuration. A domain may
import, from another domain, only the modules named in ``public_modules`` (its models, schemas,
events, its ``service`` package itself and a ``public`` module) and anything below the packages
named in ``public_packages``; never its api, views, cli, jobs, demo or service internals.
"""

from __future__ import annotations

from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class DomainBoundaries(Contract):
    """Every domain imports only the public surface of every other domain."""

    root = fields.StringField()
    public_modules = fields.ListField(subfield=fields.StringField())
    public_packages = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def _domains(self, graph: ImportGraph) -> list[str]:
        return sorted(
            child for child in graph.find_children(self.root) if f"{child}.domain" in graph.modules
        )

    def _is_public(self, module: str, domain: str) -> bool:
        relative = module.removeprefix(domain + ".")
        return relative in self.public_modules or any(
            relative.startswith(package + ".") for package in self.public_packages
        )

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        domains = self._domains(graph)
        violations: list[dict[str, Any]] = []
        for importer_domain in domains:
            importers = {importer_domain, *graph.find_descendants(importer_domain)}
            for importer in sorted(importers):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    owner = next(
                        (d for d in domains if imported == d or imported.startswith(d + ".")),
                        None,
                    )
                    if owner is None or owner == importer_domain:
                        continue
                    if self._is_public(imported, owner):
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    violations.append(
                        {
                            "importer": importer,
                            "imported": imported,
                            "lines": sorted({d["line_number"] for d in details}),
                        }
                    )
        return ContractCheck(
            kept=not violations, metadata={"domains": domains, "violations": violations}
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print(
            "Domains: " + ", ".join(check.metadata["domains"]) + ". A domain may import "
            "another's " + ", ".join(self.public_modules) + " only:"
        )
        output.new_line()
        for violation in check.metadata["violations"]:
            lines = ", ".join(f"l.{n}" for n in violation["lines"])
            output.print_error(
                f"- {violation['importer']} -> {violation['imported']} ({lines})", bold=False
            )
        output.new_line()
