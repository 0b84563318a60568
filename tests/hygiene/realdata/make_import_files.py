"""Write the adversarial import files of ``import/`` and their ``truth.json`` (fixed seed).

Each file is a small export as real tools write them — Outlook's CSV in cp1252, Excel's ``;``
with a UTF-8 BOM, Excel's "Unicode text" (UTF-16, tabs), Latin-1, Rapport's own export, JSON
lines and vCards — with the traps that shift cells or lose data: quoted multi-line notes with
doubled quotes, a row with a comma outside quotes, a short row, blank lines, a person repeated,
values of the wrong JSON type, several emails with a preferred one. The truth is written from
what the generator put in each file (the line a record starts on is counted as it is written):
the accepted count, each rejected line with its column and a word of its reason, and values
that must be stored.

    uv run python -m tests.hygiene.realdata.make_import_files
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapport.core import csv_cells

HERE = Path(__file__).parent / "import"
SEED = 2026

FIRST = ["Renée", "Zoë", "François", "Jürgen", "Ingrid", "Mateo", "Aiyana", "Søren", "Niamh"]
LAST = ["Müller", "García", "Okafor", "Nakamura", "Lindqvist", "Dubois", "Kowalski", "Brennan"]
COMPANIES = ["Initech", "Globex GmbH", "Umbrella Ltd", "Société Générale", "Nordwind AB"]
CITIES = [("Berlin", "10115"), ("Dresden", "01067"), ("Paris", "75001"), ("Malmö", "21119")]
NOTES = [
    'Met at the fair; said ""call me in May"", then left',
    "Line one\nline two, with a comma\n\nline four after a blank line",
    'Prefers email, not phone. Quote: ""a, b; c""',
    "Short note",
    "",
]


@dataclass
class Truth:
    """What a test must find after importing one file."""

    format: str
    accepted: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    stored: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, column: str, word: str) -> None:
        self.rejects.append({"line": line, "column": column, "reason": word})

    def store(self, email: str, field_name: str, value: Any) -> None:
        self.stored.append({"email": email, "field": field_name, "value": value})


class Lines:
    """Text of a file built record by record, knowing the line each record starts on."""

    def __init__(self, delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(
            self.buffer, delimiter=delimiter, quoting=quoting, lineterminator="\r\n"
        )
        self.line = 1

    def row(self, cells: list[str]) -> int:
        """Write a record; the line it starts on."""
        start = self.line
        before = self.buffer.tell()
        self.writer.writerow(cells)
        self.line += self.buffer.getvalue()[before:].count("\n")
        return start

    def raw(self, text: str) -> int:
        """Write text as it is (a malformed record, a blank line); the line it starts on."""
        start = self.line
        self.buffer.write(text)
        self.line += text.count("\n")
        return start

    def text(self) -> str:
        return self.buffer.getvalue()


class People:
    """Distinct made-up people from a seeded generator."""

    def __init__(self, rng: random.Random, domain: str) -> None:
        self.rng, self.domain, self.count = rng, domain, 0

    def next(self) -> dict[str, str]:
        self.count += 1
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        city, postcode = self.rng.choice(CITIES)
        return {
            "first": first,
            "last": last,
            "email": f"p{self.count}.{self.rng.randrange(1000)}@{self.domain}",
            "phone": f"+49 151 {self.rng.randrange(10_000_000, 99_999_999)}",
            "company": self.rng.choice(COMPANIES),
            "city": city,
            "postcode": postcode,
            "note": self.rng.choice(NOTES),
        }


def quoted_notes(rng: random.Random) -> tuple[bytes, Truth]:
    """UTF-8, commas: multi-line notes with doubled quotes between columns that must not
    shift, a row with one comma too many, a short row and blank lines."""
    truth, out, people = Truth("csv"), Lines(), People(rng, "notes.example")
    header = ["First Name", "Last Name", "Email", "Notes", "Phone", "City", "Postal Code"]
    out.row(header)
    for number in range(10):
        p = people.next()
        note = NOTES[number % 2]  # the multi-line note and the doubled quotes, in turn
        out.row([p["first"], p["last"], p["email"], note.replace('""', '"'), p["phone"],
                 p["city"], p["postcode"]])  # fmt: skip
        truth.accepted += 1
        truth.store(p["email"], "city", p["city"])
        truth.store(p["email"], "postal_code", p["postcode"])
        truth.store(p["email"], "phone", p["phone"].replace(" ", ""))
        if number == 3:
            out.raw("\r\n")  # a blank line: ignored
        if number == 5:  # right after a three-line record: the line count must hold
            p = people.next()
            line = out.raw(
                f"{p['first']},{p['last']},{p['email']},Notes, with a comma,"
                f"{p['phone']},{p['city']},{p['postcode']}\r\n"
            )
            truth.reject(line, "(record)", "cells")
        if number == 7:
            p = people.next()
            line = out.raw(f"{p['first']},{p['last']},{p['email']},{p['phone']}\r\n")
            truth.reject(line, "(record)", "cells")
    return out.text().encode("utf-8"), truth


def outlook(rng: random.Random) -> tuple[bytes, Truth]:
    """Outlook's "Comma Separated Values" export: every cell quoted, cp1252, CRLF, notes
    with curly quotes and line breaks."""
    truth, people = Truth("csv"), People(rng, "outlook.example")
    out = Lines(quoting=csv.QUOTE_ALL)
    out.row(["Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company",
             "Department", "Business Street", "Business City", "Business Postal Code",
             "Mobile Phone", "E-mail Address", "E-mail Display Name", "Notes"])  # fmt: skip
    for number in range(8):
        p = people.next()
        note = "Rückruf erbeten \u2013 “dringend”\r\nBudget: 5 000 €" if number % 3 == 0 else ""
        out.row(["", p["first"], "", p["last"], "", p["company"], "Sales", "Hauptstraße 1",
                 p["city"], p["postcode"], p["phone"], p["email"],
                 f"{p['first']} {p['last']} ({p['email']})", note])  # fmt: skip
        truth.accepted += 1
        truth.store(p["email"], "first_name", p["first"])
        truth.store(p["email"], "last_name", p["last"])
        truth.store(p["email"], "company", p["company"])
        truth.store(p["email"], "phone", p["phone"].replace(" ", ""))
    return out.text().encode("cp1252"), truth


def excel_semicolon(rng: random.Random) -> tuple[bytes, Truth]:
    """Excel's "CSV UTF-8" where the list separator is ``;``: a BOM, cells quoted only when
    they hold ``;``, a quote or a line break; postcodes with a leading zero."""
    truth, people, out = Truth("csv"), People(rng, "excel.example"), Lines(";")
    out.row(["First name", "Last name", "E-mail", "Phone", "Company", "Zip", "City", "Notes"])
    for number in range(8):
        p = people.next()
        note = NOTES[number % 3].replace('""', '"')
        out.row([p["first"], p["last"], p["email"], p["phone"], p["company"], p["postcode"],
                 p["city"], note])  # fmt: skip
        truth.accepted += 1
        truth.store(p["email"], "postal_code", p["postcode"])
        truth.store(p["email"], "company", p["company"])
        truth.store(p["email"], "city", p["city"])
    p = people.next()
    line = out.raw(f"{p['first']};{p['last']};{p['email']};{p['phone']};{p['company']};"
                   f"{p['postcode']};{p['city']};a; b\r\n")  # fmt: skip
    truth.reject(line, "(record)", "semicolon")
    return b"\xef\xbb\xbf" + out.text().encode("utf-8"), truth


def unicode_text(rng: random.Random) -> tuple[bytes, Truth]:
    """Excel's "Unicode text": UTF-16 with a BOM, tab-separated, names in many scripts."""
    truth, out = Truth("csv"), Lines("\t")
    out.row(["Name", "Email", "Company", "Notes", "City"])
    rows = [
        ("山田 太郎", "taro@unicode.example", "株式会社テスト", "会議\t午後", "東京"),
        ("Ολγα Παππά", "olga@unicode.example", "Ελληνική ΑΕ", "σημείωση", "Αθήνα"),  # noqa: RUF001
        ("سارة أحمد", "sara@unicode.example", "شركة", "ملاحظة، مهمة", "القاهرة"),
        ("अमित शर्मा", "amit@unicode.example", "टाटा", "नोट\nदूसरी पंक्ति", "मुंबई"),
        ("Zoë 🚀 Smith", "zoe@unicode.example", "Rocket 🚀 Inc", 'Said "hi"', "Zürich"),
    ]
    for name, email, company, note, city in rows:
        out.row([name, email, company, note, city])
        truth.accepted += 1
        truth.store(email, "company", company)
        truth.store(email, "city", city)
    return out.text().encode("utf-16"), truth


