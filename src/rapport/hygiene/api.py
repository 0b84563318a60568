"""Hygiene JSON routes: imports (upload, progress, rejects), exports, merges and undo."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from rapport.core import jobs, listing
from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx
from rapport.core.errors import invalid
from rapport.core.records import RecordType, record_types
from rapport.core.schemas import PageOut
from rapport.hygiene import jobs as hygiene_jobs
from rapport.hygiene.models import (
    CompanyDuplicate,
    CompanyMerge,
    DuplicateCandidate,
    HygieneSettings,
    ImportJob,
    ImportMapping,
    Merge,
    PersonFlag,
)
from rapport.hygiene.schemas import (
    BounceIn,
    CompanyDuplicateOut,
    CompanyMergeIn,
    CompanyMergeOut,
    DecisionIn,
    DuplicateOut,
    HygieneSettingsIn,
    HygieneSettingsOut,
    ImportMappingIn,
    ImportMappingOut,
    ImportOut,
    MergeIn,
    MergeOut,
    PersonFlagOut,
    QualityOut,
    ScanIn,
    ScanOut,
    StaleOut,
)
from rapport.hygiene.service import (
    dedupe,
    exporting,
    importing,
    mappings,
    merge,
    quality,
    runner,
    staleness,
)

router = APIRouter()
imports = domain_router(prefix="/imports", tags=["hygiene"])
exports = domain_router(prefix="/exports", tags=["hygiene"])


@imports.post(
    "",
    response_model=ImportOut,
    status_code=202,
    responses=problems(400, 401, 403, 413, 422),
    dependencies=[requires("hygiene:import", note="and people:write or companies:write")],
)
def create_import(
    ctx: Ctx,
    file: Annotated[UploadFile, File(description="CSV, vCard (.vcf) or JSON lines")],
    map: Annotated[list[str], Form(description="column=field overrides")] = [],  # noqa: B006
    fields: Annotated[
        str | None, Form(description='a JSON object {"column": "field"} of overrides')
    ] = None,
    mapping: Annotated[str | None, Form(description="name of a saved mapping to apply")] = None,
    save_mapping: Annotated[
        str | None, Form(description="save the resulting mapping under this name")
    ] = None,
    format: Annotated[str | None, Form(description="csv | vcf | jsonl")] = None,
    object: Annotated[
        str,
        Form(
            description="what the file holds: person (default), company (CSV, JSONL, vCard), "
            "deal or activity (CSV), or another registered import target"
        ),
    ] = "person",
    lenient: Annotated[
        bool,
        Form(
            description="keep a record whose value fails its check, with that field left "
            "empty and the problem listed at warnings.csv (people; default: refuse the record)"
        ),
    ] = False,
) -> ImportJob:
    """Queue an import of people (or ``object=company``, ``deal``, ``activity``) from a file
    (202); follow it at ``GET /imports/{id}``. The mapping is automatic by header name, then
    a saved mapping, then overrides."""
    job = runner.start_upload(
        ctx,
        filename=file.filename or "upload",
        stream=file.file,
        fmt=format,
        pairs=map,
        fields=_fields(fields),
        mapping_name=mapping,
        save_as=save_mapping,
        object=object,
        lenient=lenient,
    )
    jobs.enqueue(ctx.session, hygiene_jobs.run_import, job_id=str(job.id))  # after commit
    return job


def _fields(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid(("fields",), 'fields must be a JSON object {"column": "field"}')
    return {str(k): v for k, v in value.items()}


@imports.get(
    "",
    response_model=list[ImportOut],
    responses=problems(401, 403),
    dependencies=[requires("hygiene:read")],
)
def list_imports(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[ImportJob]:
    """The workspace's latest imports, newest first."""
    return importing.list_jobs(ctx, limit=limit)


@imports.get(
    "/{import_id}",
    response_model=ImportOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("hygiene:read")],
)
def get_import(import_id: uuid.UUID, ctx: Ctx) -> ImportJob:
    """An import's status and counts (``last_line`` is its committed progress)."""
    return importing.get_job(ctx, import_id)


