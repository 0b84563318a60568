"""Imports every table so that SQLAlchemy's metadata (and Alembic) sees the whole schema."""

from rapport.accounts import models as accounts_models
from rapport.core import events, idempotency, instance
from rapport.core.db import Base
from rapport.core.jobs import models as jobs_models
from rapport.core.search import index as search
from rapport.core.search import terms as search_terms
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
    "instance",
    "jobs_models",
    "sales_models",
    "search",
    "search_terms",
    "web_models",
]
