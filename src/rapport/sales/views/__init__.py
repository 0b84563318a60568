"""The sales pages: deals (board, list, record), the dashboard, tasks and leads, and the
panels sales adds to people's, companies' and deals' pages."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.sales.views import (
    bulk,
    deal_custom,
    deal_edit,
    deals,
    leads,
    panels,
    sales,
    settings_lead_forms,
    settings_pipelines,
    settings_rules,
    task_list,
)

router = APIRouter()
router.include_router(leads.router)
router.include_router(bulk.router)  # POST /deals/bulk, /tasks/bulk
router.include_router(deal_custom.router)  # /deals/{id}/custom
router.include_router(deals.router)  # /deals/new and /deals/list are declared before /{id}
router.include_router(deal_edit.router)
router.include_router(task_list.router)  # /tasks/link-options
router.include_router(sales.router)
router.include_router(panels.router)
router.include_router(settings_pipelines.router)
router.include_router(settings_rules.router)
router.include_router(settings_lead_forms.router)
