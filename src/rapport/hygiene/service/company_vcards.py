"""Companies as vCards: organisation cards (``KIND:org``) read for a companies import and
written by the companies export, so a vCard export imports back unchanged.

A card's ORG is the company's name, URL its website (and, on a card from elsewhere, its
domain), ADR its address, TEL its phone, NOTE its ``description`` custom field (when the
workspace defines one), X-RAPPORT-FIELD its other custom fields, CATEGORIES its tags,
X-RAPPORT-ID its Rapport id and UID its external id. Rapport writes the domain as
X-RAPPORT-DOMAIN: a domain is not always the website's host.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

import vobject

from rapport.hub.public import validation
from rapport.hygiene.service import columns, sources

COLUMNS = (
    "id", "external_id", "name", "domain", "website", "phone", "street", "city", "region",
    "postal_code", "country", "tags", "note",
)  # fmt: skip
NOTE_FIELD = "description"  # the custom field a card's NOTE goes to, if the workspace has it
_ADDRESS = {"street": "street", "city": "city", "region": "region", "code": "postal_code",
            "country": "country"}  # fmt: skip


def read(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, str]]]:
    """The company cards of a vCard file as records ``(line, {column: text})``; a card
    without ORG is a record error at its first line."""
    encoding = sources.detect_encoding(stream.read(sources.SNIFF_BYTES))
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    return sources.vcards(text, _fields)


def _first(contents: dict[str, Any], name: str) -> str:
    if name not in contents:
        return ""
    value = contents[name][0].value
    return " ".join(sources.parts(value)) if isinstance(value, list) else str(value).strip()


def _fields(card: Any) -> dict[str, str]:
    contents = card.contents
    org = contents["org"][0].value if "org" in contents else None
    name = (org[0] if isinstance(org, list) and org else org) or ""
    if not str(name).strip():
        return {"__error__": "a company card needs ORG (the company's name)"}
    out = {"name": str(name).strip()}
    rapport_id = _first(contents, "x-rapport-id")
    if rapport_id:
        out["id"] = rapport_id
    simple = {"uid": "external_id", "tel": "phone", "note": "note", "url": "website"}
    out |= {field: value for key, field in simple.items() if (value := _first(contents, key))}
    domain = _first(contents, "x-rapport-domain")
    if not domain and out.get("website") and not rapport_id:
        try:  # a card from elsewhere: the website names the domain
            domain = validation.normalise_domain(out["website"])
        except ValueError:
            domain = ""
    if domain:
        out["domain"] = domain
    if "adr" in contents:
        adr = contents["adr"][0].value
        for part, field in _ADDRESS.items():
            if value := " ".join(sources.parts(getattr(adr, part))):
                out[field] = value
    if "categories" in contents:
        out["tags"] = columns.join_list(sources.parts(contents["categories"][0].value))
    return out | sources.custom_fields(contents)


def card(row: dict[str, Any], kinds: dict[str, str] | None = None) -> str:
    """One company (a row of the companies export) as an organisation vCard 3.0, with its
    custom fields (``kinds``: key → type) other than the NOTE's."""
    vcard = vobject.vCard()
    vcard.add("kind").value = "org"
    vcard.add("fn").value = row["name"]
    vcard.add("n").value = vobject.vcard.Name(family=row["name"])
    vcard.add("org").value = [row["name"]]
    vcard.add("x-rapport-id").value = row["id"]
    if row.get("external_id"):
        vcard.add("uid").value = row["external_id"]
    if row.get("website"):
        vcard.add("url").value = row["website"]
    if row.get("domain"):
        vcard.add("x-rapport-domain").value = row["domain"]
    if row.get("phone"):
        vcard.add("tel").value = row["phone"]
    if any(row.get(k) for k in _ADDRESS.values()):
        vcard.add("adr").value = vobject.vcard.Address(
            **{part: row.get(field) or "" for part, field in _ADDRESS.items()}
        )
    if row.get("tags"):
        vcard.add("categories").value = list(row["tags"])
    note = (row.get("custom") or {}).get(NOTE_FIELD)
    if note:
        vcard.add("note").value = str(note)
    others = {k: kind for k, kind in (kinds or {}).items() if k != NOTE_FIELD}
    sources.add_custom_fields(vcard, row.get("custom") or {}, others)
    return str(vcard.serialize())