@imports.get(
    "/{import_id}/rejects.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problems(401, 403, 404)},
    dependencies=[requires("hygiene:read")],
)
def get_rejects(import_id: uuid.UUID, ctx: Ctx) -> StreamingResponse:
    """The rows an import refused: line, column, value and reason, as CSV."""
    return StreamingResponse(importing.rejects_csv(ctx, import_id), media_type="text/csv")


@imports.get(
    "/{import_id}/warnings.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problems(401, 403, 404)},
    dependencies=[requires("hygiene:read")],
)
def get_warnings(import_id: uuid.UUID, ctx: Ctx) -> StreamingResponse:
    """The rows an import let in with a problem (a value left out in a lenient import, or
    kept with a doubt): line, column, value and reason, as CSV."""
    return StreamingResponse(importing.warnings_csv(ctx, import_id), media_type="text/csv")


def _export_route(kind: RecordType[Any], fmt: str, media_type: str) -> None:
    @exports.get(
        f"/{kind.plural}.{fmt}",
        response_class=StreamingResponse,
        responses={200: {"content": {media_type: {}}}, **problems(400, 401, 403, 422)},
        name=f"export_{kind.plural}_{fmt}",
        dependencies=[requires("export:read", note=f"and {kind.read}")],
    )
    def export(
        request: Request,
        ctx: Ctx,
        filter: Annotated[str | None, Query(description="JSON filter expression")] = None,
        view: Annotated[
            uuid.UUID | None, Query(description="Export what this saved view of the list lists")
        ] = None,
        q: Annotated[
            str | None,
            Query(max_length=200, description="Only the best search matches, best first"),
        ] = None,
        sort: Annotated[
            str | None, Query(max_length=100, description="In the list's order, e.g. -amount")
        ] = None,
    ) -> StreamingResponse:
        """Stream the live records in this format, filtered like their list (``?field=value``,
        ``?filter=``) and/or by a saved view (``?view=``), searched (``?q=``) and in the list's
        order (``?sort=``), as a list shows them; memory stays flat at any size. People and
        companies come with the columns their import reads, so the file imports back
        unchanged."""
        node = exporting.build_filter(ctx, request.query_params, filter, view, kind.name)
        order = listing.export_order(kind, sort, q)
        body = exporting.export(ctx, kind.name, fmt, node, order)
        headers = {"Content-Disposition": f'attachment; filename="{kind.plural}.{fmt}"'}
        return StreamingResponse(body, media_type=media_type, headers=headers)


for _kind in record_types():  # people, companies, deals, tasks…
    for _fmt, _media_type in exporting.formats(_kind).items():
        _export_route(_kind, _fmt, _media_type)

router.include_router(imports)
router.include_router(exports)


import_mappings = domain_router(prefix="/import-mappings", tags=["hygiene"])


@import_mappings.get(
    "",
    response_model=list[ImportMappingOut],
    responses=problems(401, 403),
    dependencies=[requires("hygiene:read")],
)
def list_import_mappings(ctx: Ctx) -> list[ImportMapping]:
    """The workspace's saved header mappings, by name."""
    return mappings.list_mappings(ctx)


@import_mappings.post(
    "",
    response_model=ImportMappingOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[requires("hygiene:import")],
)
def create_import_mapping(body: ImportMappingIn, ctx: Ctx) -> ImportMapping:
    """Save a header mapping under a name (use it with ``mapping=NAME`` on an import)."""
    return mappings.create(ctx, body.name, body.fields)


@import_mappings.get(
    "/{mapping_id}",
    response_model=ImportMappingOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("hygiene:read")],
)
def get_import_mapping(mapping_id: uuid.UUID, ctx: Ctx) -> ImportMapping:
    return mappings.get(ctx, mapping_id)


@import_mappings.put(
    "/{mapping_id}",
    response_model=ImportMappingOut,
    responses=problems(401, 403, 404, 409, 422),
    dependencies=[requires("hygiene:import")],
)
def update_import_mapping(mapping_id: uuid.UUID, body: ImportMappingIn, ctx: Ctx) -> ImportMapping:
    """Rename a saved mapping and/or replace its fields."""
    return mappings.update(ctx, mapping_id, body.name, body.fields)


