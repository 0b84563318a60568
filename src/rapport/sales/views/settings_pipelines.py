"""Settings → Pipelines: pipelines and their stages.

List pipelines; add and rename one; add, rename and re-weight stages (win probability 0-100),
reorder them (drag, or the up/down buttons), archive a stage (one holding deals only with the
stage they move to, in one transaction) and restore it. Every route needs ``pipelines:write``
(admins); the services audit every change.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from rapport.core.errors import Conflict, Invalid
from rapport.sales.models import Pipeline
from rapport.sales.schemas import PipelineIn, PipelinePatch, StageIn, StagePatch
from rapport.sales.service import pipelines, stages
from rapport.web.forms import form_errors
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
BASE = "/settings/pipelines"


def _probability(raw: str) -> int | str:
    """The form's text as a number when it is one; the schema says why otherwise."""
    text = raw.strip().rstrip("%").strip()
    try:
        return int(text)
    except ValueError:
        return text


def _list(request: Request, page: Page, values: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
    page.ctx.require("pipelines:write")
    response = render(
        request,
        "sales/settings/pipelines.html",
        title="Pipelines · Settings",
        pipelines=pipelines.list_pipelines(page.ctx),
        values=values or {},
        errors=errors or {},
    )
    response.status_code = status
    return response


@router.get(BASE, response_class=HTMLResponse)
def pipelines_page(request: Request, page: Page) -> HTMLResponse:
    """Every pipeline with its stages, and the form that adds one."""
    return _list(request, page)


@router.post(BASE)
def create_pipeline(
    request: Request,
    page: Page,
    name: Annotated[str, Form(max_length=300)] = "",
    currency: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Add a pipeline with the standard stages."""
    page.ctx.require("pipelines:write")
    values = {"name": name, "currency": currency}
    try:
        data = PipelineIn.model_validate(
            {"name": name.strip(), "currency": currency.strip().upper() or None}
        )
        pipeline = pipelines.create(page.ctx, data)
    except (Invalid, ValidationError) as exc:
        return _list(request, page, values, _named(form_errors(exc)), status=422)
    toast(request, f"“{pipeline.name}” was added with the standard stages.")
    return redirect(request, f"{BASE}/{pipeline.id}")


def _named(errors: dict[str, str]) -> dict[str, str]:
    if "name" in errors and "at least 1 character" in errors["name"]:
        errors["name"] = "Give it a name."
    return errors


def _edit(request: Request, page: Page, pipeline: Pipeline, errors: dict[str, str] | None = None,
          values: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
    page.ctx.require("pipelines:write")
    every = pipelines.stages_of(page.ctx, pipeline.id, include_archived=True)
    response = render(
        request,
        "sales/settings/pipeline.html",
        title=f"{pipeline.name} · Pipelines",
        pipeline=pipeline,
        stages=[s for s in every if s.archived_at is None],
        archived=[s for s in every if s.archived_at is not None],
        counts=stages.deal_counts(page.ctx, pipeline.id),
        errors=errors or {},
        values=values or {},
    )
    response.status_code = status
    return response


@router.get(BASE + "/{pipeline_id}", response_class=HTMLResponse)
def pipeline_page(request: Request, page: Page, pipeline_id: uuid.UUID) -> HTMLResponse:
    """One pipeline: its name and its stages."""
    page.ctx.require("pipelines:write")
    return _edit(request, page, pipelines.get(page.ctx, pipeline_id))


@router.post(BASE + "/{pipeline_id}")
def rename_pipeline(
    request: Request,
    page: Page,
    pipeline_id: uuid.UUID,
    name: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Rename the pipeline."""
    page.ctx.require("pipelines:write")
    pipeline = pipelines.get(page.ctx, pipeline_id)
    try:
        patch = PipelinePatch.model_validate({"name": name.strip()})
        pipelines.update(page.ctx, pipeline_id, patch, expected_version=None)
    except (Invalid, ValidationError) as exc:
        errors = {f"pipeline.{k}": v for k, v in _named(form_errors(exc)).items()}
        return _edit(request, page, pipeline, errors, {"pipeline.name": name}, status=422)
    toast(request, "Renamed.")
    return redirect(request, f"{BASE}/{pipeline_id}")


@router.post(BASE + "/{pipeline_id}/stages")
def add_stage(
    request: Request,
    page: Page,
    pipeline_id: uuid.UUID,
    name: Annotated[str, Form(max_length=300)] = "",
    probability: Annotated[str, Form(max_length=10)] = "0",
) -> Response:
    """Add a stage before the closing (won and lost) stages."""
    page.ctx.require("pipelines:write")
    pipeline = pipelines.get(page.ctx, pipeline_id)
    live = pipelines.stages_of(page.ctx, pipeline_id)
    open_count = next((i for i, s in enumerate(live) if s.is_won or s.is_lost), len(live))
    try:
        data = StageIn.model_validate(
            {
                "name": name.strip(),
                "probability": _probability(probability or "0"),
                "position": open_count,
            }
        )
        stage = pipelines.add_stage(page.ctx, pipeline_id, data)
    except (Invalid, ValidationError) as exc:
        errors = {f"new.{k}": v for k, v in _probability_message(_named(form_errors(exc))).items()}
        values = {"new.name": name, "new.probability": probability}
        return _edit(request, page, pipeline, errors, values, status=422)
    toast(request, f"“{stage.name}” was added.")
    return redirect(request, f"{BASE}/{pipeline_id}")


def _probability_message(errors: dict[str, str]) -> dict[str, str]:
    if "probability" in errors:
        errors["probability"] = "A win probability is a whole number from 0 to 100."
    return errors


@router.post(BASE + "/{pipeline_id}/stages/{stage_id}")
def update_stage(
    request: Request,
    page: Page,
    pipeline_id: uuid.UUID,
    stage_id: uuid.UUID,
    name: Annotated[str, Form(max_length=300)] = "",
    probability: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Rename a stage or set its win probability."""
    page.ctx.require("pipelines:write")
    pipeline = pipelines.get(page.ctx, pipeline_id)
    try:
        patch = StagePatch.model_validate(
            {"name": name.strip(), "probability": _probability(probability)}
        )
        pipelines.update_stage(page.ctx, pipeline_id, stage_id, patch, expected_version=None)
    except (Invalid, ValidationError) as exc:
        prefix = f"stage-{stage_id}."
        errors = _probability_message(_named(form_errors(exc)))
        values = {prefix + "name": name, prefix + "probability": probability}
        errors = {prefix + k: v for k, v in errors.items()}
        return _edit(request, page, pipeline, errors, values, status=422)
    toast(request, "Stage saved.")
    return redirect(request, f"{BASE}/{pipeline_id}#stage-{stage_id}")


@router.post(BASE + "/{pipeline_id}/stages/{stage_id}/move")
def move_stage(
    request: Request,
    page: Page,
    pipeline_id: uuid.UUID,
    stage_id: uuid.UUID,
    direction: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """One place up or down (the keyboard's way to reorder)."""
    page.ctx.require("pipelines:write")
    stages.move(page.ctx, pipeline_id, stage_id, -1 if direction == "up" else 1)
    return redirect(request, f"{BASE}/{pipeline_id}#stage-{stage_id}")


@router.post(BASE + "/{pipeline_id}/order")
def reorder_stages(
    request: Request,
    page: Page,
    pipeline_id: uuid.UUID,
    order: Annotated[list[uuid.UUID], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    """The stages in the order they were dragged to."""
    page.ctx.require("pipelines:write")
    stages.reorder(page.ctx, pipeline_id, order)
    toast(request, "Stages reordered.")
    return redirect(request, f"{BASE}/{pipeline_id}")


@router.post(BASE + "/{pipeline_id}/stages/{stage_id}/archive")
def archive_stage(
    request: Request,
    page: Page,
    pipeline_id: uuid.UUID,
    stage_id: uuid.UUID,
    move_to: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Archive a stage; the deals it holds move to the chosen stage first."""
    page.ctx.require("pipelines:write")
    pipeline = pipelines.get(page.ctx, pipeline_id)
    try:
        target = uuid.UUID(move_to) if move_to else None
    except ValueError:
        target = None
    try:
        stage, moved = stages.archive(page.ctx, pipeline_id, stage_id, target)
    except (Invalid, Conflict) as exc:
        errors = form_errors(exc) if isinstance(exc, Invalid) else {}
        message = errors.get("move_to") or exc.detail
        return _edit(request, page, pipeline, {f"stage-{stage_id}.move_to": message}, status=422)
    note = f" {moved:,} deal{'s' if moved != 1 else ''} moved." if moved else ""
    toast(request, f"“{stage.name}” was archived.{note}")
    return redirect(request, f"{BASE}/{pipeline_id}")


@router.post(BASE + "/{pipeline_id}/stages/{stage_id}/restore")
def restore_stage(
    request: Request, page: Page, pipeline_id: uuid.UUID, stage_id: uuid.UUID
) -> Response:
    """Put an archived stage back at the end of the board."""
    page.ctx.require("pipelines:write")
    stage = stages.restore(page.ctx, pipeline_id, stage_id)
    toast(request, f"“{stage.name}” is back on the board.")
    return redirect(request, f"{BASE}/{pipeline_id}")
