"""First run: until some workspace has an owner, the web app offers to create one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.accounts import service as accounts
from rapport.accounts.models import Membership, User, Workspace
from rapport.core import security
from rapport.core.errors import Conflict, invalid
from rapport.core.permissions import Role


def needs_setup(session: Session) -> bool:
    """True while no workspace has an owner (a fresh install, or ``rapport init`` without
    ``--email``)."""
    owner = session.scalars(
        select(Membership.id)
        .where(Membership.role == Role.OWNER.value)
        .limit(1)
        .execution_options(all_workspaces=True)
    ).first()
    return owner is None


def ownerless_workspace(session: Session) -> Workspace | None:
    """The oldest workspace without an owner: the one ``rapport init`` made, if any."""
    return session.scalars(select(Workspace).order_by(Workspace.created_at).limit(1)).first()


def complete_setup(
    session: Session, *, workspace_name: str, name: str, email: str, password: str
) -> tuple[User, Workspace]:
    """Create the first owner, in the existing ownerless workspace or a new one.

    Two people submitting the form at the same instant could both pass the check; the second
    then fails on the unique workspace slug or e-mail in the common case. The window is the
    first minute of a fresh install, so no lock is taken.
    """
    if not needs_setup(session):
        raise Conflict("Rapport is already set up; sign in instead")
    workspace = ownerless_workspace(session)
    if workspace is None and not workspace_name.strip():
        raise invalid(("workspace_name",), "Give your workspace a name")
    login = accounts.normalise_login_email(email)
    existing = session.scalars(select(User).where(User.email == login)).first()
    if existing is not None and not security.verify_password(existing.password_hash, password):
        # create_user would make the existing account owner and keep its password; without
        # this check, whoever reaches /setup first could take over any existing account.
        raise invalid(("password",), "An account with this e-mail exists; enter its password")
    with session.begin_nested():  # a refused owner must not leave a new, empty workspace
        if workspace is None:
            workspace = accounts.create_workspace(session, workspace_name)
        user = accounts.create_user(
            session, workspace, email=login, password=password, name=name.strip(), role=Role.OWNER
        )
    return user, workspace