def latin1(rng: random.Random) -> tuple[bytes, Truth]:
    """An old system's export in ISO 8859-1."""
    truth, people, out = Truth("csv"), People(rng, "latin.example"), Lines()
    out.row(["first_name", "last_name", "email", "company", "city"])
    for _ in range(6):
        p = people.next()
        out.row([p["first"], p["last"], p["email"], p["company"], "Ærøskøbing"])
        truth.accepted += 1
        truth.store(p["email"], "last_name", p["last"])
        truth.store(p["email"], "first_name", p["first"])
        truth.store(p["email"], "city", "Ærøskøbing")
    return out.text().encode("latin-1"), truth


def repeated(rng: random.Random) -> tuple[bytes, Truth]:
    """The same person twice in one file (by email, and by external id): the later row is
    the newer data and wins; the earlier one is reported as replaced."""
    truth, people, out = Truth("csv"), People(rng, "repeat.example"), Lines()
    out.row(["external_id", "first_name", "last_name", "email", "job_title"])
    a, b, c = people.next(), people.next(), people.next()
    moved = people.next()["email"]  # b's new address, in the later row
    first = out.row(["", a["first"], a["last"], a["email"], "Intern"])
    external = out.row(["EXT-1", b["first"], b["last"], b["email"], "Engineer"])
    out.row(["", c["first"], c["last"], c["email"], "Buyer"])
    out.row(["", a["first"], a["last"], a["email"], "Director"])
    out.row(["EXT-1", b["first"], b["last"], moved, "Head of Engineering"])
    truth.accepted = 3
    truth.reject(first, "(record)", "replaced")
    truth.reject(external, "(record)", "replaced")
    truth.store(a["email"], "job_title", "Director")
    truth.store(moved, "job_title", "Head of Engineering")
    truth.store(moved, "external_id", "EXT-1")
    truth.store(c["email"], "job_title", "Buyer")
    return out.text().encode("utf-8"), truth


