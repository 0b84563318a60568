"""The columns a companies import understands, and their automatic mapping by header name.

A column maps to one of :data:`FIELDS` (by name or a synonym), or to a custom field of
companies as ``custom.<key>`` (a header ``custom.<key>``, the key itself or the field's label).
"""

from __future__ import annotations

from collections.abc import Iterable

from rapport.hygiene.service import columns

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
    "country": ("country", "countrycode", "nation", "countryregion", "businesscountryregion"),
    "owner_email": ("owneremail", "owner", "accountowner", "ownedby", "assignedto"),
    "tags": ("tags", "tag", "labels", "categories"),
}  # fmt: skip
_BY_KEY = {key: name for name, keys in _SYNONYMS.items() for key in keys} | {"id": "id"}


def is_target(field: str, custom_keys: Iterable[str]) -> bool:
    """Whether ``field`` is something a company column can map to."""
    return columns.is_target(field, FIELDS, custom_keys)


def auto_mapping(
    headers: Iterable[str],
    overrides: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
) -> dict[str, str]:
    """``{column: field}`` for the columns recognised (``custom`` is ``{key: label}`` of the
    workspace's company fields); overrides win (``""``/``ignore`` drops a column). Raises
    Invalid for an unknown field or column."""
    return columns.auto_mapping(headers, overrides, known=FIELDS, by_key=_BY_KEY, custom=custom)
