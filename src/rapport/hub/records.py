"""The hub's record types (see rapport.core.records): people and companies, listed, binned,
saved as views and filtered for export by the shared plumbing. Their exports are hygiene's
round-trip exporters, so they declare no generic export columns."""

from __future__ import annotations

from functools import partial

from rapport.core.records import RecordType
from rapport.hub.events import COMPANY_DELETED, COMPANY_RESTORED, PERSON_DELETED, PERSON_RESTORED
from rapport.hub.models import Company, Person
from rapport.hub.schemas import COMPANY_LIST_FILTERS, PERSON_LIST_FILTERS
from rapport.hub.service import companies, companies_list, fields, people, people_list

PERSON = RecordType(
    name="person",
    plural="people",
    model=Person,
    read="people:read",
    write="people:write",
    delete="people:delete",
    sorts=people_list.SORTS,
    default_sort=people_list.DEFAULT_SORT,
    fields=people_list.FIELDS,
    binned=PERSON_DELETED,
    restored=PERSON_RESTORED,
    list_columns=people_list.LIST_COLUMNS,
    searchable=True,
    custom_types=partial(fields.filter_types, object_type="person"),
    page_filters=PERSON_LIST_FILTERS,
    fetch_options=people.FULL,
    reindex=people.reindex,
)

COMPANY = RecordType(
    name="company",
    plural="companies",
    model=Company,
    read="companies:read",
    write="companies:write",
    delete="companies:delete",
    sorts=companies_list.SORTS,
    default_sort=companies_list.DEFAULT_SORT,
    fields=companies_list.FIELDS,
    binned=COMPANY_DELETED,
    restored=COMPANY_RESTORED,
    list_columns=companies_list.LIST_COLUMNS,
    searchable=True,
    custom_types=partial(fields.filter_types, object_type="company"),
    page_filters=COMPANY_LIST_FILTERS,
    fetch_options=companies.FULL,
    before_restore=companies.check_restorable,
    reindex=companies.reindex,
)

RECORD_TYPES = (PERSON, COMPANY)
