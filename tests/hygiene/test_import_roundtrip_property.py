"""Properties of import and export over generated tables (hypothesis, few examples: seconds).

1. Any people — names, emails, companies, job titles, streets and a custom text field holding
   quotes, ``,`` ``;`` tabs, line breaks, spreadsheet formulas (``= + - @``) and text in
   every script — exported as CSV, JSON lines or vCard and imported into a fresh workspace
   come back unchanged (vCard: the fields it carries).
2. A CSV row with more or fewer cells than the header is always rejected by the line it
   starts on, and never stored; the rows around it are read whole.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

from bench.import_real import csv_export, fresh_workspace, import_file, without_ids
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection

from rapport.core.context import system_context
from rapport.core.db import transaction
from rapport.hub.public import companies, fields, people, validation
from rapport.hub.schemas import Address, CompanyIn, FieldDefinitionIn, PersonIn
from rapport.hygiene.service import exporting, import_people, sources

# Letters of many scripts, and every character a CSV, a vCard or a spreadsheet treats apart.
SCRIPTS = "aZéßøЖж漢字かなعربيहिन्दी한글Ωλ🚀😀👩‍💻"
SPECIAL = "\"',;\t\n|\\=+-@ "
# A cell's surrounding blanks are not data: every import strips them.
TEXT = st.text(alphabet=SCRIPTS + SPECIAL, max_size=30).map(str.strip)
# Names the import's casing rule leaves as they are (it re-cases all-capitals: the cleaning's
# concern, not the reading's).
NAME = st.text(alphabet=SCRIPTS + " '-", min_size=1, max_size=20).filter(
    lambda name: name.strip() and validation.clean_name(name) == name
)
LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)

PERSON = st.fixed_dictionaries(
    {
        "first_name": NAME,
        "last_name": NAME,
        "company": st.one_of(st.none(), TEXT.filter(str.strip)),
        "job_title": TEXT,
        "street": TEXT,
        "note": TEXT,
    }
)
TABLE = st.lists(PERSON, min_size=1, max_size=6)
NOT_CARRIED_BY_VCARD = ("source", "lifecycle_stage")


def _fill(table: list[dict[str, Any]]) -> Any:
    """A fresh workspace holding the table (a custom text field ``note``)."""
    workspace = fresh_workspace("Property")
    with transaction(workspace) as session:
        ctx = system_context(session, workspace)
        fields.create_definition(
            ctx,
            FieldDefinitionIn(object_type="person", key="note", label="Note", field_type="text"),
        )
        for number, row in enumerate(table):
            company = (
                companies.create(ctx, CompanyIn(name=row["company"])).id if row["company"] else None
            )
            people.create(
                ctx,
                PersonIn(
                    first_name=row["first_name"], last_name=row["last_name"],
                    email=f"p{number}@property.example", job_title=row["job_title"] or None,
                    company_id=company, addresses=[Address(street=row["street"] or None)],
                    custom={"note": row["note"]} if row["note"] else {},
                ),
            )  # fmt: skip
    return workspace


def _export(workspace: Any, fmt: str) -> str:
    with transaction(workspace) as session:
        return "".join(exporting.export_people(system_context(session, workspace), fmt))


def _into_fresh_workspace(text: str, fmt: str) -> tuple[Any, list[Any]]:
    other = fresh_workspace("Property copy")
    with transaction(other) as session:
        fields.create_definition(
            system_context(session, other),
            FieldDefinitionIn(object_type="person", key="note", label="Note", field_type="text"),
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export.{fmt}"
        path.write_text(text, encoding="utf-8", newline="")
        _job, rejects = import_file(other, path, fmt)
    return other, rejects


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking takes minutes here
)
@given(table=TABLE, fmt=st.sampled_from(["csv", "jsonl", "vcf"]))
def test_any_table_of_people_round_trips_through_export_and_import(
    connection: Connection, table: list[dict[str, Any]], fmt: str
) -> None:
    source = _fill(table)
    before = without_ids(csv_export(source))
    copy, rejects = _into_fresh_workspace(_export(source, fmt), fmt)
    assert rejects == []
    after = without_ids(csv_export(copy))
    if fmt == "vcf":
        for row in before + after:
            for name in NOT_CARRIED_BY_VCARD:
                row.pop(name, None)
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        assert {k: (v, new.get(k)) for k, v in old.items() if new.get(k) != v} == {}


CELL = st.text(alphabet='ab,;"\n\t é漢', max_size=8)


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(min_value=2, max_value=6),
    rows=st.integers(min_value=1, max_value=6),
    data=st.data(),
)
def test_a_row_with_the_wrong_number_of_cells_is_rejected_by_its_line(
    width: int, rows: int, data: st.DataObject
) -> None:
    header = ["email", *(f"c{i}" for i in range(1, width))]
    table = [
        [f"p{n}@x.example", *data.draw(st.lists(CELL, min_size=width - 1, max_size=width - 1))]
        for n in range(rows)
    ]
    bad = data.draw(st.integers(min_value=0, max_value=rows - 1))
    delta = data.draw(st.sampled_from([-1, 1, 2]) if width > 1 else st.just(1))
    table[bad] = table[bad][: width + delta] if delta < 0 else table[bad] + ["x"] * delta
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    starts = []
    for row in table:
        starts.append(buffer.getvalue().count("\n") + 1)
        writer.writerow(row)
    source = sources.open_source(io.BufferedReader(io.BytesIO(buffer.getvalue().encode())), "csv")
    records = dict(source.records)
    mapping = import_people.resolve_mapping(source.columns, "csv", {}, {})
    assert sorted(records) == starts
    for number, start in enumerate(starts):
        outcome = import_people.clean_one(start, records[start], mapping, "US")
        if number == bad:
            assert isinstance(outcome, list) and outcome[0].column == "(record)"
            assert f"has {width + delta} cells where the header has {width}" in outcome[0].reason
        else:
            assert records[start] == dict(zip(header, table[number], strict=True))
            assert not isinstance(outcome, list) and outcome.email == f"p{number}@x.example"