@import_mappings.delete(
    "/{mapping_id}",
    status_code=204,
    response_class=Response,
    responses=problems(401, 403, 404),
    dependencies=[requires("hygiene:import")],
)
def delete_import_mapping(mapping_id: uuid.UUID, ctx: Ctx) -> Response:
    mappings.delete(ctx, mapping_id)
    return Response(status_code=204)


router.include_router(import_mappings)


merges = domain_router(prefix="/merges", tags=["hygiene"])


@merges.post(
    "",
    response_model=MergeOut,
    status_code=201,
    responses=problems(401, 403, 404, 409, 422),
    dependencies=[requires("hygiene:merge")],
)
def create_merge(body: MergeIn, ctx: Ctx) -> Merge:
    """Merge one person into another (survivorship rule, per-field choices); undoable."""
    return merge.merge(
        ctx, body.survivor_id, body.merged_id, rule=body.rule, choices=dict(body.fields)
    )


@merges.post(
    "/{merge_id}/undo",
    response_model=MergeOut,
    responses=problems(401, 403, 404, 409),
    dependencies=[requires("hygiene:merge")],
)
def undo_merge(merge_id: uuid.UUID, ctx: Ctx) -> Merge:
    """Undo a merge: both people and every moved link back as they were."""
    return merge.undo(ctx, merge_id)


router.include_router(merges)


duplicates = domain_router(prefix="/duplicates", tags=["hygiene"])


@duplicates.post(
    "/scan",
    response_model=ScanOut,
    responses=problems(401, 403, 422),
    dependencies=[requires("hygiene:merge")],
)
def scan_duplicates(body: ScanIn, ctx: Ctx) -> dedupe.ScanResult:
    """Scan the workspace's people for likely duplicates and refresh the review queue."""
    return dedupe.find_duplicates(ctx, threshold=body.threshold, auto_merge=body.auto_merge)


@duplicates.get(
    "",
    response_model=PageOut[DuplicateOut],
    responses=problems(400, 401, 403, 422),
    dependencies=[requires("hygiene:read")],
)
def list_duplicates(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    status: Annotated[str, Query(pattern="^(pending|skipped|not_duplicate|merged)$")] = "pending",
) -> PageOut[DuplicateOut]:
    """The review queue: candidate pairs, most probable first."""
    page = dedupe.list_candidates(ctx, limit=limit, cursor=cursor, status=status)
    items = [DuplicateOut.model_validate(row) for row in page.items]
    return PageOut[DuplicateOut](items=items, next_cursor=page.next_cursor, has_more=page.has_more)


@duplicates.post(
    "/{candidate_id}/decision",
    response_model=DuplicateOut,
    responses=problems(401, 403, 404, 409, 422),
    dependencies=[requires("hygiene:merge")],
)
def decide_duplicate(candidate_id: uuid.UUID, body: DecisionIn, ctx: Ctx) -> DuplicateCandidate:
    """Merge the pair (undoable), mark it not a duplicate (remembered) or skip it."""
    return dedupe.decide(ctx, candidate_id, body.decision)


router.include_router(duplicates)


quality_routes = domain_router(prefix="", tags=["hygiene"])


@quality_routes.get(
    "/quality",
    response_model=QualityOut,
    responses=problems(401, 403),
    dependencies=[requires("hygiene:read")],
)
def quality_report(ctx: Ctx) -> dict[str, Any]:
    """Data quality: completeness per field, invalid values, duplicates pending, inactive
    people and bounced emails."""
    return quality.report(ctx)


@quality_routes.post(
    "/quality/stale",
    response_model=StaleOut,
    responses=problems(401, 403),
    dependencies=[requires("hygiene:merge")],
)
def run_staleness(ctx: Ctx) -> staleness.StaleResult:
    """Flag people quiet for the workspace's period with no open deal as inactive (and clear
    the flag of those active again); pick up bounces from the timeline."""
    return staleness.flag_stale(ctx)


@quality_routes.get(
    "/hygiene/settings",
    response_model=HygieneSettingsOut,
    responses=problems(401, 403),
    dependencies=[requires("hygiene:read")],
)
def hygiene_settings(ctx: Ctx) -> HygieneSettings:
    """The workspace's hygiene settings."""
    return staleness.get_settings(ctx)


