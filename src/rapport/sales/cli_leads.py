"""``rapport leads import`` and ``rapport scoring train``: lead capture and predictive
scoring from a shell, through the same services as the API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn

from rapport.accounts.service import workspace_id
from rapport.core.cli_output import (
    JSON_OPTION,
    REJECTS_OPTION,
    Reject,
    emit_json,
    end_with_rejects,
    note,
    out,
    progress,
)
from rapport.core.context import system_context
from rapport.core.db import transaction
from rapport.sales.service import leads, predictive, scoring_live

leads_app = typer.Typer(help="Lead capture.", no_args_is_help=True)
scoring_app = typer.Typer(help="Lead scoring.", no_args_is_help=True)


@leads_app.command("import")
def import_leads(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with a header"),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    rejects: Path | None = REJECTS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Capture each row of a CSV file as a lead; rerunning the same file changes nothing.
    Exits 3 when some rows were rejected (shown on stderr; --rejects FILE writes them all)."""
    ws = workspace_id(workspace)
    with transaction(ws) as session:
        report = leads.import_csv(system_context(session, ws), file.read_bytes())
    if as_json:
        emit_json(asdict(report))
    else:
        out.print(
            f"[green]✓[/green] {report.rows} rows: {report.created} created, {report.updated} "
            f"updated, {report.unchanged} unchanged, {report.rejected} rejected"
        )
    end_with_rejects(
        (Reject(e["line"], e["column"], e.get("value"), e["reason"]) for e in report.errors),
        rejected_rows=report.rejected,
        path=rejects,
    )


@scoring_app.command("train")
def train(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    as_of: datetime | None = typer.Option(
        None,
        "--as-of",
        help="Use only what was known by this date (UTC), e.g. 2026-03-31; default now",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"],
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train the predictive model time-correctly on the leads and their outcomes known by
    ``--as-of``, then rescore every lead; the leakage guard's warnings are printed."""
    ws = workspace_id(workspace)
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    with (
        transaction(ws) as session,
        progress("rescoring", BarColumn(), MofNCompleteColumn()) as bar,
    ):
        task = bar.add_task("rescore", total=None)
        model = scoring_live.train(
            system_context(session, ws),
            as_of=as_of,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        status, reason, auc, rules_auc = model.status, model.reason, model.auc, model.rules_auc
        warnings = predictive.warnings(model)
        sizes = (model.closed_deals, model.won, model.lost, model.train_size, model.test_size)
    closed, won, lost, n_train, n_test = sizes
    if as_json:
        emit_json({"status": status, "reason": reason, "auc": auc, "rules_auc": rules_auc,
                   "closed_deals": closed, "won": won, "lost": lost, "train_size": n_train,
                   "test_size": n_test, "warnings": warnings})  # fmt: skip
        return
    out.print(f"history: {closed} closed deals; leads {won} converted, {lost} did not")
    if status != "trained":
        note(f"[yellow]fallback to rules:[/yellow] {reason}")
        return
    out.print(
        f"[green]✓[/green] trained on {n_train}, held out {n_test}: "
        f"AUC {auc:.3f} on the later period (rules {rules_auc:.3f} on the same leads)"
    )
    for warning in warnings:
        note(f"[red]warning:[/red] {warning}")
