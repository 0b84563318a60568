"""The duplicate check a create may ask for (``?check_duplicates=true``), supplied by another
domain: the hub owns people but not the matching, so the hygiene domain registers its check
here when it is installed (``hygiene/domain.py``) instead of the hub importing hygiene."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rapport.core.context import Context

DuplicateCheck = Callable[[Context, Mapping[str, Any]], None]
_checks: list[DuplicateCheck] = []


def register(check: DuplicateCheck) -> None:
    """Add a check that raises (a 409 problem) if the person about to be created exists."""
    if check not in _checks:
        _checks.append(check)


def check_create(ctx: Context, person: Mapping[str, Any]) -> None:
    """Run every registered check on the person about to be created."""
    for check in _checks:
        check(ctx, person)