@quality_routes.put(
    "/hygiene/settings",
    response_model=HygieneSettingsOut,
    responses=problems(401, 403, 422),
    dependencies=[requires("workspace:manage")],
)
def change_hygiene_settings(body: HygieneSettingsIn, ctx: Ctx) -> HygieneSettings:
    """Change after how many quiet days a person counts as inactive."""
    return staleness.set_inactive_days(ctx, body.inactive_days)


@quality_routes.post(
    "/people/{person_id}/bounce",
    response_model=PersonFlagOut,
    responses=problems(401, 403, 404, 422),
    dependencies=[requires("people:write")],
)
def mark_bounced(person_id: uuid.UUID, body: BounceIn, ctx: Ctx) -> PersonFlag:
    """Flag one of a person's emails (the primary one by default) as bouncing."""
    return staleness.mark_bounced(ctx, person_id, body.email)


@quality_routes.delete(
    "/people/{person_id}/bounce",
    response_model=PersonFlagOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("people:write")],
)
def clear_bounced(person_id: uuid.UUID, ctx: Ctx) -> PersonFlag:
    """The email works again: clear the bounce flag."""
    return staleness.clear_bounced(ctx, person_id)


router.include_router(quality_routes)


company_duplicates = domain_router(prefix="/company-duplicates", tags=["hygiene"])


@company_duplicates.post(
    "/scan",
    response_model=ScanOut,
    responses=problems(401, 403, 422),
    dependencies=[requires("hygiene:merge")],
)
def scan_company_duplicates(body: ScanIn, ctx: Ctx) -> dedupe.ScanResult:
    """Scan the workspace's companies for likely duplicates and refresh their review queue."""
    return dedupe.find_company_duplicates(ctx, threshold=body.threshold, auto_merge=body.auto_merge)


@company_duplicates.get(
    "",
    response_model=PageOut[CompanyDuplicateOut],
    responses=problems(400, 401, 403, 422),
    dependencies=[requires("hygiene:read")],
)
def list_company_duplicates(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    status: Annotated[str, Query(pattern="^(pending|skipped|not_duplicate|merged)$")] = "pending",
) -> PageOut[CompanyDuplicateOut]:
    """The company review queue: candidate pairs, most probable first."""
    page = dedupe.list_company_candidates(ctx, limit=limit, cursor=cursor, status=status)
    items = [CompanyDuplicateOut.model_validate(row) for row in page.items]
    return PageOut[CompanyDuplicateOut](
        items=items, next_cursor=page.next_cursor, has_more=page.has_more
    )


@company_duplicates.post(
    "/{candidate_id}/decision",
    response_model=CompanyDuplicateOut,
    responses=problems(401, 403, 404, 409, 422),
    dependencies=[requires("hygiene:merge")],
)
def decide_company_duplicate(
    candidate_id: uuid.UUID, body: DecisionIn, ctx: Ctx
) -> CompanyDuplicate:
    """Merge the company pair (undoable), mark it not a duplicate (remembered) or skip it."""
    return dedupe.decide_company(ctx, candidate_id, body.decision)


company_merges = domain_router(prefix="/company-merges", tags=["hygiene"])


@company_merges.post(
    "",
    response_model=CompanyMergeOut,
    status_code=201,
    responses=problems(401, 403, 404, 409, 422),
    dependencies=[requires("hygiene:merge")],
)
def create_company_merge(body: CompanyMergeIn, ctx: Ctx) -> CompanyMerge:
    """Merge one company into another: people, deals, activities and tags move; undoable."""
    return merge.merge_companies(ctx, body.survivor_id, body.merged_id)


@company_merges.post(
    "/{merge_id}/undo",
    response_model=CompanyMergeOut,
    responses=problems(401, 403, 404, 409),
    dependencies=[requires("hygiene:merge")],
)
def undo_company_merge(merge_id: uuid.UUID, ctx: Ctx) -> CompanyMerge:
    """Undo a company merge: both companies and every moved link back as they were."""
    return merge.undo_company_merge(ctx, merge_id)


router.include_router(company_duplicates)
router.include_router(company_merges)