def rapport_export(rng: random.Random) -> tuple[bytes, Truth]:
    """Rapport's own CSV export (every cell quoted, formulas neutralised) of values holding
    quotes, separators, tabs and line breaks."""
    truth, people = Truth("csv"), People(rng, "export.example")
    buffer = io.StringIO()
    writer = csv_cells.writer(buffer)
    columns = ["id", "external_id", "first_name", "last_name", "email", "phone", "job_title",
               "company", "source", "lifecycle_stage", "street", "city", "region",
               "postal_code", "country", "tags"]  # fmt: skip
    writer.writerow(columns)
    tricky = [
        ('Head of "R&D"', 'Smith, Jones & "Partners"', "Hauptstraße 1\nHinterhaus"),
        ("=SUM(A1:A9)", "Semi;colon AG", "Tab\tStreet 2"),
        ("+1 idea guy", "@handle Ltd", '"Quoted" Lane'),
        ("-minus", "Plain Inc", "Rue de l'Église 3"),
    ]
    for number in range(8):
        p = people.next()
        title, company, street = tricky[number % len(tricky)]
        phone = p["phone"].replace(" ", "")
        writer.writerow(["", f"X-{number}", p["first"], p["last"], p["email"], phone, title,
                         company, "export", "lead", street, p["city"], "", p["postcode"],
                         "", "vip; key\\; account"])  # fmt: skip
        truth.accepted += 1
        truth.store(p["email"], "job_title", title)
        truth.store(p["email"], "company", company)
        truth.store(p["email"], "street", street)
        truth.store(p["email"], "phone", phone)
        truth.store(p["email"], "tags", ["key; account", "vip"])
    return buffer.getvalue().encode("utf-8"), truth


