"""Custom field definitions: the workspace's own fields on people, companies and deals."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Query, Response

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx, IfMatch, etag
from rapport.hub.models import CustomFieldDefinition
from rapport.hub.schemas import FieldDefinitionIn, FieldDefinitionOut, FieldDefinitionPatch
from rapport.hub.service import fields

router = domain_router(prefix="/custom-fields", tags=["custom fields"])


@router.get(
    "",
    response_model=list[FieldDefinitionOut],
    responses=problems(401, 403, 422),
    dependencies=[requires("fields:read")],
)
def list_(
    ctx: Ctx, object_type: Annotated[Literal["person", "company", "deal"] | None, Query()] = None
) -> list[CustomFieldDefinition]:
    """Every custom field of the workspace, or those of one object type."""
    return fields.list_definitions(ctx, object_type)


@router.post(
    "",
    response_model=FieldDefinitionOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[requires("fields:write")],
)
def create(body: FieldDefinitionIn, ctx: Ctx, response: Response) -> CustomFieldDefinition:
    """Define a custom field (admins); 409 if the object already has a field with this key."""
    definition = fields.create_definition(ctx, body)
    response.headers["ETag"] = etag(definition.version)
    response.headers["Location"] = f"/api/v1/custom-fields/{definition.id}"
    return definition


@router.get(
    "/{field_id}",
    response_model=FieldDefinitionOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("fields:read")],
)
def get(field_id: uuid.UUID, ctx: Ctx, response: Response) -> CustomFieldDefinition:
    """One custom field definition; the ETag is its version."""
    definition = fields.get_definition(ctx, field_id)
    response.headers["ETag"] = etag(definition.version)
    return definition


@router.patch(
    "/{field_id}",
    response_model=FieldDefinitionOut,
    responses=problems(400, 401, 403, 404, 412, 422),
    dependencies=[requires("fields:write")],
)
def update(
    field_id: uuid.UUID, body: FieldDefinitionPatch, ctx: Ctx, version: IfMatch, response: Response
) -> CustomFieldDefinition:
    """Change a field's label, options or flags (key and type are fixed)."""
    definition = fields.update_definition(ctx, field_id, body, expected_version=version)
    response.headers["ETag"] = etag(definition.version)
    return definition


@router.delete(
    "/{field_id}",
    status_code=204,
    responses=problems(400, 401, 403, 404, 412),
    dependencies=[requires("fields:write")],
)
def delete(field_id: uuid.UUID, ctx: Ctx, version: IfMatch) -> Response:
    """Remove a field definition; values already stored stay in the records."""
    fields.delete_definition(ctx, field_id, expected_version=version)
    return Response(status_code=204)
