"""Reading import files: CSV (any delimiter, any encoding), vCard and JSON lines.

Each reader yields ``(line, {column: text})`` where ``line`` is the 1-based line of the file
on which the record starts, so a reject can point at it exactly. Column names are mapped to
Rapport's import fields automatically by name and synonyms, with manual overrides. A CSV cell
that our export neutralised against spreadsheet formulas (``'=1+1``) reads back as the value
it stands for (``=1+1``): see :mod:`csv_cells`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import vobject
from charset_normalizer import from_bytes

from rapport.core import csv_cells
from rapport.core.errors import BadRequest, invalid
from rapport.hygiene.service import columns

FORMATS = ("csv", "vcf", "jsonl")
FIELDS = (
    "id",
    "external_id",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "job_title",
    "company",
    "source",
    "lifecycle_stage",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "tags",
    "note",  # a note on the person's timeline (vCard NOTE, a JSON "note", a mapped column)
)
_SYNONYMS = {
    "external_id": ("externalid", "extid", "crmid", "customerid", "contactid", "uid"),
    "first_name": ("firstname", "first", "givenname", "forename", "prenom", "vorname"),
    "last_name": ("lastname", "last", "surname", "familyname", "nom", "nachname"),
    "full_name": ("fullname", "name", "contactname", "displayname"),
    "email": ("email", "emailaddress", "mail", "e-mail", "primaryemail", "workemail"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cell"),
    "job_title": ("jobtitle", "title", "position", "role"),
    "company": ("company", "companyname", "organization", "organisation", "org", "employer"),
    "source": ("source", "leadsource", "origin"),
    "lifecycle_stage": ("lifecyclestage", "stage", "lifecycle", "status"),
    "street": ("street", "address", "streetaddress", "address1", "addressline1"),
    "city": ("city", "town", "locality", "suburb"),
    "region": ("region", "state", "province", "county"),
    "postal_code": ("postalcode", "postcode", "zip", "zipcode"),
    "country": ("country", "countrycode", "nation"),
    "tags": ("tags", "tag", "labels", "categories"),
}
_BY_KEY = {key: name for name, keys in _SYNONYMS.items() for key in keys} | {"id": "id"}
_BY_KEY |= columns.PERSON_EXPORT_HEADERS
SNIFF_BYTES = 256 * 1024
# Python's csv refuses a cell over 128 KiB and the whole file with it; a note holding an
# account's history can be longer. Cells up to 16 MiB are read (the limit is process-wide).
CELL_BYTES = 16 << 20
csv.field_size_limit(max(csv.field_size_limit(), CELL_BYTES))
# A custom field on a vCard: ``X-RAPPORT-FIELD;X-KEY=<key>:<value as text>``.
CUSTOM_PROPERTY, CUSTOM_KEY = "x-rapport-field", "X-KEY"


def auto_mapping(
    headers: Iterable[str],
    overrides: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
) -> dict[str, str]:
    """``{column: field}`` for the columns Rapport recognises (``custom`` is ``{key: label}``
    of the workspace's person fields: a column maps to ``custom.<key>`` by that header, the
    key or the label); overrides win (field ``""`` or ``ignore`` drops a column). Raises
    Invalid for an unknown field or an unknown column."""
    return columns.auto_mapping(headers, overrides, known=FIELDS, by_key=_BY_KEY, custom=custom)


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """``["E-Mail Adresse=email", "Notes=ignore"]`` → ``{"E-Mail Adresse": "email", ...}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column:
            raise invalid(("map",), f"{pair!r} is not column=field")
        out[column] = field.strip()
    return out


def upload_format(fmt: str | None, filename: str, allowed: tuple[str, ...] = FORMATS) -> str:
    """The format of an upload (given, or guessed from its name), checked against ``allowed``
    before it becomes part of the staged file's name: a free-form value there could name any
    path (or one too long to create)."""
    fmt = fmt or guess_format(filename)
    if fmt not in allowed:
        raise BadRequest(f"unknown format {fmt[:40]!r}; one of {', '.join(allowed)}")
    return fmt


def guess_format(filename: str) -> str:
    """The format from a file name's extension."""
    suffix = Path(filename).suffix.lower().lstrip(".")
    fmt = {"csv": "csv", "tsv": "csv", "txt": "csv", "vcf": "vcf", "vcard": "vcf"}.get(suffix)
    fmt = fmt or {"jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl"}.get(suffix)
    if fmt is None:
        raise BadRequest(f"cannot tell the format of {filename!r}; use .csv, .vcf or .jsonl")
    return fmt


