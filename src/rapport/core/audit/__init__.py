"""The audit log: who changed what (see :mod:`.log`; its JSON route in :mod:`.api`).
Call sites keep ``from rapport.core import audit; audit.list_entries(...)``."""

from __future__ import annotations

from rapport.core.audit.log import NEWEST_FIRST, list_entries

__all__ = ["NEWEST_FIRST", "list_entries"]
