"""What other domains may call in accounts besides ``rapport.accounts.service``: teams."""

from __future__ import annotations

from rapport.accounts.service import teams, workspace

__all__ = ["teams", "workspace"]
