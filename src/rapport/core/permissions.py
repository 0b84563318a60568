"""Roles and what each may do. Token scopes narrow a role further, never widen it.

Each domain declares the permissions it checks with the least role granted each
(``Domain.permissions``), and a role holds every grant of the roles below it. The grant table
is computed from the registry when first read after ``rapport.domains.install()`` (and again
if another set of domains is installed), so core names no domain's permission.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from rapport.core import registry


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"
    READ_ONLY = "read_only"


# Least to most: each role holds what the roles before it hold.
ROLES_UPWARD = (Role.READ_ONLY, Role.MEMBER, Role.MANAGER, Role.ADMIN, Role.OWNER)
# What core itself checks (the audit log), with the least role granted it.
CORE_PERMISSIONS: Mapping[str, Role] = {"audit:read": Role.MANAGER}

# Computed from the registry on first use (module ``__getattr__`` below).
ALL_PERMISSIONS: frozenset[str]
ROLE_PERMISSIONS: Mapping[Role, frozenset[str]]

_table: tuple[tuple[registry.Domain, ...], dict[Role, frozenset[str]]] | None = None


def grant_table(domains: Iterable[registry.Domain]) -> dict[Role, frozenset[str]]:
    """Each role's permissions, from core's and the domains' declarations; a permission
    declared twice is refused (one owner states who may use it)."""
    least: dict[str, Role] = dict(CORE_PERMISSIONS)
    for domain in domains:
        for permission, role in domain.permissions.items():
            if permission in least:
                raise ValueError(f"permission {permission!r} is declared twice ({domain.name})")
            least[permission] = role
    rank = {role: n for n, role in enumerate(ROLES_UPWARD)}
    return {
        role: frozenset(p for p, needed in least.items() if rank[needed] <= rank[role])
        for role in ROLES_UPWARD
    }


def _role_permissions() -> dict[Role, frozenset[str]]:
    """The grant table of the installed domains (computed once per installed set)."""
    global _table
    domains = registry.domains()
    if _table is None or _table[0] is not domains:
        _table = (domains, grant_table(domains))
    return _table[1]


def __getattr__(name: str) -> Any:
    if name == "ROLE_PERMISSIONS":
        return _role_permissions()
    if name == "ALL_PERMISSIONS":
        return _role_permissions()[Role.OWNER]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def granted(role: Role) -> frozenset[str]:
    """What ``role`` may do."""
    return _role_permissions()[role]


def expand_scopes(scopes: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Turn a token's scopes into the permissions they allow: a permission, ``<object>:*``,
    ``read`` (every ``:read``) or ``*``."""
    everything = _role_permissions()[Role.OWNER]
    allowed: set[str] = set()
    for scope in scopes:
        if scope == "*":
            return everything
        if scope == "read":
            allowed |= {p for p in everything if p.endswith(":read")}
        elif scope.endswith(":*"):
            allowed |= {p for p in everything if p.startswith(scope[:-1])}
        elif scope in everything:
            allowed.add(scope)
        else:
            raise ValueError(f"unknown scope {scope!r}")
    return frozenset(allowed)
