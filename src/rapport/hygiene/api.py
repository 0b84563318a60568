"""Hygiene JSON routes: imports (upload, progress, rejects), exports, merges and undo."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import StreamingResponse

from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx
from rapport.hub.api.params import list_query
from rapport.hub.service.people_list import FIELDS
from rapport.hygiene.models import DuplicateCandidate, ImportJob, Merge
from rapport.hygiene.schemas import (
    DecisionIn,
    DuplicateOut,
    DuplicatePageOut,
    ImportOut,
    MergeIn,
    MergeOut,
    ScanIn,
    ScanOut,
)
from rapport.hygiene.service import dedupe, exporting, importing, merge, runner

router = APIRouter()
imports = domain_router(prefix="/imports", tags=["hygiene"])
exports = domain_router(prefix="/exports", tags=["hygiene"])
PeopleQuery = list_query(FIELDS)


@imports.post(
    "", response_model=ImportOut, status_code=201, responses=problems(400, 401, 403, 413, 422)
)
def create_import(
    ctx: Ctx,
    file: Annotated[UploadFile, File(description="CSV, vCard (.vcf) or JSON lines")],
    map: Annotated[list[str], Form(description="column=field overrides")] = [],  # noqa: B006
    format: Annotated[str | None, Form(description="csv | vcf | jsonl")] = None,
) -> ImportJob:
    """Import people from a file, synchronously in this request; rejects are kept per line."""
    return runner.run_upload(
        ctx, filename=file.filename or "upload", data=file.file.read(), fmt=format, pairs=map
    )


@imports.get("/{import_id}", response_model=ImportOut, responses=problems(401, 403, 404))
def get_import(import_id: uuid.UUID, ctx: Ctx) -> ImportJob:
    """An import's status and counts (``last_line`` is its committed progress)."""
    return importing.get_job(ctx, import_id)


@imports.get(
    "/{import_id}/rejects.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problems(401, 403, 404)},
)
def get_rejects(import_id: uuid.UUID, ctx: Ctx) -> StreamingResponse:
    """The rows an import refused: line, column, value and reason, as CSV."""
    return StreamingResponse(importing.rejects_csv(ctx, import_id), media_type="text/csv")


def _export_route(fmt: str) -> None:
    @exports.get(
        f"/people.{fmt}",
        response_class=StreamingResponse,
        responses={200: {"content": {exporting.FORMATS[fmt]: {}}}, **problems(400, 401, 403, 422)},
        name=f"export_people_{fmt}",
    )
    def export_people(params: PeopleQuery, ctx: Ctx) -> StreamingResponse:  # type: ignore[valid-type]
        """Stream people (filtered like the people list) in this format."""
        body = exporting.export_people(ctx, fmt, params.filter)  # type: ignore[attr-defined]
        headers = {"Content-Disposition": f'attachment; filename="people.{fmt}"'}
        return StreamingResponse(body, media_type=exporting.FORMATS[fmt], headers=headers)


for _fmt in exporting.FORMATS:
    _export_route(_fmt)

router.include_router(imports)
router.include_router(exports)


merges = domain_router(prefix="/merges", tags=["hygiene"])


@merges.post(
    "", response_model=MergeOut, status_code=201, responses=problems(401, 403, 404, 409, 422)
)
def create_merge(body: MergeIn, ctx: Ctx) -> Merge:
    """Merge one person into another (survivorship rule, per-field choices); undoable."""
    return merge.merge(
        ctx, body.survivor_id, body.merged_id, rule=body.rule, choices=dict(body.fields)
    )


@merges.post("/{merge_id}/undo", response_model=MergeOut, responses=problems(401, 403, 404, 409))
def undo_merge(merge_id: uuid.UUID, ctx: Ctx) -> Merge:
    """Undo a merge: both people and every moved link back as they were."""
    return merge.undo(ctx, merge_id)


router.include_router(merges)


duplicates = domain_router(prefix="/duplicates", tags=["hygiene"])


@duplicates.post("/scan", response_model=ScanOut, responses=problems(401, 403, 422))
def scan_duplicates(body: ScanIn, ctx: Ctx) -> dedupe.ScanResult:
    """Scan the workspace's people for likely duplicates and refresh the review queue."""
    return dedupe.find_duplicates(ctx, threshold=body.threshold, auto_merge=body.auto_merge)


@duplicates.get("", response_model=DuplicatePageOut, responses=problems(400, 401, 403, 422))
def list_duplicates(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    status: Annotated[str, Query(pattern="^(pending|skipped|not_duplicate|merged)$")] = "pending",
) -> DuplicatePageOut:
    """The review queue: candidate pairs, most probable first."""
    page = dedupe.list_candidates(ctx, limit=limit, cursor=cursor, status=status)
    items = [DuplicateOut.model_validate(row) for row in page.items]
    return DuplicatePageOut(items=items, next_cursor=page.next_cursor, has_more=page.has_more)


@duplicates.post(
    "/{candidate_id}/decision",
    response_model=DuplicateOut,
    responses=problems(401, 403, 404, 409, 422),
)
def decide_duplicate(candidate_id: uuid.UUID, body: DecisionIn, ctx: Ctx) -> DuplicateCandidate:
    """Merge the pair (undoable), mark it not a duplicate (remembered) or skip it."""
    return dedupe.decide(ctx, candidate_id, body.decision)


router.include_router(duplicates)
