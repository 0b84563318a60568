"""API shapes of the data hub. Shape and types are checked here; the rules (normalising
emails and phones, custom field definitions, uniqueness) are checked by the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rapport.core.pagination import Page
from rapport.core.schemas import Currency, PageOut, Patch
from rapport.hub.models import (
    Activity,
    ActivityKind,
    ChannelPreference,
    ConsentStatus,
    CustomFieldType,
    Direction,
    LifecycleStage,
)

Channel = Literal["email", "phone", "sms", "post"]
Preferences = dict[Channel, ChannelPreference]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EmailIn(Strict):
    email: str = Field(max_length=320)
    label: str | None = Field(default=None, max_length=50)
    primary: bool = False


class PhoneIn(Strict):
    number: str = Field(max_length=40)
    label: str | None = Field(default=None, max_length=50)
    primary: bool = False


class Address(Strict):
    label: str | None = Field(default=None, max_length=50)
    street: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=60, description="Name or ISO code")


class PersonFields(Strict):
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    email: str | None = Field(
        default=None, max_length=320, description="Shortcut: one primary email"
    )
    emails: list[EmailIn] = Field(default_factory=list, max_length=20)
    phone: str | None = Field(
        default=None, max_length=40, description="Shortcut: one primary phone"
    )
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    addresses: list[Address] = Field(default_factory=list, max_length=10)
    job_title: str | None = Field(default=None, max_length=200)
    company_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    lifecycle_stage: LifecycleStage = LifecycleStage.LEAD
    source: str | None = Field(default=None, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=50)
    preferences: Preferences = Field(default_factory=dict)
    consent_status: ConsentStatus = ConsentStatus.UNKNOWN
    custom: dict[str, Any] = Field(default_factory=dict)
    external_id: str | None = Field(default=None, max_length=200)


class PersonIn(PersonFields):
    """A new person: at least a name or an email."""

    @model_validator(mode="after")
    def _has_identity(self) -> PersonIn:
        if not (self.first_name or self.last_name or self.email or self.emails):
            raise ValueError("a person needs a name or an email")
        return self


class PersonPatch(Patch):
    """Only the fields you send change; send null to clear an optional field."""

    record_shape: ClassVar[str] = "PersonOut"
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    emails: list[EmailIn] | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    phones: list[PhoneIn] | None = Field(default=None, max_length=20)
    addresses: list[Address] | None = Field(default=None, max_length=10)
    job_title: str | None = Field(default=None, max_length=200)
    company_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    lifecycle_stage: LifecycleStage | None = None
    source: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = Field(default=None, max_length=50)
    preferences: Preferences | None = None
    consent_status: ConsentStatus | None = None
    custom: dict[str, Any] | None = Field(
        default=None, description="Merged into existing values; null clears a key"
    )
    external_id: str | None = Field(default=None, max_length=200)


class EmailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    email: str
    label: str | None
    primary: bool = Field(validation_alias="is_primary")


class PhoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: str
    label: str | None
    primary: bool = Field(validation_alias="is_primary")


class TagRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    color: str | None


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    first_name: str
    last_name: str
    full_name: str
    email: str | None
    phone: str | None
    emails: list[EmailOut]
    phones: list[PhoneOut]
    addresses: list[dict[str, Any]]
    job_title: str | None
    company_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    lifecycle_stage: str
    source: str | None
    tags: list[TagRef]
    preferences: dict[str, Any]
    consent_status: str
    consent_updated_at: datetime | None
    custom: dict[str, Any]
    external_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class PersonRow(BaseModel):
    """The narrow shape a list returns (no joins per row)."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    full_name: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    job_title: str | None
    company_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    lifecycle_stage: str
    source: str | None
    custom: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


class BulkPeopleIn(Strict):
    items: list[PersonIn] = Field(min_length=1, max_length=1000)


class BulkItemResult(BaseModel):
    index: int
    status: Literal["created", "updated", "unchanged", "error"]
    id: uuid.UUID | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BulkOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    failed: int
    results: list[BulkItemResult]


class CompanyFields(Strict):
    name: str = Field(min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=100)
    size: int | None = Field(default=None, ge=0, le=10_000_000)
    website: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=40)
    address: Address | None = None
    owner_id: uuid.UUID | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom: dict[str, Any] = Field(default_factory=dict)


class CompanyIn(CompanyFields):
    pass


class CompanyPatch(Patch):
    record_shape: ClassVar[str] = "CompanyOut"
    name: str | None = Field(default=None, min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=100)
    size: int | None = Field(default=None, ge=0, le=10_000_000)
    website: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=40)
    address: Address | None = None
    owner_id: uuid.UUID | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    custom: dict[str, Any] | None = None


class CompanyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    domain: str | None
    industry: str | None
    size: int | None
    website: str | None
    phone: str | None
    address: dict[str, Any] | None
    owner_id: uuid.UUID | None
    tags: list[TagRef]
    custom: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class TagIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    color: str | None = Field(default=None, max_length=20)


class TagPatch(Patch):
    record_shape: ClassVar[str] = "TagOut"
    name: str | None = Field(default=None, min_length=1, max_length=100)
    color: str | None = Field(default=None, max_length=20)


class TagOut(TagRef):
    version: int


