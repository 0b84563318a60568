"""Imports every table so that SQLAlchemy's metadata (and Alembic) sees the whole schema."""

from rapport.accounts import models as accounts_models
from rapport.core import events, idempotency, search
from rapport.core.db import Base
from rapport.hub import models as hub_models
from rapport.hygiene import models as hygiene_models
from rapport.sales import models as sales_models
from rapport.web import models as web_models

__all__ = [
    "Base",
    "accounts_models",
    "events",
    "hub_models",
    "hygiene_models",
    "idempotency",
    "sales_models",
    "search",
    "web_models",
]
