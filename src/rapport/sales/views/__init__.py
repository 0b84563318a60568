"""The sales pages: deals (board, list, record), the dashboard, tasks and leads."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.sales.views import deals, leads, sales

router = APIRouter()
router.include_router(leads.router)
router.include_router(deals.router)  # /deals/new and /deals/list are declared before /{id}
router.include_router(sales.router)
