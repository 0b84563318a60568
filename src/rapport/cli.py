"""The ``rapport`` command: assembles each domain's commands."""

from __future__ import annotations

from importlib.metadata import version

import typer

from rapport.accounts import service as accounts
from rapport.accounts.cli import token_app, user_app
from rapport.core import migrations
from rapport.core.cli_output import JSON_OPTION, RapportGroup, emit_json, err, fail, out
from rapport.core.config import get_settings
from rapport.core.db import get_database, transaction
from rapport.core.jobs_cli import jobs_app, worker
from rapport.core.permissions import Role
from rapport.hub.cli import demo
from rapport.hygiene import cli as hygiene_cli
from rapport.sales.cli_leads import leads_app, scoring_app
from rapport.sales.reminders_cli import reminders_app

app = typer.Typer(help="Rapport — the open-source CRM.", no_args_is_help=True, cls=RapportGroup)
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


def _print_version(wanted: bool) -> None:
    if wanted:
        out.print(f"rapport {version('rapport')}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    _version: bool = typer.Option(
        False, "--version", "-V", callback=_print_version, is_eager=True, help="Print the version"
    ),
) -> None:
    """Rapport — the open-source CRM. Results go to stdout, errors and progress to stderr;
    exit 0 done, 1 error, 2 usage, 3 finished with rejected rows."""


@app.command()
def migrate(as_json: bool = JSON_OPTION) -> None:
    """Upgrade the database schema to this release (the one upgrade path)."""
    engine = get_database().engine
    before = migrations.current_revision(engine)
    migrations.upgrade(engine)
    after = migrations.current_revision(engine)
    if as_json:
        emit_json({"before": before, "after": after, "changed": before != after})
    elif before == after:
        out.print(f"[green]✓[/green] already at {after}")
    else:
        out.print(f"[green]✓[/green] migrated {before or 'empty database'} → {after}")


@app.command()
def init(
    workspace: str = typer.Option("Acme", "--workspace", "-w", help="Name of the first workspace"),
    email: str | None = typer.Option(None, "--email", help="Create this owner account"),
    password: str | None = typer.Option(None, "--password", envvar="RAPPORT_OWNER_PASSWORD"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create the schema and a first workspace (and its owner, given --email/--password)."""
    if email and not password:
        fail("give --password (or RAPPORT_OWNER_PASSWORD) with --email")
    migrations.upgrade(get_database().engine)
    with transaction(unscoped=True) as session:
        ws = accounts.create_workspace(session, workspace)
        owner = None
        if email and password:
            owner = accounts.create_user(
                session, ws, email=email, password=password, role=Role.OWNER
            )
        made = {"id": ws.id, "name": ws.name, "slug": ws.slug}
        owner_made = {"id": owner.id, "email": owner.email} if owner else None
    if as_json:
        emit_json({"workspace": made, "owner": owner_made})
        return
    out.print(f"[green]✓[/green] workspace [bold]{made['name']}[/bold] ({made['slug']})")
    if owner_made:
        out.print(f"[green]✓[/green] owner {owner_made['email']}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(1, "--workers"),
    reload: bool = typer.Option(False, "--reload"),
) -> None:
    """Run the API and web app (refuses a database that is not migrated)."""
    import uvicorn

    problem = migrations.schema_problem(get_database().engine)
    if problem:
        fail(problem)
    err.print(
        f"Rapport on [bold]http://{host}:{port}[/bold] — database {get_settings().database_url}"
    )
    uvicorn.run(
        "rapport.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    app()
