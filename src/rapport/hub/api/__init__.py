"""JSON routes of the data hub, one module per record type."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.hub.api import activities, bulk_actions, companies, fields, people, tags, timeline

router = APIRouter()
for module in (bulk_actions, people, companies, tags, fields, activities, timeline):
    router.include_router(module.router)
