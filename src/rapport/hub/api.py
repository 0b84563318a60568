"""JSON routes of the data hub: people, companies, activities, tags, custom fields."""

from __future__ import annotations

from rapport.core.api import domain_router

router = domain_router()