class FieldDefinitionIn(Strict):
    object_type: Literal["person", "company"]
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="snake_case, used in cf.<key>")
    label: str = Field(min_length=1, max_length=200)
    field_type: CustomFieldType
    options: list[str] = Field(default_factory=list, max_length=200)
    required: bool = False
    filterable: bool = True
    currency: Currency | None = None


class FieldDefinitionPatch(Patch):
    record_shape: ClassVar[str] = "FieldDefinitionOut"
    label: str | None = Field(default=None, min_length=1, max_length=200)
    options: list[str] | None = Field(default=None, max_length=200)
    required: bool | None = None
    filterable: bool | None = None


class FieldDefinitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    object_type: str
    key: str
    label: str
    field_type: str
    options: list[str]
    required: bool
    filterable: bool
    currency: str | None
    version: int


class ActivityIn(Strict):
    kind: ActivityKind
    channel: str | None = Field(default=None, max_length=30, description="Defaults from kind")
    direction: Direction = Direction.INTERNAL
    occurred_at: datetime | None = Field(
        default=None, description="Defaults to now; must have a timezone"
    )
    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=100_000)
    person_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = Field(
        default=None,
        description="The deal it is about; alone, it links the deal's person and company too",
    )
    amount: Decimal | None = Field(default=None, max_digits=18, decimal_places=2)
    currency: Currency | None = None
    source: str | None = Field(default=None, max_length=100)
    external_id: str | None = Field(default=None, max_length=300)
    meta: dict[str, Any] = Field(default_factory=dict)


class ActivityPatch(Patch):
    record_shape: ClassVar[str] = "ActivityOut"
    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=100_000)
    occurred_at: datetime | None = None
    direction: Direction | None = None
    deal_id: uuid.UUID | None = Field(default=None, description="null unlinks the deal")
    amount: Decimal | None = Field(default=None, max_digits=18, decimal_places=2)
    currency: Currency | None = None
    meta: dict[str, Any] | None = None


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: str
    channel: str
    direction: str
    occurred_at: datetime
    subject: str | None
    body: str | None
    person_id: uuid.UUID | None
    company_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    amount: Decimal | None
    currency: str | None
    source: str | None
    external_id: str | None
    actor_id: uuid.UUID | None
    meta: dict[str, Any]
    version: int
    created_at: datetime
    deleted_at: datetime | None


class ChannelSummary(BaseModel):
    channel: str
    count: int
    last_at: datetime | None


class SpendSummary(BaseModel):
    currency: str
    total: Decimal
    orders: int


class Person360(BaseModel):
    person: PersonOut
    company: CompanyOut | None
    channels: list[ChannelSummary]
    total_activities: int
    last_contact_at: datetime | None
    spend: list[SpendSummary]
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None


class CompanyRow(BaseModel):
    """The narrow shape a company list returns (no joins per row)."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    domain: str | None
    industry: str | None
    size: int | None
    website: str | None
    phone: str | None
    owner_id: uuid.UUID | None
    custom: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


class TaggingIn(Strict):
    """Tag (or untag) many people or companies at once."""

    record_type: Literal["person", "company"]
    ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    names: list[str] = Field(min_length=1, max_length=50)


class TaggingOut(BaseModel):
    changed: list[uuid.UUID]
    unchanged: list[uuid.UUID]
    tags: list[TagRef]


class BulkActivitiesIn(Strict):
    items: list[ActivityIn] = Field(min_length=1, max_length=1000)


class IngestItemResult(BaseModel):
    index: int
    status: Literal["created", "replayed", "error"]
    id: uuid.UUID | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class IngestOut(BaseModel):
    created: int
    replayed: int
    failed: int
    results: list[IngestItemResult]


# --- a window onto a timeline: the query parameters of every timeline route, and its page ----


@dataclass
class _Window:
    kind: list[str] | None
    channel: list[str] | None
    before: datetime | None
    after: datetime | None
    limit: int
    cursor: str | None

    def kwargs(self) -> dict[str, Any]:
        return {
            "kinds": self.kind or (), "channels": self.channel or (), "before": self.before,
            "after": self.after, "limit": self.limit, "cursor": self.cursor,
        }  # fmt: skip


async def _window(  # no I/O: no trip to the threadpool
    kind: Annotated[
        list[str] | None, Query(description="email, call, … (repeat or comma-separate)")
    ] = None,
    channel: Annotated[list[str] | None, Query(description="email, phone, in_store, …")] = None,
    before: Annotated[datetime | None, Query(description="Strictly before this instant")] = None,
    after: Annotated[datetime | None, Query(description="At or after this instant")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(description="From next_cursor of the previous page")
    ] = None,
) -> _Window:
    return _Window(kind, channel, before, after, limit, cursor)


Window = Annotated[_Window, Depends(_window)]


def page_out(page: Page[Activity]) -> PageOut[ActivityOut]:
    """A page of activities in its API shape."""
    return PageOut[ActivityOut](
        items=[ActivityOut.model_validate(a) for a in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


# The list pages' query names → the list services' filter fields: the people and companies
# pages use them, and so does an export of a saved view (hygiene), which stores those names.
PERSON_LIST_FILTERS = {"stage": "lifecycle_stage", "tag": "tag", "owner": "owner_id"}
COMPANY_LIST_FILTERS = {
    "industry": "industry[contains]", "tag": "tag", "owner": "owner_id",
    "size_min": "size[gte]", "size_max": "size[lte]",
}  # fmt: skip
