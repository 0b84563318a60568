"""Cleaning one import record (pure): strict refuses a record for a bad value, lenient keeps
it with that field left out and a warning; and the headers address books export."""

from __future__ import annotations

import pickle

import pytest

from rapport.hygiene.service import company_columns, sources
from rapport.hygiene.service.cleaning import CleanRow, Problem, clean_record

MAPPING = {"Name": "full_name", "Email": "email", "Phone": "phone", "Country": "country",
           "Stage": "lifecycle_stage"}  # fmt: skip


def _clean(lenient: bool = False, region: str = "", **cells: str) -> CleanRow | list[Problem]:
    return clean_record(7, cells, MAPPING, region=region, lenient=lenient)


def test_a_bad_value_refuses_the_record_strict() -> None:
    outcome = _clean(Name="Ada Lovelace", Email="ada@example.com", Phone="n/a", Country="UK")
    assert isinstance(outcome, list)
    assert [(p.column, p.value) for p in outcome] == [("Phone", "n/a")]


def test_lenient_keeps_the_record_with_the_field_empty_and_a_warning() -> None:
    cells = {"Name": "ADA LOVELACE", "Email": "nope", "Phone": "n/a", "Country": "Narnia",
             "Stage": "hot"}  # fmt: skip
    row = _clean(lenient=True, **cells)
    assert isinstance(row, CleanRow)
    assert (row.values["first_name"], row.values["last_name"]) == ("Ada", "Lovelace")
    assert (row.email, row.phone, row.values.get("lifecycle_stage")) == (None, None, None)
    assert "addresses" not in row.values  # the country was all the address there was
    assert row.warnings is not None
    assert [(w.column, w.value) for w in row.warnings] == [
        ("Email", "nope"), ("Country", "Narnia"), ("Phone", "n/a"), ("Stage", "hot"),
    ]  # fmt: skip
    assert all(w.reason for w in row.warnings)


def test_lenient_still_refuses_a_record_left_with_nothing_to_name_it() -> None:
    outcome = _clean(lenient=True, Email="nope", Phone="+49 30 1234567")
    assert isinstance(outcome, list) and [p.column for p in outcome] == ["Email"]


def test_the_rows_country_reads_its_phone_then_the_workspaces() -> None:
    row = _clean(Name="Karl", Phone="030 1234567", Country="Deutschland", region="FR")
    assert isinstance(row, CleanRow) and row.phone == "+49301234567"
    assert row.values["addresses"] == [{"country": "DE"}]
    row = _clean(Name="Karl", Phone="030 1234567", region="DE")
    assert isinstance(row, CleanRow) and row.phone == "+49301234567"
    refused = _clean(Name="Karl", Phone="030 1234567")
    assert isinstance(refused, list)
    assert refused[0].reason.startswith("no country to read 030 1234567")


def test_a_refused_country_is_the_only_problem_named_for_its_phone() -> None:
    refused = _clean(Name="Frodo", Phone="030 1234567", Country="Middle-earth")
    assert isinstance(refused, list) and [p.column for p in refused] == ["Country"]
    assert "unknown country 'Middle-earth'" in refused[0].reason


def test_a_possible_but_unassigned_number_is_kept_with_a_warning_in_both_modes() -> None:
    for lenient in (False, True):
        row = _clean(lenient=lenient, Name="Ann", Phone="(555) 010-0000", Country="USA")
        assert isinstance(row, CleanRow) and row.phone == "+15550100000"
        assert row.warnings and row.warnings[0].column == "Phone"


def test_warnings_travel_to_the_writer_process() -> None:
    row = _clean(lenient=True, Name="Ann", Phone="n/a")
    assert isinstance(row, CleanRow)
    again = pickle.loads(pickle.dumps(row))
    assert again.warnings == row.warnings and again.warnings


OUTLOOK = [
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department",
    "Job Title", "Business Street", "Business Street 2", "Business City", "Business State",
    "Business Postal Code", "Business Country/Region", "Home Street", "Home City",
    "Home Postal Code", "Home Country/Region", "Business Fax", "Business Phone", "Home Phone",
    "Mobile Phone", "E-mail Address", "E-mail Type", "E-mail Display Name", "E-mail 2 Address",
    "Notes", "Categories",
]  # fmt: skip


def test_outlook_headers_are_mapped() -> None:
    mapping = sources.auto_mapping(OUTLOOK)
    assert mapping == {
        "First Name": "first_name", "Last Name": "last_name", "Company": "company",
        "Job Title": "job_title", "Business Street": "street", "Business City": "city",
        "Business State": "region", "Business Postal Code": "postal_code",
        "Business Country/Region": "country", "Business Phone": "phone",
        "E-mail Address": "email", "Categories": "tags",
    } | ({"Notes": "notes"} if "Notes" in mapping else {})  # fmt: skip


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Country/Region", "country"), ("Home Country/Region", "country"),
        ("E-mail 2 Address", "email"), ("Mobile Phone", "phone"), ("Home Phone", "phone"),
        ("Business Postal Code", "postal_code"), ("Title", "job_title"),
    ],
)  # fmt: skip
def test_each_outlook_header_alone_finds_its_field(header: str, field: str) -> None:
    assert sources.auto_mapping(["First Name", header]).get(header) == field


def test_google_contacts_headers_are_mapped() -> None:
    headers = ["Name", "Given Name", "Family Name", "E-mail 1 - Type", "E-mail 1 - Value",
               "Phone 1 - Type", "Phone 1 - Value", "Organization 1 - Name",
               "Organization 1 - Title", "Address 1 - Street", "Address 1 - City",
               "Address 1 - Postal Code", "Address 1 - Country", "Notes"]  # fmt: skip
    mapping = sources.auto_mapping(headers)
    assert {k: v for k, v in mapping.items() if k != "Notes"} == {
        "Name": "full_name", "Given Name": "first_name", "Family Name": "last_name",
        "E-mail 1 - Value": "email", "Phone 1 - Value": "phone",
        "Organization 1 - Name": "company", "Organization 1 - Title": "job_title",
        "Address 1 - Street": "street", "Address 1 - City": "city",
        "Address 1 - Postal Code": "postal_code", "Address 1 - Country": "country",
    }  # fmt: skip
    assert mapping.get("Notes") in (None, "notes")  # never mis-mapped


def test_a_companys_country_region_column_is_its_country() -> None:
    mapping = company_columns.auto_mapping(["Company", "Business Country/Region"])
    assert mapping == {"Company": "name", "Business Country/Region": "country"}
