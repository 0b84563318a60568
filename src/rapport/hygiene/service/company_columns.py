"""The columns a companies import understands, and their automatic mapping by header name.

A column maps to one of :data:`FIELDS` (by name or a synonym), or to a custom field of
companies as ``custom.<key>`` (a header ``custom.<key>``, the key itself or the field's label).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapport.core.errors import invalid

FIELDS = (
    "id",
    "external_id",
    "name",
    "domain",
    "website",
    "industry",
    "size",
    "phone",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "owner_email",
    "tags",
)
_SYNONYMS = {
    "external_id": ("externalid", "extid", "crmid", "companyid", "accountid", "uid"),
    "name": ("name", "companyname", "company", "organization", "organisation", "account",
             "accountname", "firma"),
    "domain": ("domain", "companydomain", "emaildomain"),
    "website": ("website", "web", "url", "homepage", "site", "websiteurl"),
    "industry": ("industry", "sector", "vertical", "branche"),
    "size": ("size", "employees", "employeecount", "numberofemployees", "headcount", "staff"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mainphone"),
    "street": ("street", "address", "streetaddress", "address1", "addressline1"),
    "city": ("city", "town", "locality"),
    "region": ("region", "state", "province", "county"),
    "postal_code": ("postalcode", "postcode", "zip", "zipcode"),
    "country": ("country", "countrycode", "nation"),
    "owner_email": ("owneremail", "owner", "accountowner", "ownedby", "assignedto"),
    "tags": ("tags", "tag", "labels", "categories"),
}  # fmt: skip
_BY_KEY = {key: name for name, keys in _SYNONYMS.items() for key in keys} | {"id": "id"}


def key(header: str) -> str:
    """A header reduced for matching: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", header.strip().lower())


def is_target(field: str, custom_keys: Iterable[str]) -> bool:
    """Whether ``field`` is something a company column can map to."""
    return field in FIELDS or (
        field.startswith("custom.") and field.removeprefix("custom.") in set(custom_keys)
    )


def auto_mapping(
    columns: Iterable[str],
    overrides: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
) -> dict[str, str]:
    """``{column: field}`` for the columns recognised (``custom`` is ``{key: label}`` of the
    workspace's company fields); overrides win (``""``/``ignore`` drops a column). Raises
    Invalid for an unknown field or column."""
    columns = list(columns)
    custom = custom or {}
    by_custom = {key(k): f"custom.{k}" for k in custom}
    by_custom |= {key(label): f"custom.{k}" for k, label in custom.items() if label}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        field: str | None
        if column in FIELDS or (column.startswith("custom.") and is_target(column, custom)):
            field = column
        else:
            field = _BY_KEY.get(key(column)) or by_custom.get(key(column))
        if field and field not in taken:
            mapping[column] = field
            taken.add(field)
    for column, field in (overrides or {}).items():
        if column not in columns:
            raise invalid(("map", column), f"the file has no column {column!r}")
        if field in ("", "ignore"):
            mapping.pop(column, None)
            continue
        if not is_target(field, custom):
            known = ", ".join([*FIELDS, *(f"custom.{k}" for k in custom)])
            raise invalid(("map", column), f"unknown field {field!r}; one of {known}")
        for other in [c for c, f in mapping.items() if f == field and c != column]:
            del mapping[other]
        mapping[column] = field
    return mapping
