"""Matching a file's headers to a target's fields: one function for every target with fixed
fields (deals, activities), by name or synonym, the member's choices first, and a clear
refusal when nothing names what a record needs."""

from __future__ import annotations

import pytest

from rapport.core.errors import BadRequest
from rapport.core.imports import labelled, resolve_columns

FIELDS = ("title", "amount", "close_date", "person_email", "external_id", "person_external_id")
SYNONYMS = {
    "title": ("name", "deal name"),
    "person_email": ("email", "contact"),
    "person_external_id": ("external id", "contact id"),  # its own name comes first
}
REQUIRED = {"the title": ("title",), "the person": ("person_email", "person_external_id")}


def _resolve(
    columns: list[str], saved: dict[str, str] | None = None, **explicit: str
) -> dict[str, str]:
    return resolve_columns(columns, saved or {}, explicit, FIELDS, SYNONYMS, REQUIRED)


def test_headers_match_by_name_and_synonym_each_field_once() -> None:
    columns = ["Deal Name", "Close-Date", " AMOUNT ", "E-Mail", "Name", "External ID", "Notes"]
    assert _resolve(columns) == {
        "Deal Name": "title",
        "Close-Date": "close_date",
        " AMOUNT ": "amount",
        "E-Mail": "person_email",
        "External ID": "external_id",  # a field's own name beats another's synonym
    }  # "Name" would be a second title; "Notes" names nothing


def test_saved_then_explicit_choices_win_and_ignore_drops_a_column() -> None:
    columns = ["Deal Name", "Headline", "Contact", "Owner Ref"]
    saved = {"Headline": "title", "Gone": "amount", "Owner Ref": "person_external_id"}
    assert _resolve(columns, saved, **{"Deal Name": "ignore", "Owner Ref": "external_id"}) == {
        "Headline": "title",
        "Owner Ref": "external_id",
        "Contact": "person_email",
    }
    with pytest.raises(BadRequest, match="unknown field 'stage' for column 'Headline'"):
        _resolve(columns, Headline="stage")


def test_a_file_without_what_a_record_needs_is_refused_naming_it() -> None:
    with pytest.raises(BadRequest, match="no column maps to the person; map one"):
        _resolve(["Title", "Amount"])
    with pytest.raises(BadRequest, match="no column maps to the title or the person"):
        _resolve(["Amount"])


def test_fields_are_labelled_for_pages() -> None:
    assert labelled(["close_date", "title"]) == [("close_date", "close date"), ("title", "title")]
