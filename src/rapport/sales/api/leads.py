"""Lead capture: the public form endpoint (no auth, CORS for allowed sites), the API create,
and the forms' configuration."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from rapport.core import access
from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.db import transaction
from rapport.core.deps import Ctx
from rapport.core.errors import BadRequest
from rapport.sales.models import LeadForm
from rapport.sales.schemas import LeadFormIn, LeadFormOut, LeadImportOut, LeadIn, LeadOut
from rapport.sales.service import leads

router = domain_router(tags=["leads"])
public = APIRouter(
    tags=["leads"], route_class=access.DeclaredRoute
)  # no Idempotency-Key: no credential


def public_session() -> Iterator[Session]:
    """A unit of work with no signed-in user; the service picks the workspace from the key."""
    with transaction() as session:
        yield session


async def lead_body(request: Request) -> LeadIn:
    """A submission sent as JSON or as an HTML form (urlencoded or multipart)."""
    data: Any
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = await request.json()
        except ValueError as exc:
            raise BadRequest("Malformed JSON") from exc
    else:
        data = dict(await request.form())
    try:
        return LeadIn.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


PublicSession = Annotated[Session, Depends(public_session)]
LeadBody = Annotated[LeadIn, Depends(lead_body)]
LEAD_SCHEMA = {"$ref": "#/components/schemas/LeadIn"}


@public.post(
    "/forms/{form_key}/submit",
    response_model=LeadOut,
    status_code=202,
    responses=problems(400, 403, 404, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": LEAD_SCHEMA},
                "application/x-www-form-urlencoded": {"schema": LEAD_SCHEMA},
            },
        }
    },
    dependencies=[access.public(note="the form key names the workspace")],
)
def submit(
    form_key: str, body: LeadBody, request: Request, response: Response, session: PublicSession
) -> LeadOut | Response:
    """Public: a web form's submission becomes or updates a person. No authentication. A
    plain HTML post (not JSON) to a form with a redirect address is sent on there (303)."""
    client = request.client.host if request.client else "unknown"
    outcome, headers = leads.submit_form(
        session, form_key, body, origin=request.headers.get("origin"), client=client
    )
    location = headers.pop("Location", None)
    is_json = request.headers.get("content-type", "").startswith("application/json")
    if location and not is_json:
        return Response(status_code=303, headers={**headers, "Location": location})
    response.headers.update(headers)
    return outcome


@public.options(
    "/forms/{form_key}/submit",
    status_code=204,
    responses=problems(404),
    dependencies=[access.public(note="CORS preflight for the sites the form allows")],
)
def preflight(form_key: str, request: Request, session: PublicSession) -> Response:
    """Public: CORS preflight; allows only the sites configured on the form."""
    headers = leads.preflight(session, form_key, request.headers.get("origin"))
    return Response(status_code=204, headers=headers)


@router.post(
    "/leads",
    response_model=LeadOut,
    status_code=201,
    responses=problems(401, 403, 422),
    dependencies=[requires("leads:write")],
)
def create_lead(body: LeadIn, ctx: Ctx) -> LeadOut:
    """Capture a lead from another system: creates or updates the person by email."""
    return leads.capture(ctx, body)


@router.post(
    "/sales/leads/import",
    response_model=LeadImportOut,
    responses=problems(400, 401, 403, 413, 422),
    dependencies=[requires("leads:write")],
)
def import_leads(
    ctx: Ctx, file: Annotated[UploadFile, File(description="CSV with a header line")]
) -> leads.ImportReport:
    """Capture each row of a CSV file as a lead (columns mapped by name, UTM columns kept).
    Bad rows come back with line, column and reason; the good ones go in. Re-running the
    same file changes nothing."""
    return leads.import_csv(ctx, file.file.read(leads.MAX_IMPORT_BYTES + 1))


@router.get(
    "/lead-forms",
    response_model=list[LeadFormOut],
    responses=problems(401, 403),
    dependencies=[requires("workspace:manage")],
)
def list_forms(ctx: Ctx) -> list[LeadForm]:
    """The workspace's lead forms with their public keys."""
    return leads.list_forms(ctx)


@router.post(
    "/lead-forms",
    response_model=LeadFormOut,
    status_code=201,
    responses=problems(401, 403, 422),
    dependencies=[requires("workspace:manage")],
)
def create_form(body: LeadFormIn, ctx: Ctx) -> LeadForm:
    """A new public form; embed its key in your site's form action."""
    return leads.create_form(ctx, body)


@router.delete(
    "/lead-forms/{form_id}",
    status_code=204,
    responses=problems(401, 403, 404),
    dependencies=[requires("workspace:manage")],
)
def delete_form(form_id: uuid.UUID, ctx: Ctx) -> None:
    """Retire a form; its key stops working."""
    leads.delete_form(ctx, form_id)
