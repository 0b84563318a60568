"""What a domain gives the import pipeline to bring its records in from a file: a *target*.

The pipeline itself (hygiene's ``importing`` and ``runner``) reads files — CSV of any
delimiter and encoding, vCard, JSON lines — maps their columns, keeps the job, cuts the file
into committed batches, resumes after a crash, reports progress and saves rejects by line, for
every target alike. A target only says which fields it takes and how one batch of records is
cleaned, matched to existing records and written through its domain's service. Each domain
lists its targets in its ``Domain`` record (``imports=``), so the pipeline finds them in the
registry and never imports a domain's internals; this module is the contract between them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol

from rapport.core import registry
from rapport.core.errors import BadRequest

if TYPE_CHECKING:
    from rapport.core.context import Context

Record = tuple[int, dict[str, Any]]  # the file's line (where the record starts), its cells


@dataclass(slots=True)
class Problem:
    """Why a record (or one of its cells) was refused: a line of the rejects CSV."""

    column: str
    value: str | None
    reason: str


Reject = tuple[int, list[Problem]]  # a line and its problems


@dataclass
class Written:
    """What a target did with one batch: ids it created or changed (announced in the batch's
    ``import.batch`` event), the records left as they were, the refused ones, and the
    problems of records that went in all the same (a lenient import's emptied fields, values
    kept with a doubt)."""

    created: list[Any] = field(default_factory=list)
    updated: list[Any] = field(default_factory=list)
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)


@dataclass
class Opened:
    """A file opened by a target that reads a format its own way (vCards)."""

    columns: list[str]
    records: Iterator[Record]


class Target(Protocol):
    """One kind of record a file can hold (``object`` is the import job's ``object``)."""

    object: str  # "person", "company", "deal", "activity", …
    label: str  # plural, for pages: "People"
    permission: str  # what the importing member also needs, e.g. "deals:write"
    formats: tuple[str, ...]  # of "csv", "jsonl", "vcf"
    batch: int  # records per committed batch when run from the CLI

    def fields(self, ctx: Context) -> list[tuple[str, str]]:
        """The fields a column may map to, with labels (custom fields included)."""
        ...

    def resolve_mapping(
        self,
        ctx: Context,
        columns: list[str],
        fmt: str,
        saved: dict[str, str],
        explicit: dict[str, str],
    ) -> dict[str, str]:
        """``{column: field}``: by header name, then a saved mapping's columns the file has,
        then explicit overrides; BadRequest when nothing identifies a record."""
        ...

    def open(self, stream: IO[bytes], fmt: str) -> Opened | None:
        """The file read this target's own way, or None for the pipeline's reader."""
        ...

    def clean(
        self, records: list[Any], mapping: dict[str, str], region: str, *, lenient: bool = False
    ) -> Any:
        """Pure work on a batch (no database): may run in a worker process while the
        previous batch is written. What it returns is handed to :meth:`write`. ``region``:
        the country national phone numbers are read in when a record has none ("" for none);
        ``lenient``: a value that fails its check is left out with a warning rather than
        refusing its record (for targets that support it)."""
        ...

    def write(self, ctx: Context, mapping: dict[str, str], cleaned: Any) -> Written:
        """Validate against the workspace, match, create or update one batch through the
        domain's service, in the caller's transaction."""
        ...

    def finish(self, ctx: Context, job: Any) -> None:
        """After the last batch (in its own transaction): dedupe queue, rescoring, …"""
        ...


class BaseTarget:
    """Defaults for a target: CSV and JSON lines read by the pipeline, records passed to
    :meth:`write` as they are, nothing to do at the end."""

    formats: tuple[str, ...] = ("csv", "jsonl")
    batch = 1_000

    def open(self, stream: IO[bytes], fmt: str) -> Opened | None:
        return None

    def clean(
        self, records: list[Record], mapping: dict[str, str], region: str, *, lenient: bool = False
    ) -> Any:
        return records

    def finish(self, ctx: Context, job: Any) -> None:
        return None


def targets() -> dict[str, Target]:
    """Every registered target by ``object``, from the domains' records."""
    found: dict[str, Target] = {}
    for domain in registry.domains():
        for target in domain.imports:
            if target.object in found:
                raise ValueError(f"two import targets for {target.object!r}")
            found[target.object] = target
    return found


def target(name: str) -> Target:
    """The target for ``name`` (an ``object`` such as ``deal``, or its plural ``deals``)."""
    known = targets()
    for candidate in (name, name.removesuffix("s"), _SINGULAR.get(name, name)):
        if candidate in known:
            return known[candidate]
    raise BadRequest(f"cannot import {name!r}; one of {', '.join(sorted(known))}")


_SINGULAR = {"people": "person", "companies": "company", "activities": "activity"}


def labelled(fields: Iterable[str]) -> list[tuple[str, str]]:
    """Fields with the labels a page shows for them (``close_date`` → ``close date``)."""
    return [(f, f.replace("_", " ")) for f in fields]


def overrides(
    columns: Sequence[str], saved: dict[str, str], explicit: dict[str, str]
) -> dict[str, str]:
    """The mapping a member chose: a saved mapping's columns that the file has, then explicit
    ``column=field`` pairs."""
    return {c: f for c, f in saved.items() if c in columns} | explicit


def resolve_columns(
    columns: Sequence[str],
    saved: dict[str, str],
    explicit: dict[str, str],
    fields: Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | None = None,
    required: Mapping[str, Collection[str]] | None = None,
) -> dict[str, str]:
    """A file's ``{column: field}`` for a target of fixed ``fields``: by header name and
    ``synonyms`` (:func:`match_columns`), with the member's :func:`overrides` winning.
    ``required`` names what a record cannot do without — ``{"the date": {"occurred_at"}}``:
    some column must map to one of those fields — and refuses the file (BadRequest) when
    nothing does."""
    mapping = match_columns(columns, fields, synonyms, overrides(columns, saved, explicit))
    named = set(mapping.values())
    missing = [what for what, one_of in (required or {}).items() if not named & set(one_of)]
    if missing:
        raise BadRequest(f"no column maps to {' or '.join(missing)}; map one (column=field)")
    return mapping


def header_key(name: str) -> str:
    """A header as compared with field names and synonyms: lower case, letters and digits."""
    return re.sub(r"[^a-z0-9]", "", name.strip().lower())


def match_columns(
    columns: Iterable[str],
    fields: Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | None = None,
    chosen: dict[str, str] | None = None,
) -> dict[str, str]:
    """``{column: field}`` by header name (``Close date`` → ``close_date``) and synonyms, a
    field's own name first, each field taken once; ``chosen`` wins (``ignore`` drops a
    column), and names outside ``fields`` are refused."""
    chosen = chosen or {}
    by_key: dict[str, str] = {}
    for name, keys in (synonyms or {}).items():
        by_key |= {header_key(k): name for k in keys}
    by_key |= {header_key(f): f for f in fields}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column, name in chosen.items():
        if name == "ignore":
            continue
        if name not in fields:
            raise BadRequest(f"unknown field {name!r} for column {column!r}")
        mapping[column] = name
        taken.add(name)
    for column in columns:
        found = None if column in chosen else by_key.get(header_key(column))
        if found is not None and found not in taken:
            mapping[column] = found
            taken.add(found)
    return mapping


def text_cells(raw: dict[str, Any], mapping: dict[str, str]) -> dict[str, str]:
    """A record's mapped cells as stripped text, empty ones left out."""
    out: dict[str, str] = {}
    for column, name in mapping.items():
        value = raw.get(column)
        if value is None:
            continue
        text = (value if isinstance(value, str) else str(value)).strip()
        if text:
            out[name] = text
    return out


Clean = Callable[[list[Record], dict[str, str], str], Any]
