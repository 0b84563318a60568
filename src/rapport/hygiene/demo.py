"""The hygiene step of ``rapport demo``: the duplicate scan, so the review queue has the twins
the sales step planted in it."""

from __future__ import annotations

from rapport.core.context import Context
from rapport.core.registry import DemoMade, DemoSeed
from rapport.hygiene.service import dedupe


def demo_step(ctx: Context, seed: DemoSeed) -> DemoMade:
    """Scan for duplicates (``Domain.demo``); adds no records of its own."""
    dedupe.find_duplicates(ctx)
    return DemoMade()
