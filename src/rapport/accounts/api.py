"""JSON routes for the acting user, API tokens, members, invites and workspace settings."""

from __future__ import annotations

import uuid

from fastapi import Request, Response

from rapport.accounts import service
from rapport.accounts.models import ApiToken
from rapport.accounts.schemas import (
    InviteIn,
    InviteOut,
    MemberIn,
    MemberOut,
    MemberPatch,
    MeOut,
    PasswordChangeIn,
    TokenCreated,
    TokenIn,
    TokenOut,
    WorkspaceSettingsOut,
    WorkspaceSettingsPatch,
)
from rapport.accounts.service import members, workspace
from rapport.core.access import requires, signed_in
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx

router = domain_router(tags=["accounts"])


@router.get("/me", response_model=MeOut, responses=problems(401), dependencies=[signed_in()])
def me(ctx: Ctx) -> MeOut:
    """Who you are in this workspace and what you may do."""
    return MeOut(
        user_id=ctx.user_id,
        workspace_id=ctx.workspace_id,
        role=ctx.role.value,
        permissions=sorted(ctx.permissions),
    )


@router.get(
    "/tokens",
    response_model=list[TokenOut],
    responses=problems(401, 403),
    dependencies=[requires("tokens:manage", note="every member's tokens with members:manage")],
)
def list_tokens(ctx: Ctx) -> list[ApiToken]:
    """Your API tokens (every member's, for admins)."""
    return service.list_tokens(ctx)


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    responses=problems(401, 403, 404, 422),
    dependencies=[
        requires("tokens:manage", note="a token for another member needs members:manage")
    ],
)
def create_token(body: TokenIn, ctx: Ctx) -> TokenCreated:
    """Create an API token; the secret is in the answer and never shown again."""
    token, secret = service.create_token(
        ctx, name=body.name, scopes=body.scopes, expires_at=body.expires_at, user_id=body.user_id
    )
    return TokenCreated.model_validate(
        {**TokenOut.model_validate(token).model_dump(), "token": secret}
    )


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("tokens:manage", note="another member's token needs members:manage")],
)
def revoke_token(token_id: uuid.UUID, ctx: Ctx) -> ApiToken:
    """Revoke a token at once."""
    return service.revoke_token(ctx, token_id)


# --- members ------------------------------------------------------------------------------


@router.get(
    "/members",
    response_model=list[MemberOut],
    responses=problems(401, 403),
    dependencies=[requires("members:manage")],
)
def list_members(ctx: Ctx) -> list[members.MemberRow]:
    """Every member of the workspace: role, team, status and last sign-in."""
    return members.list_members(ctx)


@router.post(
    "/members",
    response_model=MemberOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[requires("members:manage", note="only an owner adds an owner")],
)
def add_member(body: MemberIn, ctx: Ctx) -> members.MemberRow:
    """Add a member who signs in with the password given."""
    return members.add_member(
        ctx, email=body.email, name=body.name, role=body.role, password=body.password
    )


@router.patch(
    "/members/{user_id}",
    response_model=MemberOut,
    responses=problems(401, 403, 404, 422),
    dependencies=[requires("members:manage", note="only an owner changes an owner's role")],
)
def change_member(user_id: uuid.UUID, body: MemberPatch, ctx: Ctx) -> members.MemberRow:
    """Change a member's role (the last owner stays an owner)."""
    if body.role is None:
        return members.get_member(ctx, user_id)
    return members.change_role(ctx, user_id, body.role)


@router.post(
    "/members/{user_id}/deactivate",
    response_model=MemberOut,
    responses=problems(401, 403, 404, 409),
    dependencies=[requires("members:manage", note="only an owner deactivates an owner")],
)
def deactivate_member(user_id: uuid.UUID, ctx: Ctx) -> members.MemberRow:
    """Deactivate a member: their sessions and tokens stop working at once."""
    return members.deactivate(ctx, user_id)


@router.post(
    "/members/{user_id}/reactivate",
    response_model=MemberOut,
    responses=problems(401, 403, 404, 409),
    dependencies=[requires("members:manage")],
)
def reactivate_member(user_id: uuid.UUID, ctx: Ctx) -> members.MemberRow:
    """Let a deactivated member sign in again."""
    return members.reactivate(ctx, user_id)


@router.post(
    "/invites",
    response_model=InviteOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[requires("members:manage", note="only an owner invites an owner")],
)
def invite_member(body: InviteIn, request: Request, ctx: Ctx) -> InviteOut:
    """Invite someone by link: they open it, set their name and password, and are in."""
    row, token = members.invite(ctx, email=body.email, name=body.name, role=body.role)
    url = str(request.base_url).rstrip("/") + f"/invite/{token}" if token else None
    return InviteOut(member=MemberOut.model_validate(row), invite_url=url)


@router.post(
    "/me/password",
    status_code=204,
    responses=problems(401, 422),
    dependencies=[signed_in(note="your own password; the current one is required")],
)
def change_password(body: PasswordChangeIn, ctx: Ctx) -> Response:
    """Change your password; every browser session of yours signed in before ends."""
    members.change_password(ctx, current=body.current_password, new=body.new_password)
    return Response(status_code=204)


# --- workspace settings -------------------------------------------------------------------


@router.get(
    "/workspace/settings",
    response_model=WorkspaceSettingsOut,
    responses=problems(401),
    dependencies=[signed_in()],
)
def workspace_settings(ctx: Ctx) -> workspace.WorkspaceSettings:
    """The workspace's name, default currency, time zone and default country."""
    return workspace.get(ctx)


@router.patch(
    "/workspace/settings",
    response_model=WorkspaceSettingsOut,
    responses=problems(401, 403, 422),
    dependencies=[requires("workspace:manage")],
)
def update_workspace_settings(
    body: WorkspaceSettingsPatch, ctx: Ctx
) -> workspace.WorkspaceSettings:
    """Change the workspace's name, default currency (ISO 4217), time zone (IANA) or default
    country (ISO 3166-1 alpha-2, ``""`` for none)."""
    return workspace.update(ctx, **body.model_dump(exclude_unset=True, exclude_none=True))
