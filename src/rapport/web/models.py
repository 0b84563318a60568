"""The web app's own table: saved views of a list (a name for a search, filters, sort, columns)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rapport.core.db import Base, Timestamped, WorkspaceScoped


class SavedView(WorkspaceScoped, Timestamped, Base):
    """A user's named list query; ``is_shared`` shows it to the whole workspace."""

    __tablename__ = "saved_views"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))
    is_shared: Mapped[bool] = mapped_column(default=False)
    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id", "object_type", "name"),
        Index("ix_saved_views_ws_object", "workspace_id", "object_type", "name"),
    )
