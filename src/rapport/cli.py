"""The ``rapport`` command: the instance commands here, each registered domain's own."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
from sqlalchemy.exc import OperationalError

from rapport import domains
from rapport.accounts import service as accounts
from rapport.core import backup as backups
from rapport.core import instance, migrations, topics
from rapport.core.cli_output import (
    JSON_OPTION,
    RapportGroup,
    emit_json,
    err,
    fail,
    out,
    progress,
)
from rapport.core.config import get_settings
from rapport.core.db import display_url, get_database, transaction
from rapport.core.jobs.cli import jobs_app, worker
from rapport.core.logging import configure_logging, log_serving
from rapport.core.permissions import Role
from rapport.core.registry import resolve
from rapport.hub.cli import demo

app = typer.Typer(help="Rapport — the open-source CRM.", no_args_is_help=True, cls=RapportGroup)
for _domain in domains.install():  # each domain adds its own commands and groups
    if _domain.cli is not None:
        resolve(_domain.cli)(app)
app.command()(worker)
app.add_typer(jobs_app, name="jobs")
app.command("events")(topics.print_catalogue)  # the event catalogue, as Markdown
T = TypeVar("T")


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
    demo_if_new: bool = typer.Option(
        False, "--demo-if-new", help="First seed the demo workspace into a new, empty database"
    ),
) -> None:
    """Run the API and web app (refuses a database that is not migrated)."""
    import uvicorn

    if demo_if_new and migrations.current_revision(get_database().engine) is None:
        # `make run`: seeding in this process spares a second start of the interpreter.
        demo(workspace="Demo", people=2000, companies=300, activities=30_000, seed=42,
             as_json=False)  # fmt: skip
    configure_logging()
    log_serving(f"http://{host}:{port}", display_url(get_settings().database_url))
    try:
        problem = migrations.schema_problem(get_database().engine)
    except OperationalError as exc:
        fail(f"the database does not answer: {exc.orig}")
    if problem:
        fail(problem)
    _check_secret_key()
    uvicorn.run(
        "rapport.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # With --workers, uvicorn kills a worker that does not answer its health ping in time,
        # and a worker answers only once its interpreter has imported this module: on a busy
        # machine that takes longer than uvicorn's 5 s, and the workers were killed and
        # respawned forever. A hung worker is now found after 30 s instead.
        timeout_worker_healthcheck=30,
        reload=reload,
        access_log=False,  # the request log middleware writes one line per request
        log_config=None,  # uvicorn's lines go through our one log stream (core.logging)
    )


@app.command("backup")
def backup_command(file: Path = typer.Argument(..., help="Where to write the backup")) -> None:
    """Copy the whole database to FILE, consistent while the app keeps writing."""
    url = get_settings().database_url
    _run_with_progress("backing up", lambda tick: backups.backup(url, file, progress=tick))
    out.print(
        f"[green]✓[/green] backup of {display_url(url)} written to {file} (mode 0600: it holds "
        "every record and the session key)"
    )


@app.command("restore")
def restore_command(
    file: Path = typer.Argument(..., help="A file made by 'rapport backup'"),
    force: bool = typer.Option(False, "--force", help="Replace what the database holds"),
) -> None:
    """Load a backup into the database (stop the server first); refuses a non-empty one."""
    url = get_settings().database_url
    result = _run_with_progress(
        "restoring", lambda tick: backups.restore(url, file, force=force, progress=tick)
    )
    out.print(f"[green]✓[/green] restored {file} into {display_url(url)} "
              f"(schema {result.revision})")  # fmt: skip
    if result.schema_problem:
        err.print(f"[yellow]note:[/yellow] {result.schema_problem}")


def _run_with_progress(label: str, work: Callable[[backups.Progress], T]) -> T:
    """Run long work with a progress bar on stderr (a failure is one line there, exit 1)."""
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with progress(*columns, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=None)

        def tick(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{label} ({what})")

        return work(tick)


def _check_secret_key() -> None:
    """Refuse to serve with a session key anyone knows, unless RAPPORT_DEV_MODE says so."""
    _key, problem = instance.configured_secret_key()
    if problem is None:
        return
    if not get_settings().dev_mode:
        fail(f"refusing to start. {problem}")
    err.print(
        "[bold red]WARNING: DEVELOPMENT MODE (RAPPORT_DEV_MODE) — sessions are signed with an "
        "insecure key: anyone can sign in as anyone. Never expose this server.[/bold red] "
        + problem
    )


if __name__ == "__main__":
    app()
