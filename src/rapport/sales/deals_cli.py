"""``rapport deals reindex``: write every deal's search document again."""

from __future__ import annotations

import typer

from rapport.core.cli_output import JSON_OPTION, emit_json, out
from rapport.sales import jobs

deals_app = typer.Typer(help="Deals.", no_args_is_help=True)


@deals_app.command("reindex")
def reindex(as_json: bool = JSON_OPTION) -> None:
    """Index every deal for search again (title, stage, amount, company and contact)."""
    written = jobs.reindex_deals()
    if as_json:
        emit_json({"deals": written})
        return
    out.print(f"[green]✓[/green] {written} deal(s) indexed for search")
