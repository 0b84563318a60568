"""The accounts pages: sign in and out, pick a workspace, first-run setup."""

from __future__ import annotations

from rapport.accounts.views.auth import router

__all__ = ["router"]
