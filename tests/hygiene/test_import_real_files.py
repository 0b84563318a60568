"""Imports right on files as real tools write them (``realdata/import``, made by
``realdata/make_import_files.py``): every file scores all six points of ``bench.import_real``
— accepted count, rejected lines, their column and reason, stored values, a rerun changing
nothing, the export round trip — and the previews give the same verdicts as the import. Then
the reading rules one by one: a row with the wrong number of cells, the sniffer's misreadings,
a person repeated in a file, JSON values of the wrong type, ``--map`` on JSON lines and vCard,
the preferred email of a card."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from bench.import_real import DATA, FORMATS, POINTS, fresh_workspace, score_file, stored, truth
from sqlalchemy.engine import Connection

from rapport.core.context import Context
from rapport.core.errors import RapportError
from rapport.hygiene.service import import_people, import_uploads, runner, sources
from rapport.sales.service import leads

TRUTH = truth()


def _records(data: bytes, fmt: str = "csv") -> list[tuple[int, dict[str, Any]]]:
    return list(sources.open_source(io.BufferedReader(io.BytesIO(data)), fmt).records)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_each_real_file_scores_every_point(connection: Connection, name: str) -> None:
    score = score_file(name, TRUTH[name])
    assert score.points == dict.fromkeys(POINTS, True), score.notes


def test_the_truth_covers_the_traps_it_names() -> None:
    """The quality floor only means something if the files hold what they claim."""
    assert len(TRUTH) >= 10
    rejects = [r for t in TRUTH.values() for r in t["rejects"]]
    assert sum(r["reason"] == "cells" for r in rejects) >= 2  # extra and short rows
    assert any(r["reason"] == "replaced" for r in rejects)
    assert {r["column"] for r in rejects} >= {"(record)", "phone", "first_name"}
    raw = (DATA / "quoted_notes.csv").read_bytes()
    assert b'""' in raw and b'"Line one\r\n' not in raw and b'"Line one\n' in raw
    assert (DATA / "unicode_text.txt").read_bytes()[:2] == b"\xff\xfe"
    assert (DATA / "excel_semicolon_bom.csv").read_bytes()[:3] == b"\xef\xbb\xbf"


@pytest.mark.parametrize("name", sorted(n for n in TRUTH if FORMATS[Path(n).suffix] == "csv"))
def test_the_previews_give_the_import_s_verdicts(ada_ctx: Context, name: str) -> None:
    """The CLI preview counts what the import accepts and names the lines it rejects; the
    upload page's first rows are marked bad exactly on the lines the import refuses."""
    expected = TRUTH[name]
    with (DATA / name).open("rb") as handle:
        _mapping, good, problems = runner.preview(handle, "csv", {}, region="US")
    assert good == expected["accepted"]
    assert sorted({line for line, _ in problems}) == sorted(r["line"] for r in expected["rejects"])
    with (DATA / name).open("rb") as handle:
        staged = import_uploads.stage(ada_ctx, filename=name, stream=handle, object="person")
    view = import_uploads.preview(ada_ctx, staged)
    refused = {r["line"] for r in expected["rejects"] if r["reason"] != "replaced"}
    assert view.rows, name
    assert {row.line for row in view.rows if not row.ok} == refused & {r.line for r in view.rows}
    import_uploads.discard(staged)


HEADER = "first_name,last_name,email,notes,phone,city\n"


