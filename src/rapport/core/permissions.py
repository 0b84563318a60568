"""Roles and what each may do. Token scopes narrow a role further, never widen it."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"
    READ_ONLY = "read_only"


RECORD_OBJECTS = ("people", "companies", "activities", "tags")
ALL_PERMISSIONS = frozenset(
    [f"{obj}:{action}" for obj in RECORD_OBJECTS for action in ("read", "write", "delete")]
    + ["fields:read", "fields:write", "audit:read", "members:manage", "workspace:manage"]
    + ["tokens:manage"]
    + ["deals:read", "deals:write", "deals:delete", "pipelines:read", "pipelines:write"]
    + ["leads:write", "tasks:read", "tasks:write", "scoring:write", "routing:manage"]
    + ["hygiene:read", "hygiene:import", "hygiene:merge", "export:read"]
)

_READ = {p for p in ALL_PERMISSIONS if p.endswith(":read")} | {"tokens:manage"}
_MEMBER = _READ | {f"{o}:write" for o in RECORD_OBJECTS} | {"deals:write", "leads:write"}
_MEMBER |= {"tasks:write"}
_MANAGER = _MEMBER | {f"{o}:delete" for o in RECORD_OBJECTS} | {"audit:read", "deals:delete"}
# Hygiene: everyone sees import jobs and the duplicate queue; members import (a bulk
# people:write); merging (it removes a person) and bulk export (a whole list leaving the
# system, a privacy matter) are for managers and above.
_READ -= {"export:read"}
_MEMBER = (_MEMBER - {"export:read"}) | {"hygiene:import"}
_MANAGER |= {"hygiene:import", "hygiene:merge", "export:read"}
_ADMIN = _MANAGER | {"fields:write", "members:manage", "workspace:manage"}
_ADMIN |= {"pipelines:write", "scoring:write", "routing:manage"}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.READ_ONLY: frozenset(_READ - {"audit:read"}),
    Role.MEMBER: frozenset(_MEMBER - {"audit:read"}),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OWNER: ALL_PERMISSIONS,
}

# Scopes a token may carry: a permission, "<object>:*", "read" (every :read) or "*".
SCOPE_ALIASES = {"read": frozenset(p for p in ALL_PERMISSIONS if p.endswith(":read"))}


def expand_scopes(scopes: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Turn a token's scopes into the permissions they allow."""
    allowed: set[str] = set()
    for scope in scopes:
        if scope == "*":
            return ALL_PERMISSIONS
        if scope in SCOPE_ALIASES:
            allowed |= SCOPE_ALIASES[scope]
        elif scope.endswith(":*"):
            allowed |= {p for p in ALL_PERMISSIONS if p.startswith(scope[:-1])}
        elif scope in ALL_PERMISSIONS:
            allowed.add(scope)
        else:
            raise ValueError(f"unknown scope {scope!r}")
    return frozenset(allowed)
