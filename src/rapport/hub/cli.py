"""``rapport demo``: a realistic seeded workspace."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn

from rapport.core import migrations, warmup
from rapport.core.cli_output import JSON_OPTION, emit_json, out, progress
from rapport.core.db import get_database, transaction
from rapport.hub.demo import create_demo, demo_deals


def demo(
    workspace: str = typer.Option("Demo", "--workspace", "-w", help="Name of the new workspace"),
    people: int = typer.Option(2000, "--people", min=10),
    companies: int = typer.Option(300, "--companies", min=1),
    activities: int = typer.Option(30_000, "--activities", min=0),
    seed: int = typer.Option(42, "--seed"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Seed a realistic demo workspace (people, companies, two years of activities)."""
    # scoring trains a model near the end: its libraries compile meanwhile on the other core
    warmup.compile_in_background(("sklearn", "scipy"))
    migrations.upgrade(get_database().engine)
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with progress(*columns) as bar:
        tasks = {
            "companies": bar.add_task("companies", total=companies),
            "people": bar.add_task("people", total=people),
            "activities": bar.add_task("activities", total=activities),
            "sales": bar.add_task("deals", total=demo_deals(people)),
        }
        with transaction(unscoped=True) as session:
            result = create_demo(
                session,
                name=workspace,
                people=people,
                company_count=companies,
                activities=activities,
                seed=seed,
                progress=lambda stage, n: bar.advance(tasks[stage], n),
            )
    if as_json:
        emit_json(asdict(result))
        return
    out.print(
        f"[green]✓[/green] workspace [bold]{workspace}[/bold] ({result.slug}): "
        f"{result.companies} companies, {result.people} people, {result.activities} activities, "
        f"{result.deals} deals"
    )
    out.print(f"  sign in as [bold]{result.owner_email}[/bold] / [bold]{result.password}[/bold]")


def register(app: typer.Typer) -> None:
    """Add the hub's commands to the root ``rapport`` app (``Domain.cli``)."""
    app.command()(demo)
