"""The ``rapport`` command: assembles each domain's commands."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from rapport.accounts import service as accounts
from rapport.accounts.cli import fail, token_app, user_app
from rapport.core import migrations
from rapport.core.config import get_settings
from rapport.core.db import display_url, get_database, transaction
from rapport.core.errors import RapportError
from rapport.core.jobs_cli import jobs_app, worker
from rapport.core.logging import configure_logging, log_serving
from rapport.core.permissions import Role
from rapport.hub.cli import demo
from rapport.hygiene import cli as hygiene_cli
from rapport.sales.cli_leads import leads_app, scoring_app
from rapport.sales.reminders_cli import reminders_app

app = typer.Typer(help="Rapport — the open-source CRM.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(leads_app, name="leads")
app.add_typer(scoring_app, name="scoring")
app.add_typer(reminders_app, name="reminders")
app.command()(demo)
app.command("import")(hygiene_cli.import_)
app.command("export")(hygiene_cli.export)
app.command("dedupe")(hygiene_cli.dedupe)
app.add_typer(hygiene_cli.hygiene_app, name="hygiene")
app.command()(worker)
app.add_typer(jobs_app, name="jobs")
console = Console()


@app.command()
def migrate() -> None:
    """Upgrade the database schema to this release (the one upgrade path)."""
    engine = get_database().engine
    before = migrations.current_revision(engine)
    migrations.upgrade(engine)
    after = migrations.current_revision(engine)
    if before == after:
        console.print(f"[green]✓[/green] already at {after}")
    else:
        console.print(f"[green]✓[/green] migrated {before or 'empty database'} → {after}")


@app.command()
def init(
    workspace: str = typer.Option("Acme", "--workspace", "-w", help="Name of the first workspace"),
    email: str | None = typer.Option(None, "--email", help="Create this owner account"),
    password: str | None = typer.Option(None, "--password", envvar="RAPPORT_OWNER_PASSWORD"),
) -> None:
    """Create the schema and a first workspace (and its owner, given --email/--password)."""
    migrations.upgrade(get_database().engine)
    try:
        with transaction(unscoped=True) as session:
            ws = accounts.create_workspace(session, workspace)
            console.print(f"[green]✓[/green] workspace [bold]{ws.name}[/bold] ({ws.slug})")
            if email:
                if not password:
                    fail("give --password (or RAPPORT_OWNER_PASSWORD) with --email")
                accounts.create_user(session, ws, email=email, password=password, role=Role.OWNER)
                console.print(f"[green]✓[/green] owner {email}")
    except RapportError as exc:
        fail(exc.detail)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(1, "--workers"),
    reload: bool = typer.Option(False, "--reload"),
) -> None:
    """Run the API and web app (refuses a database that is not migrated)."""
    import uvicorn

    configure_logging()
    log_serving(f"http://{host}:{port}", display_url(get_settings().database_url))
    try:
        problem = migrations.schema_problem(get_database().engine)
    except OperationalError as exc:
        fail(f"the database does not answer: {exc.orig}")
    if problem:
        fail(problem)
    uvicorn.run(
        "rapport.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        access_log=False,  # the request log middleware writes one line per request
        log_config=None,  # uvicorn's lines go through our one log stream (core.logging)
    )


if __name__ == "__main__":
    app()
