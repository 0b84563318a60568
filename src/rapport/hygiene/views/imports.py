"""The imports pages: upload a file of people or companies, check and adjust its mapping on a
preview of the first rows, start it as a background job, follow its progress bar, download its
rejects, and browse past imports. Thin: the work is in ``hygiene.service.import_uploads``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from rapport.core import jobs
from rapport.core.errors import RapportError
from rapport.hygiene import jobs as hygiene_jobs
from rapport.hygiene.models import ImportJob
from rapport.hygiene.service import import_uploads, importing, mappings
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
FINISHED = ("done", "failed")


def _list(request: Request, page: Page, *, cursor: str | None, error: str | None = None,
          status_code: int = 200) -> HTMLResponse:  # fmt: skip
    rows, next_cursor = import_uploads.jobs_page(page.ctx, cursor=cursor)
    return render(
        request, "hygiene/imports/list.html", title="Imports", rows=rows, next_cursor=next_cursor,
        can_import=page.ctx.can("hygiene:import"), objects=import_uploads.OBJECTS,
        error=error, status_code=status_code, first_page=cursor is None,
    )  # fmt: skip


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, page: Page, cursor: str | None = None) -> HTMLResponse:
    """Past imports (newest first) and, for those who may import, the upload form."""
    return _list(request, page, cursor=cursor)


@router.post("/imports/upload")
async def upload(request: Request, page: Page) -> Response:
    """Stage the uploaded file and go to its mapping preview."""
    form = await request.form()
    file = form.get("file")
    kind = str(form.get("object") or "person")
    if not isinstance(file, UploadFile) or not file.filename:
        return _list(request, page, cursor=None, error="Choose a file to upload.", status_code=400)
    try:
        staged = import_uploads.stage(page.ctx, filename=file.filename, stream=file.file,
                                      object=kind)  # fmt: skip
    except RapportError as exc:
        if exc.status == 403:
            raise
        return _list(request, page, cursor=None, error=exc.detail, status_code=400)
    return redirect(request, f"/imports/preview/{staged.token}")


def _choices(form: FormData, columns: list[str]) -> dict[str, str]:
    """The form's ``col_<i>`` selects as ``{column: field}``."""
    return {c: str(form[f"col_{i}"]) for i, c in enumerate(columns) if form.get(f"col_{i}")}


def _preview_page(
    request: Request,
    page: Page,
    staged: import_uploads.Staged,
    view: import_uploads.Preview,
    saved_name: str | None,
) -> HTMLResponse:
    return render(
        request, "hygiene/imports/preview.html", fragment="hygiene/imports/_preview.html",
        title="Check the mapping", staged=staged, view=view,
        saved=mappings.list_mappings(page.ctx), saved_name=saved_name,
        object_label=import_uploads.OBJECTS[staged.object],
    )  # fmt: skip


@router.get("/imports/preview/{token}", response_class=HTMLResponse)
def preview_page(request: Request, page: Page, token: str, mapping: str | None = None) -> Response:
    """The mapping preview: each column, its field, and the first rows as they will go in."""
    staged = import_uploads.load(page.ctx, token)
    view = import_uploads.preview(page.ctx, staged, saved_name=mapping or None)
    return _preview_page(request, page, staged, view, mapping)


@router.post("/imports/preview/{token}", response_class=HTMLResponse)
async def preview_again(request: Request, page: Page, token: str) -> Response:
    """Re-run the preview with the form's choices (or a saved mapping, with Apply)."""
    staged = import_uploads.load(page.ctx, token)
    form = await request.form()
    saved_name = str(form.get("mapping") or "") or None
    columns = import_uploads.preview(page.ctx, staged).columns
    if form.get("action") == "apply_saved" and saved_name:
        view = import_uploads.preview(page.ctx, staged, saved_name=saved_name)
    else:
        view = import_uploads.preview(page.ctx, staged, explicit=_choices(form, columns))
    return _preview_page(request, page, staged, view, saved_name)


@router.post("/imports/start/{token}")
async def start(request: Request, page: Page, token: str) -> Response:
    """Queue the import with the mapping on the form; then its progress page."""
    staged = import_uploads.load(page.ctx, token)
    form = await request.form()
    columns = import_uploads.preview(page.ctx, staged).columns
    explicit = _choices(form, columns)
    save_as = str(form.get("save_as") or "").strip() or None
    lenient = form.get("lenient") in ("1", "on", "true")
    try:
        with page.ctx.session.begin_nested():
            job = import_uploads.start(
                page.ctx, staged, explicit=explicit, save_as=save_as, lenient=lenient
            )
    except RapportError as exc:
        if exc.status == 403:
            raise
        view = import_uploads.preview(page.ctx, staged, explicit=explicit)
        view.error = "; ".join(e.message for e in exc.errors) or exc.detail
        return _preview_page(request, page, staged, view, None)
    jobs.enqueue(page.ctx.session, hygiene_jobs.run_import, job_id=str(job.id))  # after commit
    if save_as:
        toast(request, f"Mapping saved as “{save_as}”.", "info")
    return redirect(request, f"/imports/{job.id}")


def _progress(job: ImportJob) -> dict[str, Any]:
    total = job.total_rows or 0
    if job.status == "done":
        percent = 100
    elif total:
        percent = min(99, round(100 * job.rows_done / total))
    else:
        percent = 0
    return {"job": job, "percent": percent, "finished": job.status in FINISHED}


@router.get("/imports/{import_id}", response_class=HTMLResponse)
def import_page(request: Request, page: Page, import_id: uuid.UUID) -> HTMLResponse:
    """One import: its progress bar (polling until it ends), counts and rejects."""
    job = importing.get_job(page.ctx, import_id)
    return render(
        request, "hygiene/imports/job.html", title=f"Import of {job.filename}",
        object_label=import_uploads.OBJECTS.get(job.object, job.object), **_progress(job),
    )  # fmt: skip


@router.get("/imports/{import_id}/progress", response_class=HTMLResponse)
def import_progress(request: Request, page: Page, import_id: uuid.UUID) -> HTMLResponse:
    """The progress fragment the job page polls every second (no more polling once done)."""
    job = importing.get_job(page.ctx, import_id)
    progress = "hygiene/imports/_progress.html"
    return render(request, progress, fragment=progress, **_progress(job))


@router.get("/imports/{import_id}/rejects.csv")
def import_rejects(page: Page, import_id: uuid.UUID) -> StreamingResponse:
    """The refused rows: line, column, message, value and the original line of the file."""
    body = import_uploads.rejects_csv(page.ctx, import_id)
    headers = {"Content-Disposition": f'attachment; filename="rejects-{import_id}.csv"'}
    return StreamingResponse(body, media_type="text/csv", headers=headers)


@router.get("/imports/{import_id}/warnings.csv")
def import_warnings(page: Page, import_id: uuid.UUID) -> StreamingResponse:
    """The rows that went in with a value left out or doubted, in the rejects' columns."""
    body = import_uploads.rejects_csv(page.ctx, import_id, level="warning")
    headers = {"Content-Disposition": f'attachment; filename="warnings-{import_id}.csv"'}
    return StreamingResponse(body, media_type="text/csv", headers=headers)
