"""The hub's public surface: what other domains may call (the import contract allows this
module, ``models``, ``schemas`` and ``events``, and nothing else of the hub).

Each name is a service module whose functions are the hub's rules for its records; the list
pages' internals, bulk actions and the API stay private to the hub.
"""

from __future__ import annotations

from rapport.hub import lookups, validation
from rapport.hub.service import (
    bulk,
    common,
    companies,
    companies_list,
    duplicates,
    fields,
    people,
    people_bulk,
    people_list,
    timeline,
    timeline_read,
)
from rapport.hub.service.common import check_owner, tags_by_name, without_unchanged
from rapport.hub.validation import normalise_phone
from rapport.hub.views import custom_filter  # a list page's custom-field condition

__all__ = [
    "bulk",
    "check_owner",
    "common",
    "companies",
    "companies_list",
    "custom_filter",
    "duplicates",
    "fields",
    "lookups",
    "normalise_phone",
    "people",
    "people_bulk",
    "people_list",
    "tags_by_name",
    "timeline",
    "timeline_read",
    "validation",
    "without_unchanged",
]
