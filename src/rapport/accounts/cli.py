"""``rapport user …`` and ``rapport token …``: operator commands for accounts.

``token create`` prints only the secret on stdout, so ``TOKEN=$(rapport token create …)``
captures the token and nothing else; everything else goes to stderr."""

from __future__ import annotations

from datetime import timedelta

import typer
from sqlalchemy import select

from rapport.accounts import service
from rapport.accounts.models import User
from rapport.core.cli_output import JSON_OPTION, emit_json, emit_plain, note, out
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import transaction
from rapport.core.errors import NotFound
from rapport.core.permissions import Role

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)


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
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a user with a role in a workspace (or add an existing user to it)."""
    with transaction(unscoped=True) as session:
        ws = service.get_workspace(session, workspace)
        user = service.create_user(
            session, ws, email=email, password=password, name=name, role=role
        )
        made = {"id": user.id, "email": user.email, "role": role.value, "workspace": ws.slug}
        ws_name = ws.name
    if as_json:
        emit_json(made)
    else:
        out.print(f"[green]✓[/green] {made['email']} is now {role.value} of {ws_name}")


@token_app.command("create")
def create_token(
    email: str,
    workspace: str = typer.Option(..., "--workspace", "-w"),
    name: str = typer.Option("cli", "--name"),
    scopes: str = typer.Option("*", "--scopes", help="Comma-separated, e.g. 'read' or '*'"),
    days: int = typer.Option(0, "--days", help="Expire after N days (0: never)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Mint an API token for a member and print its secret once (alone on stdout)."""
    with transaction(unscoped=True) as session:
        ws = service.get_workspace(session, workspace)
        user = session.scalars(select(User).where(User.email == email.lower())).first()
        member = service.membership(session, ws.id, user.id) if user else None
        if user is None or member is None:
            raise NotFound(f"{email} is not a member of {ws.slug}")
        session.info["workspace_id"] = ws.id
        ctx = Context(session=session, workspace_id=ws.id, user_id=user.id, role=Role(member.role))
        expires = utcnow() + timedelta(days=days) if days else None
        token, secret = service.create_token(
            ctx, name=name, scopes=scopes.split(","), expires_at=expires
        )
        session.flush()
        made = {
            "id": token.id,
            "token": secret,
            "name": token.name,
            "scopes": token.scopes,
            "expires_at": token.expires_at,
            "email": user.email,
            "workspace": ws.slug,
        }
    if as_json:
        emit_json(made)
        return
    note(f"[green]✓[/green] token {made['id']} for {made['email']} in {ws.slug} (shown once):")
    emit_plain(secret)


def register(app: typer.Typer) -> None:
    """Add the accounts commands to the root ``rapport`` app (``Domain.cli``)."""
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
