"""Workspaces, users, memberships (the role a user has in a workspace), teams and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rapport.core.db import Base, HasId, Timestamped, Versioned, WorkspaceScoped
from rapport.core.permissions import Role  # noqa: F401 - re-exported for accounts callers


class Workspace(HasId, Timestamped, Base):
    """The tenant: every other row carries its id."""

    __tablename__ = "workspaces"
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(HasId, Timestamped, Base):
    """A person who signs in; may belong to several workspaces through memberships."""

    __tablename__ = "users"
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # Browser sessions signed before this instant are refused (the cookie carries it).
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)


class Team(WorkspaceScoped, Timestamped, Base):
    __tablename__ = "teams"
    name: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)


class Membership(WorkspaceScoped, Timestamped, Versioned, Base):
    """A user's role (and team) in one workspace."""

    __tablename__ = "memberships"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    # Set: the member keeps their history but no session or token of theirs works here.
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)
    user: Mapped[User] = relationship(lazy="raise")
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)


class ApiToken(WorkspaceScoped, Timestamped, Base):
    """A bearer token; only its SHA-256 is stored, the secret is shown once."""

    __tablename__ = "api_tokens"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (Index("ix_api_tokens_workspace_user", "workspace_id", "user_id"),)
