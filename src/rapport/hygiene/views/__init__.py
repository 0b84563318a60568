"""The hygiene pages: duplicates and merges, data quality, and imports."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.hygiene.views import duplicates, imports

router = APIRouter()
router.include_router(duplicates.router)
router.include_router(imports.router)  # /imports: upload, mapping preview, progress
