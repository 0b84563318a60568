"""The hygiene domain's event topics: imports, duplicates and merges, staleness and bounces.

Merges also publish the hub's ``person.deleted``/``company.deleted`` and ``*.restored`` (with
the merge's id). See :mod:`rapport.core.topics`.
"""

from __future__ import annotations

import uuid
from typing import Any, NotRequired, TypedDict

from rapport.core.topics import NoPayload, Topic, collect


class ImportStarted(TypedDict):
    filename: str
    format: str
    object: NotRequired[str]  # what is imported ("company", "deal", …); absent: people


class ImportFinished(TypedDict):
    created: int
    updated: int
    unchanged: int
    rejected: int


class ImportBatch(TypedDict):
    """One committed batch of an import: the records it created and changed."""

    last_line: int
    created_ids: list[uuid.UUID]
    updated_ids: list[uuid.UUID]
    object: NotRequired[str]  # what the ids are ("company", "deal", …); absent: people


class StalenessChecked(TypedDict):
    inactive_days: int
    flagged: int
    revived: int
    inactive: int
    bounced: int
    now: str


class PersonMerged(TypedDict):
    merged_id: uuid.UUID  # the person merged away (now in the bin)
    merge_id: uuid.UUID


class CompanyMerged(TypedDict):
    merged_id: uuid.UUID
    merge_id: uuid.UUID
    moved: dict[str, Any]  # rows repointed, per linked table


class PersonMergeUndone(TypedDict):
    merge_id: uuid.UUID
    restored: uuid.UUID


class MergeUndone(TypedDict):
    merge_id: uuid.UUID


class DuplicatesScanned(TypedDict):
    people: int
    compared: int
    found: int
    new: int
    remembered: NotRequired[int]
    threshold: float


class DuplicateDecided(TypedDict):
    person_a: uuid.UUID
    person_b: uuid.UUID
    decision: str


class CompanyDuplicatesScanned(TypedDict):
    compared: int
    found: int
    new: int
    remembered: int
    companies: int


class CompanyDuplicateDecided(TypedDict):
    company_a: uuid.UUID
    company_b: uuid.UUID


IMPORT_STARTED = Topic("import.started", ImportStarted, "A file import was accepted.")
IMPORT_DONE = Topic("import.done", ImportFinished, "An import finished; its counts.")
IMPORT_FAILED = Topic("import.failed", ImportFinished, "An import stopped on an error.")
IMPORT_BATCH = Topic(
    "import.batch",
    ImportBatch,
    "A batch of an import committed: the ids it created and changed (people's unless `object`"
    " names another record type).",
)
COMPANY_EXTERNAL_ID_ADDED = Topic(
    "company.external_id_added", NoPayload, "An import linked a company to another system's id."
)
IMPORT_MAPPING_CREATED = Topic("import_mapping.created", NoPayload, "A column mapping was saved.")
IMPORT_MAPPING_UPDATED = Topic("import_mapping.updated", NoPayload, "A column mapping changed.")
IMPORT_MAPPING_DELETED = Topic("import_mapping.deleted", NoPayload, "A column mapping was removed.")
HYGIENE_SETTINGS_CHANGED = Topic(
    "hygiene.settings_changed",
    NoPayload,
    "The days without contact that make a person stale changed.",
)
PEOPLE_STALENESS_CHECKED = Topic(
    "people.staleness_checked", StalenessChecked, "The staleness check ran over the workspace."
)
PERSON_EMAIL_BOUNCED = Topic("person.email_bounced", NoPayload, "A person's email bounced.")
PERSON_EMAIL_BOUNCE_CLEARED = Topic(
    "person.email_bounce_cleared", NoPayload, "A person's bounce flag was cleared."
)
PERSON_MERGED = Topic("person.merged", PersonMerged, "Another person was merged into this one.")
PERSON_MERGE_UNDONE = Topic(
    "person.merge_undone", PersonMergeUndone, "A merge of people was undone."
)
COMPANY_MERGED = Topic("company.merged", CompanyMerged, "Another company was merged into this one.")
COMPANY_MERGE_UNDONE = Topic(
    "company.merge_undone", MergeUndone, "A merge of companies was undone."
)
DUPLICATES_SCANNED = Topic(
    "duplicates.scanned", DuplicatesScanned, "People were compared for duplicates."
)
DUPLICATE_DECIDED = Topic(
    "duplicate.decided", DuplicateDecided, "A pair of possible duplicate people was decided."
)
COMPANY_DUPLICATES_SCANNED = Topic(
    "company_duplicates.scanned",
    CompanyDuplicatesScanned,
    "Companies were compared for duplicates.",
)
COMPANY_DUPLICATE_DECIDED = Topic(
    "company_duplicate.decided",
    CompanyDuplicateDecided,
    "A pair of possible duplicate companies was decided.",
)

EVENTS = collect(globals())
