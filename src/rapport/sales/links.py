"""The sales rows that point at a person or a company (see rapport.core.links): deals and
tasks follow a merge and come back on undo; an open deal keeps its person active."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement

from rapport.core.links import Link
from rapport.sales.models import Deal, DealStatus, Task


def _open_deal(_cutoff: datetime) -> ColumnElement[bool]:
    return Deal.status == DealStatus.OPEN


LINKS = (
    Link(Deal.person_id, "person", name="deals", keeps_active=_open_deal),
    Link(Task.person_id, "person", name="tasks"),
    Link(Deal.company_id, "company", name="deals"),
    Link(Task.company_id, "company", name="tasks"),
)
