"""The sales pages: deals (board, list, record), the dashboard, tasks and leads, and the
panels sales adds to people's, companies' and deals' pages."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.sales.views import deals, leads, panels, sales, task_list

router = APIRouter()
router.include_router(leads.router)
router.include_router(deals.router)  # /deals/new and /deals/list are declared before /{id}
router.include_router(task_list.router)  # /tasks/link-options
router.include_router(sales.router)
router.include_router(panels.router)
