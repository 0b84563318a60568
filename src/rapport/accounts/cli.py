"""``rapport user …`` and ``rapport token …``: operator commands for accounts."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.console import Console
from sqlalchemy import select

from rapport.accounts import service
from rapport.accounts.models import User
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import transaction
from rapport.core.errors import RapportError
from rapport.core.permissions import Role

console = Console()
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)


def fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@user_app.command("create")
def create_user(
    email: str,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    role: Role = typer.Option(Role.MEMBER, "--role", "-r"),
    name: str = typer.Option("", "--name"),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="RAPPORT_USER_PASSWORD",
    ),
) -> None:
    """Create a user with a role in a workspace (or add an existing user to it)."""
    try:
        with transaction(unscoped=True) as session:
            ws = service.get_workspace(session, workspace)
            user = service.create_user(
                session, ws, email=email, password=password, name=name, role=role
            )
            console.print(f"[green]✓[/green] {user.email} is now {role.value} of {ws.name}")
    except RapportError as exc:
        fail(exc.detail)


@token_app.command("create")
def create_token(
    email: str,
    workspace: str = typer.Option(..., "--workspace", "-w"),
    name: str = typer.Option("cli", "--name"),
    scopes: str = typer.Option("*", "--scopes", help="Comma-separated, e.g. 'read' or '*'"),
    days: int = typer.Option(0, "--days", help="Expire after N days (0: never)"),
) -> None:
    """Mint an API token for a member and print its secret once."""
    try:
        with transaction(unscoped=True) as session:
            ws = service.get_workspace(session, workspace)
            user = session.scalars(select(User).where(User.email == email.lower())).first()
            member = service.membership(session, ws.id, user.id) if user else None
            if user is None or member is None:
                fail(f"{email} is not a member of {ws.slug}")
                return
            session.info["workspace_id"] = ws.id
            ctx = Context(
                session=session, workspace_id=ws.id, user_id=user.id, role=Role(member.role)
            )
            expires = utcnow() + timedelta(days=days) if days else None
            _token, secret = service.create_token(
                ctx, name=name, scopes=scopes.split(","), expires_at=expires
            )
        print(secret)
    except RapportError as exc:
        fail(exc.detail)
