"""Who a credential belongs to: the lookups core's request dependency needs from accounts.

Core imports no domain, so it states what it needs here (:class:`Identities`) and the accounts
domain provides it when it is installed (``accounts/domain.py`` calls :func:`provide`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from rapport.core.permissions import Role


@dataclass(frozen=True)
class Principal:
    """Who a credential belongs to, resolved before the workspace session is scoped."""

    user_id: uuid.UUID
    workspace_id: uuid.UUID
    role: Role
    scopes: frozenset[str] | None
    actor_type: str
    token_to_touch: uuid.UUID | None = None  # a token whose last use is over a minute old


@dataclass(frozen=True)
class Member:
    """A signed-in member as the web shell shows them: who, where, with which role."""

    user_id: uuid.UUID
    email: str
    name: str | None
    workspace_id: uuid.UUID
    workspace_name: str
    role: Role
    # The user's password epoch: a session cookie carrying another one predates the last
    # password change and is refused.
    session_epoch: str = "0"


class Identities(Protocol):
    """What the accounts domain answers for core (its ``service`` module is one)."""

    def authenticate_token(self, session: Session, token: str) -> Principal:
        """The principal of a bearer token; ``Unauthorized`` if it is not a live one."""
        ...

    def member_role(
        self, session: Session, workspace_id: uuid.UUID, user_id: uuid.UUID
    ) -> Role | None:
        """The user's role in the workspace, or None if they are no member of it."""
        ...

    def active_member(
        self, session: Session, workspace_id: uuid.UUID, user_id: uuid.UUID
    ) -> Member | None:
        """The active user's membership of the workspace, or None (no such user, inactive,
        no member, no workspace)."""
        ...

    def touch_token(self, session: Session | None, token_id: uuid.UUID) -> None:
        """Note that a token was used (in ``session``, or in a short transaction of its own)."""
        ...


_identities: Identities | None = None


def provide(identities: Identities) -> None:
    """Register the identity lookups (the accounts domain does, when it is installed)."""
    global _identities
    _identities = identities


def identities() -> Identities:
    """The registered identity lookups."""
    if _identities is None:
        raise RuntimeError("no identity provider: call rapport.domains.install() first")
    return _identities
