"""CSV cells that no spreadsheet runs as a formula (CWE-1236), read back exactly by the import.

Excel, LibreOffice and Google Sheets run a cell that begins with ``=``, ``+``, ``-`` or ``@``
as a formula (also after leading blanks, and in the full-width forms U+FF1D, U+FF0B, U+FF0D,
U+FF20), and one that begins with TAB, CR, LF or NUL may be turned into one. Following OWASP,
every CSV that Rapport writes goes through :func:`writer`, which quotes every cell and puts a
single quote in front of a dangerous one: ``=HYPERLINK(…)`` is written ``"'=HYPERLINK(…)"``,
an E.164 phone ``+15550100`` is written ``"'+15550100"`` (a spreadsheet then keeps it as text
with its ``+``, instead of a number without it), ``-2`` is written ``"'-2"``. Quoting every
cell also keeps a value such as ``a;=1+1`` whole where a spreadsheet splits on ``;``.

The rule is reversible, so our own import (:func:`restore`, applied to every cell the CSV
reader yields) gives back the original text:

1. export: a value gets one more ``'`` in front when it is dangerous, or when it begins
   with ``'`` followed by something dangerous or by another ``'`` (``'=x`` → ``''=x``,
   ``''a`` → ``'''a``);
2. import: a cell loses its first ``'`` exactly when what follows is dangerous or begins
   with ``'``. Any other cell, such as ``'hello`` or ``rock 'n' roll``, is read as it is.

``defusedcsv`` was not used: it leaves TAB and CR alone, rewrites ``|`` as ``\\|`` in the
cells it changes, and cannot be undone on import.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

QUOTE = "'"
# A formula start: TAB, CR, LF or NUL first; or = + - @ (or their full-width forms) after any
# blanks, control or zero-width characters, which some spreadsheets skip before a formula.
_DANGEROUS = re.compile(
    r"[\t\r\n\x00]|[\s\x00-\x1f\u200b-\u200f\u2060\ufeff]*[=+\-@\uff1d\uff0b\uff0d\uff20]"
)


class _TextSink(Protocol):
    def write(self, text: str, /) -> Any: ...


def is_dangerous(text: str) -> bool:
    """Whether a spreadsheet could take this cell's text for a formula."""
    return _DANGEROUS.match(text) is not None


def _stripped_after_quote(text: str) -> bool:
    """Whether the import strips a ``'`` in front of ``text`` (rule 2)."""
    return text[:1] == QUOTE or is_dangerous(text)


def neutralise(text: str) -> str:
    """The cell for a value: with one more ``'`` in front when a spreadsheet could run it or
    when the import would otherwise strip a ``'`` of its own (rule 1)."""
    if is_dangerous(text) or (text[:1] == QUOTE and _stripped_after_quote(text[1:])):
        return QUOTE + text
    return text


def restore(cell: str) -> str:
    """The value a cell of one of our CSV files stands for: :func:`neutralise` undone."""
    if cell[:1] == QUOTE and _stripped_after_quote(cell[1:]):
        return cell[1:]
    return cell


def restore_row(row: list[str]) -> list[str]:
    """:func:`restore` on each cell of a row. Imports read millions of rows and few hold a
    ``'`` at all: one search of the joined row (in C) lets those go through untouched."""
    if QUOTE not in "".join(row):
        return row
    return [restore(cell) if cell[:1] == QUOTE else cell for cell in row]


class SafeWriter:
    """A ``csv.writer`` (every cell quoted) whose rows are neutralised cell by cell."""

    def __init__(self, out: _TextSink) -> None:
        self._writer = csv.writer(out, quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row; None is an empty cell, anything else is written as its text."""
        self._writer.writerow(["" if cell is None else neutralise(str(cell)) for cell in row])


def writer(out: _TextSink) -> SafeWriter:
    """The one way Rapport writes CSV: a test fails on any other ``csv.writer`` in src."""
    return SafeWriter(out)
