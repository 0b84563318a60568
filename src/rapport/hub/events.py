"""The hub's event topics: people, companies, custom fields, tags and the timeline.

Payload types describe what the publisher passes; consumers read them from the outbox as JSON
(ids and instants as strings). See :mod:`rapport.core.topics`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NotRequired, TypedDict

from rapport.core.topics import NoPayload, Topic, collect


class RecordDeleted(TypedDict):
    """A record went to the bin; a merge says which record it went into."""

    merged_into: NotRequired[uuid.UUID]
    merge_id: NotRequired[uuid.UUID]


class RecordRestored(TypedDict):
    """A record came back from the bin; undoing a merge says which merge."""

    merge_id: NotRequired[uuid.UUID]


class TagDeleted(TypedDict):
    untagged: dict[str, int | None]  # records that carried it, per kind ("people", ...)


class ActivityCreated(TypedDict):
    """What consumers route on without loading the activity."""

    kind: str
    channel: str | None
    person_id: uuid.UUID | None
    company_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    occurred_at: datetime | None


PERSON_CREATED = Topic(
    "person.created", NoPayload, "A person was added (by hand, the API, a form or an import)."
)
PERSON_UPDATED = Topic("person.updated", NoPayload, "A person's fields, owner or tags changed.")
PERSON_DELETED = Topic("person.deleted", RecordDeleted, "A person went to the bin.")
PERSON_RESTORED = Topic("person.restored", RecordRestored, "A person came back from the bin.")
COMPANY_CREATED = Topic("company.created", NoPayload, "A company was added.")
COMPANY_UPDATED = Topic("company.updated", NoPayload, "A company's fields, owner or tags changed.")
COMPANY_DELETED = Topic("company.deleted", RecordDeleted, "A company went to the bin.")
COMPANY_RESTORED = Topic("company.restored", RecordRestored, "A company came back from the bin.")
CUSTOM_FIELD_CREATED = Topic("custom_field.created", NoPayload, "A custom field was defined.")
CUSTOM_FIELD_UPDATED = Topic("custom_field.updated", NoPayload, "A custom field changed.")
CUSTOM_FIELD_DELETED = Topic("custom_field.deleted", NoPayload, "A custom field was removed.")
TAG_CREATED = Topic("tag.created", NoPayload, "A tag was created.")
TAG_UPDATED = Topic("tag.updated", NoPayload, "A tag was renamed or recoloured.")
TAG_DELETED = Topic("tag.deleted", TagDeleted, "A tag was deleted and taken off every record.")
ACTIVITY_CREATED = Topic(
    "activity.created", ActivityCreated, "An interaction was logged on the timeline."
)
ACTIVITY_UPDATED = Topic("activity.updated", NoPayload, "A timeline entry was edited.")
ACTIVITY_DELETED = Topic("activity.deleted", NoPayload, "A timeline entry went to the bin.")
ACTIVITY_RESTORED = Topic("activity.restored", NoPayload, "A timeline entry came back.")

# The same change on either kind of record, for code that serves both.
UPDATED = {"person": PERSON_UPDATED, "company": COMPANY_UPDATED}
DELETED = {"person": PERSON_DELETED, "company": COMPANY_DELETED}

EVENTS = collect(globals())
