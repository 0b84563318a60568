"""Listing people: the sorts, filters and columns of the people list (the hub's "person"
record type, ``hub/records.py``), listed by the shared plumbing (``core/listing.py``)."""

from __future__ import annotations

from functools import partial

from rapport.core.context import Context
from rapport.core.filtering import FieldSet, FilterField
from rapport.core.listing import ListParams, list_records
from rapport.core.pagination import Page
from rapport.core.records import record_type
from rapport.hub.models import ConsentStatus, LifecycleStage, Person, person_tags
from rapport.hub.service.tags import has_tag

# Every sort is served by an index (workspace_id, <column>, id); see hub/models.py.
SORTS = {
    "full_name": Person.full_name,
    "last_name": Person.last_name,
    "created_at": Person.created_at,
    "updated_at": Person.updated_at,
    "email": Person.email,
    "phone": Person.phone,
    "job_title": Person.job_title,
    "lifecycle_stage": Person.lifecycle_stage,
    "source": Person.source,
}
DEFAULT_SORT = "full_name"

LIST_COLUMNS = (
    Person.id,
    Person.workspace_id,
    Person.full_name,
    Person.first_name,
    Person.last_name,
    Person.email,
    Person.phone,
    Person.job_title,
    Person.company_id,
    Person.owner_id,
    Person.lifecycle_stage,
    Person.source,
    Person.custom,
    Person.version,
    Person.created_at,
    Person.updated_at,
    Person.deleted_at,
)


FIELDS = FieldSet(
    [
        FilterField("first_name", "string", column=Person.first_name),
        FilterField("last_name", "string", column=Person.last_name),
        FilterField("full_name", "string", column=Person.full_name),
        FilterField("email", "string", column=Person.email),
        FilterField("phone", "string", column=Person.phone),
        FilterField("job_title", "string", column=Person.job_title),
        FilterField("source", "string", column=Person.source),
        FilterField("company_id", "uuid", column=Person.company_id),
        FilterField("owner_id", "uuid", column=Person.owner_id),
        FilterField(
            "lifecycle_stage", "enum", column=Person.lifecycle_stage, choices=tuple(LifecycleStage)
        ),
        FilterField(
            "consent_status", "enum", column=Person.consent_status, choices=tuple(ConsentStatus)
        ),
        FilterField("created_at", "datetime", column=Person.created_at),
        FilterField("updated_at", "datetime", column=Person.updated_at),
        FilterField("tag", "tag", build=partial(has_tag, person_tags, "person_id", Person.id)),
    ],
    custom_column=Person.custom,
)


def list_people(ctx: Context, params: ListParams) -> Page[Person]:
    """A page of people: sorted, filtered, or (with ``q``) the best search matches."""
    return list_records(ctx, record_type("person"), params)
