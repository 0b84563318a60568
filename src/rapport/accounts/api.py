"""JSON routes for the acting user and API tokens."""

from __future__ import annotations

import uuid

from rapport.accounts import service
from rapport.accounts.models import ApiToken
from rapport.accounts.schemas import MeOut, TokenCreated, TokenIn, TokenOut
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