def wrong_types(rng: random.Random) -> tuple[bytes, Truth]:
    """JSON lines with values of the wrong type: an object as a name, an integer phone (its
    leading + or 0 is lost), a number as a postcode (fine: its decimal text)."""
    truth, people, lines = Truth("jsonl"), People(rng, "json.example"), list[str]()
    for number in range(6):
        p = people.next()
        record: dict[str, Any] = {"first_name": p["first"], "last_name": p["last"],
                                  "email": p["email"], "phone": p["phone"]}  # fmt: skip
        line = number + 1
        if number == 1:
            record["first_name"] = {"given": p["first"]}
            truth.reject(line, "first_name", "text")
        elif number == 2:
            record["phone"] = int(p["phone"].replace(" ", "").lstrip("+"))
            truth.reject(line, "phone", "string")
        elif number == 3:
            record["postal_code"] = 10115
            truth.accepted += 1
            truth.store(p["email"], "postal_code", "10115")
        elif number == 4:
            record["last_name"] = ["a", "list"]
            truth.reject(line, "last_name", "text")
        else:
            truth.accepted += 1
            truth.store(p["email"], "phone", p["phone"].replace(" ", ""))
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8"), truth


def vcards(version: str) -> tuple[bytes, Truth]:
    """Cards with several emails and phones, the preferred email not listed first."""
    truth = Truth("vcf")
    pref = "TYPE=INTERNET,PREF" if version == "3.0" else "PREF=1"
    work = "TYPE=INTERNET,WORK" if version == "3.0" else "TYPE=work"
    cards = []
    for number in range(3):
        other, best = f"old{number}@v{version[0]}.example", f"best{number}@v{version[0]}.example"
        cards.append(
            "BEGIN:VCARD\r\n"
            f"VERSION:{version}\r\n"
            f"N:Card{number};Vera;;;\r\n"
            f"FN:Vera Card{number}\r\n"
            f"EMAIL;{work}:{other}\r\n"
            f"EMAIL;{pref}:{best}\r\n"
            f"TEL;TYPE=CELL:+49 151 2000000{number}\r\n"
            f"TEL;TYPE=WORK:+49 30 9000000{number}\r\n"
            f"ORG:Cardhouse {number}\r\n"
            + (f"NOTE:{_folded(note)}\r\n" if (note := _card_note(number)) else "")
            + "END:VCARD\r\n"
        )
        if note:
            truth.store(best, "notes", [note])
        truth.accepted += 1
        truth.store(best, "email", best)
        truth.store(best, "company", f"Cardhouse {number}")
    return "".join(cards).encode("utf-8"), truth


def _card_note(number: int) -> str:
    """A card's note: none, a short one with a comma and a line break, or one of 12,000
    characters (past the 10,000 a custom text field holds: it must not cost the card)."""
    if number == 0:
        return ""
    if number == 1:
        return "Met at the fair, liked the demo\nCall back in May"
    return ("Long history of this account. " * 400).strip()


def _folded(text: str) -> str:
    """A vCard value escaped (``\\n``, ``\\,``) and folded at 70 characters."""
    escaped = text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    escaped = escaped.replace("\n", "\\n")
    return "\r\n ".join(escaped[i : i + 70] for i in range(0, len(escaped), 70))


def build() -> dict[str, tuple[bytes, Truth]]:
    """Every file's bytes and truth, from one seeded generator."""
    rng = random.Random(SEED)
    return {
        "quoted_notes.csv": quoted_notes(rng),
        "outlook.csv": outlook(rng),
        "excel_semicolon_bom.csv": excel_semicolon(rng),
        "unicode_text.txt": unicode_text(rng),
        "latin1.csv": latin1(rng),
        "repeated_keys.csv": repeated(rng),
        "rapport_export.csv": rapport_export(rng),
        "wrong_types.jsonl": wrong_types(rng),
        "cards_v3.vcf": vcards("3.0"),
        "cards_v4.vcf": vcards("4.0"),
    }


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    truth: dict[str, Any] = {}
    for name, (data, found) in build().items():
        (HERE / name).write_bytes(data)
        truth[name] = found.__dict__
    text = json.dumps(truth, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    (HERE / "truth.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
