"""The role grants, computed from what the domains declare, are exactly the table Rapport has
always granted: a domain that moves, or a grant declared at the wrong role, fails here."""

from __future__ import annotations

from rapport import domains
from rapport.core.permissions import ALL_PERMISSIONS, ROLE_PERMISSIONS, Role, expand_scopes

READ_ONLY = {
    "people:read", "companies:read", "activities:read", "tags:read", "fields:read",
    "deals:read", "pipelines:read", "tasks:read", "hygiene:read", "tokens:manage",
}  # fmt: skip
MEMBER = READ_ONLY | {
    "people:write", "companies:write", "activities:write", "tags:write", "deals:write",
    "leads:write", "tasks:write", "hygiene:import",
}  # fmt: skip
MANAGER = MEMBER | {
    "people:delete", "companies:delete", "activities:delete", "tags:delete", "deals:delete",
    "audit:read", "hygiene:merge", "export:read",
}  # fmt: skip
ADMIN = MANAGER | {
    "fields:write", "members:manage", "workspace:manage", "pipelines:write", "scoring:write",
    "routing:manage",
}  # fmt: skip
TODAY = {
    Role.READ_ONLY: READ_ONLY,
    Role.MEMBER: MEMBER,
    Role.MANAGER: MANAGER,
    Role.ADMIN: ADMIN,
    Role.OWNER: ADMIN,
}


def test_the_grant_table_is_todays_exactly() -> None:
    domains.install()
    assert len(ADMIN) == 32
    assert ALL_PERMISSIONS == ADMIN
    assert {role: set(ROLE_PERMISSIONS[role]) for role in Role} == TODAY


def test_the_read_scope_is_every_read_permission() -> None:
    domains.install()
    assert expand_scopes(["read"]) == {p for p in ADMIN if p.endswith(":read")}
    assert expand_scopes(["*"]) == ADMIN
    assert expand_scopes(["deals:*", "tags:read"]) == {
        "deals:read", "deals:write", "deals:delete", "tags:read",
    }  # fmt: skip
