"""The accounts pages: sign in and out, pick a workspace, first-run setup, invite links, and
the settings sections of profile, members, teams, API tokens and the workspace."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.accounts.views import auth, members, settings

router = APIRouter()
router.include_router(auth.router)
router.include_router(settings.router)
router.include_router(members.router)

__all__ = ["router"]