class TestCellCount:
    def test_a_comma_outside_quotes_rejects_the_line_and_shifts_nothing(self) -> None:
        text = (
            HEADER
            + 'Ada,Lovelace,ada@example.com,"one\nnote, with ""quotes""",+442079460018,London\n'
            + "Bob,Builder,bob@example.com,too, many,+14155552671,Boston\n"
            + "\n"
            + "Cy,Young,cy@example.com,short\n"
            + "Di,Prince,di@example.com,,+14155552672,Themyscira\n"
        )
        records = _records(text.encode())
        assert [line for line, _ in records] == [2, 4, 6, 7]
        assert records[0][1]["notes"] == 'one\nnote, with "quotes"'
        assert records[0][1]["city"] == "London"
        assert records[1][1] == {
            "__error__": "this line has 7 cells where the header has 6 — probably a comma "
            "outside quotes; nothing of it was imported"
        }
        assert "has 4 cells where the header has 6" in records[2][1]["__error__"]
        assert records[3][1]["city"] == "Themyscira"

    def test_the_sniffer_s_quote_guess_never_splits_a_quoted_cell(self) -> None:
        """csv.Sniffer takes ``'`` for the quote here; read so, "z, w" becomes two cells."""
        text = "name,email,notes\n'Ada',a@example.com,'x, y'\nBo,b@example.com,\"z, w\"\n"
        records = _records(text.encode())
        assert records[1] == (3, {"name": "Bo", "email": "b@example.com", "notes": "z, w"})
        assert "4 cells" in records[0][1]["__error__"]

    def test_single_quoted_cells_are_read_when_that_is_the_only_table(self) -> None:
        text = "name,email,notes\nAda,a@example.com,'x, y'\nBo,b@example.com,'z, w'\n"
        assert [r["notes"] for _, r in _records(text.encode())] == ["x, y", "z, w"]

    def test_the_import_stores_none_of_a_shifted_row(
        self, connection: Connection, tmp_path: Path
    ) -> None:
        path = tmp_path / "people.csv"
        path.write_text(
            "first_name,last_name,email,job_title,city\n"
            "Ada,Lovelace,ada@example.com,Countess,London\n"
            "Eve,Shift,eve@example.com,Head of Sales, EMEA,Paris\n"  # read whole: city EMEA
        )
        workspace = fresh_workspace("Shift")
        job = runner.run_file(workspace, runner.start_file(workspace, path, "csv", {}))
        assert (job.created, job.rejected) == (1, 1)
        assert set(stored(workspace)) == {"ada@example.com"}


class TestRepeatedPeople:
    def test_the_later_row_wins_and_the_earlier_is_reported_replaced(
        self, connection: Connection, tmp_path: Path
    ) -> None:
        path = tmp_path / "people.csv"
        path.write_text(
            "email,first_name,job_title\n"
            "ada@example.com,Ada,Intern\n"
            "bob@example.com,Bob,Builder\n"
            "ada@example.com,Ada,Director\n"
        )
        workspace = fresh_workspace("Repeats")
        job_id = runner.start_file(workspace, path, "csv", {})
        job = runner.run_file(workspace, job_id)
        assert (job.created, job.rejected) == (2, 1)
        assert stored(workspace)["ada@example.com"]["job_title"] == "Director"
        with path.open("rb") as handle:
            _mapping, good, problems = runner.preview(handle, "csv", {}, region="US")
        assert good == 2
        assert [(line, p.reason) for line, p in problems] == [
            (2, "replaced by line 4, which has the same email (the later line wins)")
        ]


class TestJsonTypes:
    LINES = [
        {"first_name": "Ada", "email": "ada@example.com", "phone": "+442079460018"},
        {"first_name": {"given": "x"}, "email": "obj@example.com"},
        {"first_name": "Int", "email": "int@example.com", "phone": 4915123457213},
        {"first_name": "Zip", "email": "zip@example.com", "postal_code": 1067, "city": "X"},
        {"first_name": True, "email": "bool@example.com"},
        {"first_name": "Tags", "email": "tags@example.com", "tags": ["a", "b"]},
    ]

    def _outcomes(self) -> list[Any]:
        data = "\n".join(json.dumps(line) for line in self.LINES).encode()
        source = sources.open_source(io.BufferedReader(io.BytesIO(data)), "jsonl", typed=True)
        mapping = import_people.resolve_mapping(source.columns, "jsonl", {}, {})
        return [import_people.clean_one(n, raw, mapping, "US") for n, raw in source.records]

    def test_wrong_types_are_rejected_by_field_with_the_reason(self) -> None:
        outcomes = self._outcomes()
        refused = {
            n: [(p.column, p.reason) for p in o]
            for n, o in enumerate(outcomes, start=1)
            if isinstance(o, list)
        }
        assert refused == {
            2: [("first_name", "a name must be text, not an object")],
            3: [
                (
                    "phone",
                    "a phone number must be a string: as a number it has lost its leading + or 0",
                )
            ],
            5: [("first_name", "a name must be text, not true")],
        }

    def test_a_whole_number_is_taken_as_its_text_where_text_belongs(self) -> None:
        outcomes = self._outcomes()
        assert outcomes[3].values["addresses"] == [{"postal_code": "1067", "city": "X"}]
        assert outcomes[5].extras == {"tags": ("tags", "a; b")}


