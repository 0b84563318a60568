"""``rapport leads import`` and ``rapport scoring train``: lead capture and predictive
scoring from a shell, through the same services as the API."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress
from rich.table import Table

from rapport.core.context import system_context
from rapport.core.db import transaction
from rapport.core.errors import RapportError
from rapport.hygiene.cli import workspace_id

console = Console(stderr=True)
leads_app = typer.Typer(help="Lead capture.", no_args_is_help=True)
scoring_app = typer.Typer(help="Lead scoring.", no_args_is_help=True)


def _fail(error: RapportError) -> None:
    details = "".join(f"\n  {e.as_dict()['field']}: {e.message}" for e in error.errors)
    console.print(f"[red]error:[/red] {error.detail}{details}")
    raise typer.Exit(1)


@leads_app.command("import")
def import_leads(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with a header"),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
) -> None:
    """Capture each row of a CSV file as a lead; rerunning the same file changes nothing."""
    from rapport.sales.service import leads

    try:
        ws = workspace_id(workspace)
        with transaction(ws) as session:
            report = leads.import_csv(system_context(session, ws), file.read_bytes())
    except RapportError as exc:
        _fail(exc)
        return
    console.print(
        f"[green]✓[/green] {report.rows} rows: {report.created} created, {report.updated} "
        f"updated, {report.unchanged} unchanged, {report.rejected} rejected"
    )
    if report.errors:
        table = Table(title="Rejected rows")
        for name in ("line", "column", "reason"):
            table.add_column(name)
        for error in report.errors:
            table.add_row(str(error["line"]), error["column"] or "", error["reason"])
        console.print(table)
    if report.rejected:
        raise typer.Exit(2)


@scoring_app.command("train")
def train(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
) -> None:
    """Train the predictive model on the won/lost history, then rescore every lead."""
    from rapport.sales.service import scoring_live

    try:
        ws = workspace_id(workspace)
        with (
            transaction(ws) as session,
            Progress("rescoring", BarColumn(), MofNCompleteColumn(), console=console) as bar,
        ):
            task = bar.add_task("rescore", total=None)
            model = scoring_live.train(
                system_context(session, ws),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
            status, reason, auc, rules_auc = model.status, model.reason, model.auc, model.rules_auc
            sizes = (model.closed_deals, model.won, model.lost, model.train_size, model.test_size)
    except RapportError as exc:
        _fail(exc)
        return
    closed, won, lost, n_train, n_test = sizes
    console.print(f"history: {closed} closed deals, {won} people won, {lost} lost")
    if status != "trained":
        console.print(f"[yellow]fallback to rules:[/yellow] {reason}")
        return
    console.print(
        f"[green]✓[/green] trained on {n_train}, held out {n_test}: "
        f"AUC {auc:.3f} (rules {rules_auc:.3f} on the same people)"
    )
