"""Imports every table so that SQLAlchemy's metadata (and Alembic) sees the whole schema."""

from rapport.accounts import models as accounts_models
from rapport.core import events, idempotency, search
from rapport.core.db import Base
from rapport.hub import models as hub_models

__all__ = ["Base", "accounts_models", "events", "hub_models", "idempotency", "search"]
