"""``rapport reminders run``: the reminder rules from a shell (cron) until jobs run them."""

from __future__ import annotations

from dataclasses import asdict

import typer

from rapport.core.cli_output import JSON_OPTION, emit_json, out
from rapport.sales import jobs

reminders_app = typer.Typer(help="Follow-up and first-touch SLA reminders.", no_args_is_help=True)


@reminders_app.command("run")
def run(as_json: bool = JSON_OPTION) -> None:
    """Create the reminder tasks that are due now, in every workspace."""
    result = jobs.run_reminders()
    if as_json:
        emit_json(asdict(result))
        return
    out.print(
        f"[green]✓[/green] {result.workspaces} workspace(s): {result.follow_ups} follow-up "
        f"task(s), {result.sla_reminders} first-touch reminder(s)"
    )
