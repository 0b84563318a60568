"""The context every service call takes: session, workspace, acting user, what they may do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from rapport.core.errors import Forbidden
from rapport.core.permissions import Role, granted


@dataclass
class Context:
    """Who is acting, in which workspace, through which session."""

    session: Session
    workspace_id: uuid.UUID
    user_id: uuid.UUID | None = None
    role: Role = Role.OWNER
    scopes: frozenset[str] | None = None  # None: a signed-in session, the role's full rights
    actor_type: str = "user"  # user | token | system
    request_id: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def permissions(self) -> frozenset[str]:
        allowed = granted(self.role)
        return allowed if self.scopes is None else allowed & self.scopes

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        """Raise Forbidden unless the actor holds ``permission``."""
        if not self.can(permission):
            # Name what actually stands in the way: the role, or the token's narrower scopes.
            by_role = permission not in granted(self.role)
            who = f"role {self.role.value}" if by_role else "this token"
            raise Forbidden(f"{who} lacks the permission {permission!r}")


def system_context(session: Session, workspace_id: uuid.UUID) -> Context:
    """The context for CLI and background work: the system acts with owner rights."""
    return Context(session=session, workspace_id=workspace_id, role=Role.OWNER, actor_type="system")
