"""Listing deals: the sorts and filters of the deal list (the sales "deal" record type,
``sales/records.py``), listed by the shared plumbing (``core/listing.py``)."""

from __future__ import annotations

from rapport.core.context import Context
from rapport.core.filtering import FieldSet, FilterField
from rapport.core.listing import ListParams, list_records
from rapport.core.pagination import Page
from rapport.core.records import record_type
from rapport.sales.models import Deal, DealStatus

# Every sort is served by an index (workspace_id, <column>, id); see sales/models.py.
SORTS = {
    "created_at": Deal.created_at,
    "title": Deal.title,
    "amount": Deal.amount,
    "expected_close_date": Deal.expected_close_date,
}
DEFAULT_SORT = "-created_at"

FIELDS = FieldSet(
    [
        FilterField("title", "string", column=Deal.title),
        FilterField("owner_id", "uuid", column=Deal.owner_id),
        FilterField("stage_id", "uuid", column=Deal.stage_id),
        FilterField("pipeline_id", "uuid", column=Deal.pipeline_id),
        FilterField("person_id", "uuid", column=Deal.person_id),
        FilterField("company_id", "uuid", column=Deal.company_id),
        FilterField("status", "enum", column=Deal.status, choices=tuple(DealStatus)),
        FilterField("currency", "string", column=Deal.currency),
        FilterField("amount", "number", column=Deal.amount),
        FilterField("expected_close_date", "date", column=Deal.expected_close_date),
        FilterField("created_at", "datetime", column=Deal.created_at),
        FilterField("closed_at", "datetime", column=Deal.closed_at),
    ],
    custom_column=Deal.custom,
)

# The deal list page's query names → filter fields (a saved view of the list is a filter).
PAGE_FILTERS = {"pipeline": "pipeline_id", "stage": "stage_id", "owner": "owner_id",
                "status": "status"}  # fmt: skip


def list_deals(ctx: Context, params: ListParams) -> Page[Deal]:
    """A page of deals: sorted, filtered, or (with ``q``) the best search matches."""
    return list_records(ctx, record_type("deal"), params)
