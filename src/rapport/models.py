"""Imports every table so that SQLAlchemy's metadata (and Alembic) sees the whole schema: core's
and the shell's by name, and each registered domain's ``models`` module found through
``rapport.domains.DOMAIN_PACKAGES``, so a new domain needs no line here."""

import importlib
import importlib.util

from rapport.core import events, idempotency, instance
from rapport.core.db import Base
from rapport.core.jobs import models as jobs_models
from rapport.core.search import index as search
from rapport.core.search import terms as search_terms
from rapport.domains import DOMAIN_PACKAGES
from rapport.web import models as web_models

DOMAIN_MODELS = tuple(
    importlib.import_module(f"{package}.models")
    for package in DOMAIN_PACKAGES
    if importlib.util.find_spec(f"{package}.models") is not None
)

__all__ = [
    "DOMAIN_MODELS",
    "Base",
    "events",
    "idempotency",
    "instance",
    "jobs_models",
    "search",
    "search_terms",
    "web_models",
]
