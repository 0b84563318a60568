"""Hygiene's public surface: what other domains may call (the import contract allows this
module, ``models``, ``schemas`` and ``events``, and nothing else of hygiene)."""

from __future__ import annotations

from rapport.hygiene.service import sources

__all__ = ["sources"]
