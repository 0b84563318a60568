"""JSON routes of the sales domain, one module per concern."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.sales.api import analytics, deals, leads, pipelines, routing, scoring, tasks

router = APIRouter()
for module in (pipelines, deals, analytics, leads, scoring, routing, tasks):
    router.include_router(module.router)
router.include_router(leads.public)
