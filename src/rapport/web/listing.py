"""The state of a list page (search, filters, sort, columns) kept in its URL.

Everything a list shows is in the query string, so a list can be bookmarked, shared and
reloaded, the back button works, and HTMX only has to push the URL it fetched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from rapport.core.errors import Invalid


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sort: str | None = None  # the list service's sort name, when the column is sortable


@dataclass
class ListState:
    """One list request: ``q``, filters, ``sort`` and the chosen columns."""

    path: str
    columns: Sequence[Column]
    default_columns: Sequence[str]
    default_sort: str
    q: str = ""
    sort: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    cols: list[str] = field(default_factory=list)

    @property
    def shown(self) -> list[Column]:
        """The columns to show, in the list's own order."""
        chosen = set(self.cols or self.default_columns)
        return [c for c in self.columns if c.key in chosen]

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or any(self.filters.values()))

    def _pairs(self, **changes: str | list[str] | None) -> list[tuple[str, str]]:
        values: dict[str, str | list[str] | None] = {
            "q": self.q, "sort": self.sort, **self.filters, "cols": self.cols,
        }  # fmt: skip
        values.update(changes)
        pairs: list[tuple[str, str]] = []
        for key, value in values.items():
            if isinstance(value, list):
                pairs.extend((key, v) for v in value)
            elif value:
                pairs.append((key, value))
        return pairs

    def query(self, **changes: str | list[str] | None) -> str:
        """This list's query string, with some parameters changed (None or "" drops one)."""
        return urlencode(self._pairs(**changes))

    def url(self, **changes: str | list[str] | None) -> str:
        """This list's URL with some parameters changed (None or "" drops one)."""
        query = self.query(**changes)
        return self.path + ("?" + query if query else "")

    def sort_state(self, column: Column) -> str | None:
        """``"ascending"``/``"descending"`` for the column the list is sorted by, else None."""
        current = self.sort or self.default_sort
        if column.sort is None or current.lstrip("-") != column.sort:
            return None
        return "descending" if current.startswith("-") else "ascending"

    def sort_url(self, column: Column) -> str:
        """The URL that sorts by ``column``, flipping the direction if it is sorted already."""
        flip = self.sort_state(column) == "ascending"
        return self.url(sort=("-" if flip else "") + (column.sort or ""), cursor=None)

    def service_filters(self, names: Mapping[str, str]) -> dict[str, str]:
        """The filters given, renamed to the list service's field names."""
        return {names[k]: v for k, v in self.filters.items() if v and k in names}


def parse_ids(raw: Sequence[str]) -> list[uuid.UUID] | None:
    """A bulk form's ticked row ids; None when one is not an id (a tampered form)."""
    try:
        return [uuid.UUID(value) for value in raw]
    except ValueError:
        return None


def back_to(home: str, next_url: str) -> str:
    """Back to the list a form came from (its filters kept); never to another page or site."""
    if next_url == home or next_url.startswith(home + "?"):
        return next_url
    return home


def bulk_selection(
    ids: Sequence[str],
    scope: str,
    scope_query: str,
    all_matching: Callable[[dict[str, str]], list[uuid.UUID]],
) -> list[uuid.UUID]:
    """The records a list's bulk form acts on: the ticked rows, or with ``scope=all`` every
    record the list's query string keeps, re-run by ``all_matching`` (which refuses past the
    cap). Invalid with the message to show when there is nothing to act on."""
    if scope == "all":
        return all_matching(dict(parse_qsl(scope_query)))
    chosen = parse_ids(ids)
    if not chosen:
        raise Invalid("Select at least one row first")
    return chosen


def export_query(filters: Mapping[str, str], q: str, sort: str) -> str:
    """The export link's query string for a list as shown: its filters (in the export's
    field names), its search text and its sort, so the file holds the rows the list shows,
    in its order."""
    return urlencode({**filters, **{k: v for k, v in (("q", q), ("sort", sort)) if v}})