def detect_encoding(sample: bytes) -> str:
    """The text encoding of a file from its first bytes (charset-normalizer)."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if not sample:
        return "utf-8"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4:
            return "utf-8"  # the sample cut a multi-byte character in half
    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        raise BadRequest("cannot tell the text encoding of this file")
    # Short samples fit several single-byte code pages equally well; among the plausible
    # ones, prefer the Western defaults that spreadsheet exports actually use.
    plausible = {m.encoding for m in matches}
    return next((e for e in ("cp1252", "latin_1") if e in plausible), best.encoding)


class JsonRecord(dict[str, Any]):
    """A JSON lines record whose values are as the file had them (numbers, objects, …): its
    type tells the cleaning to check them, without looking at every cell of a CSV row."""


@dataclass
class Source:
    """An opened import file: its format, columns and a record iterator."""

    format: str
    columns: list[str]
    records: Iterator[tuple[int, dict[str, str]]]


def open_source(stream: IO[bytes], fmt: str, *, typed: bool = False) -> Source:
    """Open a binary stream for reading as ``fmt`` (csv, vcf or jsonl). JSON lines values
    come as text, or as they are with ``typed`` (for a reader that checks their types:
    an integer phone has lost its leading + or 0, an object is no name)."""
    if fmt not in FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES] if hasattr(stream, "peek") else b""
    if not head:
        head = stream.read(SNIFF_BYTES)
        stream.seek(0)
    encoding = detect_encoding(head)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    if fmt == "csv":
        return _csv(text, head.decode(encoding, errors="ignore"))
    if fmt == "jsonl":
        if not typed:
            return Source("jsonl", list(FIELDS), json_lines(text, columns.as_text))
        typed_records = ((n, JsonRecord(r)) for n, r in json_lines(text, lambda value: value))
        return Source("jsonl", list(FIELDS), typed_records)
    return Source("vcf", list(FIELDS), _vcards(text))


# A header of quoted names between one delimiter ("id","email",…): a file written with every
# cell quoted, as our export is. Its delimiter is certain, whatever the cells below hold.
_QUOTED_HEADER = re.compile(r'"[^"\r\n]*"(?:([,;\t|])"[^"\r\n]*"(?:\1"[^"\r\n]*")*)?')
DELIMITERS = ",;\t|"


def csv_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """The dialect of a CSV file from its first bytes: Excel's (``"`` quotes, doubled inside
    a cell) with the delimiter that reads the sample as a table — every record with as many
    cells as the header. A fully quoted header (our export) names it for certain. The
    sniffer's guess alone misreads quoted multi-line cells and doubled quotes, which shifts
    cells into the wrong fields: its delimiter is only tried first, and its own quoting
    (``'``) kept only when it reads the table strictly better than Excel's."""
    header = _QUOTED_HEADER.fullmatch(sample.split("\n", 1)[0].removesuffix("\r"))
    if header is not None:
        return _Delimited(header.group(1) or ",")
    try:
        sniffed: type[csv.Dialect] | None = csv.Sniffer().sniff(
            "\n".join(sample.splitlines()[:20]), delimiters=DELIMITERS
        )
    except csv.Error:
        sniffed = None
    guesses = [sniffed.delimiter] if sniffed is not None else []
    best: csv.Dialect = _Delimited(",")
    best_score = -1.0
    for delimiter in dict.fromkeys([*guesses, *DELIMITERS]):
        dialect = _Delimited(delimiter)
        score = _table_score(sample, dialect)
        if score > best_score:
            best, best_score = dialect, score
    if sniffed is not None and sniffed.quotechar != '"':
        sniffed.doublequote = True
        if _table_score(sample, sniffed) > best_score:
            return sniffed
    return csv.excel if best.delimiter == "," else best


def _table_score(sample: str, dialect: csv.Dialect | type[csv.Dialect]) -> float:
    """How well ``dialect`` reads the sample as a table: the share of its complete records
    with the header's cell count; below any such share when the header is a single cell
    (a sample cut short of the file's end leaves its last record out: it may be cut in
    half)."""
    rows = [r for r in csv.reader(io.StringIO(sample), dialect) if r]
    if len(rows) > 2 and not sample.endswith(("\n", "\r")):
        rows = rows[:-1]
    if not rows or len(rows[0]) < 2:
        return -0.5
    width = len(rows[0])
    if len(rows) == 1:
        return 0.5
    return sum(len(r) == width for r in rows[1:]) / (len(rows) - 1)


class _Delimited(csv.excel):
    """Excel's dialect with another delimiter."""

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        super().__init__()


_SEPARATOR_NAMES = {",": "a comma", ";": "a semicolon", "\t": "a tab", "|": "a '|'"}


def width_error(cells: int, header: int, delimiter: str) -> str:
    """Why a CSV record with ``cells`` cells under a header of ``header`` is refused: read as
    it is, every cell after the stray (or missing) separator would land in the wrong field."""
    separator = _SEPARATOR_NAMES.get(delimiter, repr(delimiter))
    if cells > header:
        hint = f"probably {separator} outside quotes"
    else:
        hint = f"a cell is missing ({separator} too few) or a quote was never closed"
    return (
        f"this line has {cells} cells where the header has {header} — {hint}; "
        "nothing of it was imported"
    )


def _csv(text: io.TextIOWrapper, sample: str) -> Source:
    dialect = csv_dialect(sample)
    reader = csv.reader(text, dialect)
    try:
        header = [h.strip() for h in csv_cells.restore_row(next(reader))]
    except StopIteration:
        raise BadRequest("the file is empty") from None
    if not any(header):
        raise BadRequest("the first line must name the columns")
    width, delimiter = len(header), str(dialect.delimiter)

    def records() -> Iterator[tuple[int, dict[str, str]]]:
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) != width:
                    yield line, {"__error__": width_error(len(row), width, delimiter)}
                else:
                    yield line, dict(zip(header, csv_cells.restore_row(row), strict=True))
            line = reader.line_num + 1

    return Source("csv", header, records())


