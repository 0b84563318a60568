"""How every ``rapport`` command talks to a shell, kept in one place so that no command can do
it differently (the contract is in the README's "CLI conventions").

- **stdout** carries only the result a script wants: a token, an export, the one JSON document
  of ``--json``, or the human report of what was done;
- **stderr** carries everything else: errors, warnings, progress bars, hints, rejected rows;
- **exit codes**: 0 done; 1 error (a domain error is one line on stderr); 2 usage (Click's own);
  3 finished, but some rows were rejected (``--rejects FILE`` writes them all).

Domain errors need no handling in a command: the root group (:class:`RapportGroup`) turns any
:class:`~rapport.core.errors.RapportError` that escapes a command into that one line and exit 1.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic_core import to_jsonable_python
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn
from typer.core import TyperGroup

from rapport.core import csv_cells
from rapport.core.errors import RapportError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # what Click answers to a bad option or argument
EXIT_PARTIAL = 3  # finished, but some rows were rejected
SHOWN_REJECTS = 20  # rejected lines printed on stderr; --rejects FILE has them all
REJECT_COLUMNS = ("line", "column", "value", "reason")  # as the API's rejects.csv

# soft_wrap everywhere: Rich folds at 80 columns when not on a terminal, and a message cut in
# two is not "one line" for a script that greps it.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JSON_OPTION = typer.Option(False, "--json", help="Print the result as one JSON document on stdout")
REJECTS_OPTION = typer.Option(
    None,
    "--rejects",
    dir_okay=False,
    help="Write every rejected row to this CSV file (line, column, value, reason)",
)


def fail(message: str, *, code: int = EXIT_ERROR) -> NoReturn:
    """One ``error: …`` line on stderr, then exit (1 unless told otherwise)."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def describe(exc: RapportError) -> str:
    """A domain error as one line: its detail, then any field message the detail lacks."""
    extra = [
        f"{e.as_dict()['field']}: {e.message}" for e in exc.errors if e.message not in exc.detail
    ]
    return exc.detail + (f" ({'; '.join(extra)})" if extra else "")


class RapportGroup(TyperGroup):
    """The root ``rapport`` group: a domain error escaping any command becomes one line on
    stderr and exit 1, never a traceback, whichever command raised it."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except RapportError as exc:
            fail(describe(exc))


def note(message: str) -> None:
    """A hint or warning for the person at the terminal (stderr; markup allowed)."""
    err.print(message, highlight=False)


def emit_plain(text: str) -> None:
    """A result a script captures as is (a token): one line on stdout, no markup, no wrapping."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def emit_json(document: Any) -> None:
    """The result as one JSON document on stdout (ids, dates and decimals as strings)."""
    sys.stdout.write(json.dumps(to_jsonable_python(document), indent=2, ensure_ascii=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


def progress(*columns: str | ProgressColumn, disable: bool = False) -> Progress:
    """A progress bar on stderr, so it never mixes with the result."""
    return Progress(*columns, console=err, disable=disable)


@dataclass(frozen=True)
class Reject:
    """One problem with one row of an imported file."""

    line: int
    column: str | None
    value: str | None
    reason: str


def rejects_from_csv(chunks: Iterable[str]) -> Iterator[Reject]:
    """Read the rejects CSV an import service streams (header ``line,column,value,reason``)."""
    rows = csv.reader(chunks)
    next(rows, None)
    for line, column, value, reason in rows:
        yield Reject(int(line), column or None, value or None, reason)


def end_with_rejects(rejects: Iterable[Reject], *, rejected_rows: int, path: Path | None) -> None:
    """Show the first rejected lines and their count on stderr, write them all to ``path``
    (header only when none), and exit 3 when any row was rejected."""
    shown = total = 0
    with _rejects_writer(path) as write:
        for reject in rejects:
            total += 1
            write(reject)
            if shown < SHOWN_REJECTS:
                shown += 1
                where = f"line {reject.line}" + (f", {reject.column}" if reject.column else "")
                err.print(f"  {escape(where)}: {escape(reject.reason)}", highlight=False)
            elif path is None:
                break  # nothing more to show or write: stop reading
    if not rejected_rows:
        return
    rows = f"{rejected_rows} row{'s' if rejected_rows != 1 else ''} rejected"
    if path is not None:
        note(f"{rows}; all {total} problems written to {escape(str(path))}")
    elif total > shown:
        note(f"{rows}; the first {shown} problems are shown above, --rejects FILE writes all")
    else:
        note(f"{rows} (above); --rejects FILE writes them as CSV")
    raise typer.Exit(EXIT_PARTIAL)


@contextmanager
def _rejects_writer(path: Path | None) -> Iterator[Callable[[Reject], None]]:
    """Writes rejects as CSV to ``path``, or nowhere."""
    if path is None:
        yield lambda _reject: None
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv_cells.writer(handle)
        writer.writerow(REJECT_COLUMNS)
        yield lambda r: writer.writerow([r.line, r.column or "", r.value or "", r.reason])
