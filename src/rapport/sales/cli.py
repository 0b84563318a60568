"""The sales commands: leads and scoring, follow-up reminders."""

from __future__ import annotations

import typer

from rapport.sales.cli_leads import leads_app, scoring_app
from rapport.sales.deals_cli import deals_app
from rapport.sales.reminders_cli import reminders_app


def register(app: typer.Typer) -> None:
    """Add the sales commands to the root ``rapport`` app (``Domain.cli``)."""
    app.add_typer(leads_app, name="leads")
    app.add_typer(scoring_app, name="scoring")
    app.add_typer(reminders_app, name="reminders")
    app.add_typer(deals_app, name="deals")