def json_lines(
    text: IO[str], convert: Callable[[Any], Any]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each object of a JSON lines file as ``(line, flattened object)`` (``custom`` becomes
    ``custom.<key>``, each value passed through ``convert``); a line that is not a JSON
    object is a record error. Blank lines are skipped."""
    for line, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, {"__error__": f"not JSON: {exc.msg}"}
            continue
        if not isinstance(obj, dict):
            yield line, {"__error__": "each line must be a JSON object"}
            continue
        yield line, columns.flatten(obj, convert)


def vcards(
    text: IO[str], fields: Callable[[Any], dict[str, str]]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Each card of a vCard file as ``(line it starts on, fields(card))``; a card that cannot
    be parsed is a record error."""
    start, chunk = 0, list[str]()
    for line, raw in enumerate(text, start=1):
        if raw.strip().upper() == "BEGIN:VCARD":
            start, chunk = line, []
        chunk.append(raw)
        if raw.strip().upper() == "END:VCARD" and start:
            try:
                card = vobject.readOne("".join(chunk))
            except Exception as exc:  # vobject raises many unrelated types on malformed input
                yield start, {"__error__": f"not a vCard: {exc}"}
            else:
                yield start, fields(card)
            start = 0


def _vcards(text: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, str]]]:
    return vcards(text, _vcard_fields)


def _vcard_fields(card: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    contents = card.contents
    if "n" in contents:
        name = contents["n"][0].value
        out["first_name"] = " ".join(parts(name.given))
        out["last_name"] = " ".join(parts(name.family))
    if "fn" in contents:
        out["full_name"] = str(contents["fn"][0].value)
    simple = {"email": "email", "tel": "phone", "title": "job_title", "uid": "external_id"}
    for key, field in simple.items():
        if key in contents:
            out[field] = str(preferred(contents[key])[0].value)
    if "org" in contents:
        org = contents["org"][0].value
        out["company"] = str(org[0] if isinstance(org, list) and org else org)
    if "adr" in contents:
        adr = contents["adr"][0].value
        out["street"] = " ".join(parts(adr.street))
        out["city"] = " ".join(parts(adr.city))
        out["region"] = " ".join(parts(adr.region))
        out["postal_code"] = " ".join(parts(adr.code))
        out["country"] = " ".join(parts(adr.country))
    if "categories" in contents:
        out["tags"] = columns.join_list(parts(contents["categories"][0].value))
    if "note" in contents:
        out["note"] = "\n\n".join(str(n.value) for n in contents["note"] if n.value)
    return out | custom_fields(contents)


def preferred(props: list[Any]) -> list[Any]:
    """A card's values of one property, the preferred first (vCard 3 ``TYPE=pref``, vCard 4
    ``PREF=1``, the lowest PREF first), the others in the card's order."""

    def rank(prop: Any) -> int:
        params = prop.params
        if any(t.strip().lower() == "pref" for t in ",".join(params.get("TYPE", [])).split(",")):
            return 0
        pref = (params.get("PREF") or [""])[0]
        return int(pref) if pref.isdigit() else 101

    return sorted(props, key=rank)


def add_custom_fields(card: Any, custom: dict[str, Any], kinds: dict[str, str]) -> None:
    """Write a record's custom fields (``kinds``: key → type, in order) on a vCard, as the
    text a CSV export writes; :func:`custom_fields` reads them back."""
    for key, kind in kinds.items():
        text = columns.cell_text(kind, custom.get(key))
        if text:
            prop = card.add(CUSTOM_PROPERTY)
            prop.value = text
            prop.params[CUSTOM_KEY] = [key]


def custom_fields(contents: dict[str, Any]) -> dict[str, str]:
    """A card's Rapport custom fields (``X-RAPPORT-FIELD;X-KEY=<key>:<text>``) as
    ``{"custom.<key>": text}``, the columns the import maps to custom fields."""
    out: dict[str, str] = {}
    for prop in contents.get(CUSTOM_PROPERTY, []):
        key = (prop.params.get(CUSTOM_KEY) or [""])[0].strip()
        if key:
            out[f"custom.{key}"] = str(prop.value)
    return out


def parts(value: object) -> list[str]:
    """The non-empty parts of a vCard value (a list or a single value) as text."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    return [str(value)] if value else []