class TestMapOnKeyedFormats:
    def test_map_names_a_json_key_as_a_field_and_drops_another(
        self, connection: Connection, tmp_path: Path
    ) -> None:
        path = tmp_path / "people.jsonl"
        path.write_text(
            json.dumps({"first_name": "Ada", "mail": "ada@example.com", "job_title": "CTO"}) + "\n"
        )
        workspace = fresh_workspace("Map")
        job_id = runner.start_file(
            workspace, path, "jsonl", {"mail": "email", "job_title": "ignore"}
        )
        runner.run_file(workspace, job_id)
        ada = stored(workspace)["ada@example.com"]
        assert ada["first_name"] == "Ada" and "job_title" not in ada

    def test_map_on_a_vcard_takes_its_fields_and_refuses_other_names(self) -> None:
        mapping = import_people.resolve_mapping(
            list(sources.FIELDS), "vcf", {}, {"job_title": "source"}
        )
        assert mapping["job_title"] == "source" and "source" not in mapping
        with pytest.raises(RapportError, match="a vCard has no column 'Mail'"):
            import_people.resolve_mapping(list(sources.FIELDS), "vcf", {}, {"Mail": "email"})


def test_a_card_s_preferred_email_comes_first() -> None:
    card = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Vera\r\nN:;Vera;;;\r\n"
        "EMAIL;TYPE=work:old@example.com\r\nEMAIL;PREF=1:best@example.com\r\nEND:VCARD\r\n"
    )
    [(line, raw)] = _records(card.encode(), "vcf")
    assert (line, raw["email"]) == (1, "best@example.com")


def test_the_lead_import_refuses_a_shifted_row(ada_ctx: Context) -> None:
    data = (
        b"email,first_name,job_title\n"
        b"zoe@prospect.example.org,Zoe,CTO\n"
        b"max@prospect.example.org,Max,Analyst, Data\n"
    )
    report = leads.import_csv(ada_ctx, data)
    assert (report.created, report.rejected) == (1, 1)
    [error] = report.errors
    assert error["line"] == 3 and "4 cells where the header has 3" in error["reason"]


def test_a_note_of_any_length_keeps_its_row_and_lands_on_the_timeline_once(
    connection: Connection, tmp_path: Path
) -> None:
    """A note used to be a custom text cell of at most 10,000 characters, and a longer one
    cost its row; now it is a note on the person's timeline, kept whole up to an activity's
    100,000 characters (the beginning of a longer one), and a rerun adds no second note."""
    long, huge = "x" * 12_000, "y" * 150_000
    path = tmp_path / "people.csv"
    path.write_text(
        "email,first_name,note\n"
        f"ada@example.com,Ada,{long}\n"
        f'bob@example.com,Bob,"{huge}"\n'
        "cy@example.com,Cy,\n"
    )
    workspace = fresh_workspace("Notes")
    job = runner.run_file(workspace, runner.start_file(workspace, path, "csv", {}))
    assert (job.created, job.rejected) == (3, 0)
    runner.run_file(workspace, runner.start_file(workspace, path, "csv", {}))
    found = stored(workspace)
    assert found["ada@example.com"]["notes"] == [long]
    assert found["bob@example.com"]["notes"] == [huge[: import_people.NOTE_LIMIT]]
    assert found["cy@example.com"]["notes"] == []
