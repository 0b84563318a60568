"""JSON routes of the data hub, one module per record type."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.hub.api import activities, companies, fields, people, tags, timeline

router = APIRouter()
for module in (people, companies, tags, fields, activities, timeline):
    router.include_router(module.router)
