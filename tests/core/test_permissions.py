"""The role grants, computed from what the domains declare, are exactly the table Rapport has
always granted: a domain that moves, or a grant declared at the wrong role, fails here."""

from __future__ import annotations

import pytest

from rapport import domains
from rapport.core import permissions, registry
from rapport.core.context import Context
from rapport.core.permissions import ALL_PERMISSIONS, ROLE_PERMISSIONS, Role, expand_scopes
from rapport.core.registry import Domain

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


def test_a_new_domain_grants_its_permissions_by_declaring_them(cleo_ctx: Context) -> None:
    real = domains.install()
    loyalty = Domain(
        name="loyalty",
        permissions={"loyalty:read": Role.READ_ONLY, "loyalty:adjust": Role.MANAGER},
    )
    registry.install([*real, loyalty])
    try:
        assert cleo_ctx.can("loyalty:read") and not cleo_ctx.can("loyalty:adjust")
        assert "loyalty:adjust" in permissions.ROLE_PERMISSIONS[Role.MANAGER]
        assert "loyalty:adjust" in permissions.ALL_PERMISSIONS
        twin = Domain(name="rewards", permissions={"deals:read": Role.READ_ONLY})
        with pytest.raises(ValueError, match="'deals:read' is declared twice"):
            permissions.grant_table([*real, twin])
    finally:
        registry.install(real)
    assert not cleo_ctx.can("loyalty:read")
