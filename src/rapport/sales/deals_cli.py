"""``rapport deals reindex``: write every deal's search document again; ``rapport deals
close``: win or lose a deal, at a past moment when history is being brought in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import typer

from rapport.accounts.service import workspace_id
from rapport.core.cli_output import JSON_OPTION, emit_json, out
from rapport.core.context import system_context
from rapport.core.db import transaction
from rapport.sales import jobs
from rapport.sales.service import deals

deals_app = typer.Typer(help="Deals.", no_args_is_help=True)


@deals_app.command("reindex")
def reindex(as_json: bool = JSON_OPTION) -> None:
    """Index every deal for search again (title, stage, amount, company and contact)."""
    written = jobs.reindex_deals()
    if as_json:
        emit_json({"deals": written})
        return
    out.print(f"[green]✓[/green] {written} deal(s) indexed for search")


@deals_app.command("close")
def close(
    deal_id: uuid.UUID = typer.Argument(..., help="The deal's id"),
    outcome: str = typer.Option(..., "--outcome", help="won or lost"),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    closed_at: datetime | None = typer.Option(
        None,
        "--closed-at",
        help="When it really closed (UTC without a zone), past only; default now",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"],
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why it was won or lost"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Close an open deal as won or lost (audited as the system, back-dated if asked)."""
    if outcome not in ("won", "lost"):
        raise typer.BadParameter("won or lost", param_hint="--outcome")
    if closed_at is not None and closed_at.tzinfo is None:
        closed_at = closed_at.replace(tzinfo=UTC)
    ws = workspace_id(workspace)
    mark = deals.mark_won if outcome == "won" else deals.mark_lost
    with transaction(ws) as session:
        deal = mark(system_context(session, ws), deal_id, reason=reason, closed_at=closed_at)
        status, when = str(deal.status), deal.closed_at
    if as_json:
        emit_json({"id": str(deal_id), "status": status, "closed_at": when})
        return
    out.print(f"[green]✓[/green] deal {deal_id} {status} at {when}")
