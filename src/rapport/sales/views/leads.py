"""The leads worklist ("work leads in order of promise") and the score panel of a person's
page. Reads and writes go through the sales services, the same ones the JSON API calls."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from rapport.sales.service import leads, predictive, scoring_live
from rapport.web.render import redirect, render, toast
from rapport.web.session import Page

router = APIRouter()
PAGE_SIZE = 50


@router.get("/leads", response_class=HTMLResponse)
def leads_page(
    request: Request,
    page: Page,
    sort: Annotated[str | None, Query(pattern="^(score|probability)$")] = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    """People at the lead stage, most likely to buy first by whichever of the rule score and
    the trained model ranked past buyers better; HTMX asks for the next rows alone."""
    model = predictive.current(page.ctx)
    best = leads.best_sort(model)
    sort = sort or best
    result = leads.worklist(page.ctx, sort=sort, limit=PAGE_SIZE, cursor=cursor)
    return render(
        request,
        "sales/leads.html",
        fragment="sales/leads_rows.html" if cursor else None,
        title="Leads",
        result=result,
        sort=sort,
        best_sort=best,
        model=model,
        model_warnings=predictive.warnings(model) if model else [],
        no_model=scoring_live.NO_MODEL,
        can_rescore=page.ctx.can("leads:write"),
        can_train=page.ctx.can("scoring:write"),
    )


def _times(auc: float | None) -> str:
    """An AUC as "times out of 100" a buyer is ranked above a non-buyer."""
    return "—" if auc is None else str(round(auc * 100))


@router.post("/leads/train")
def train(request: Request, page: Page) -> Response:
    """Retrain the predictive model and rescore the leads."""
    model = scoring_live.train(page.ctx)
    if model.status == "trained":
        toast(
            request,
            f"Model trained: it ranks a future buyer above a non-buyer "
            f"{_times(model.auc)} times out of 100 (the rules: {_times(model.rules_auc)}).",
        )
        for warning in predictive.warnings(model):
            toast(request, warning, "error")
    else:
        toast(request, model.reason or "Not enough history; the rules stand alone.", "info")
    return redirect(request, "/leads")


@router.post("/leads/rescore")
def rescore(request: Request, page: Page) -> Response:
    """Score every lead again under the current rules and model."""
    count = scoring_live.rescore_leads(page.ctx)
    toast(request, f"{count} leads rescored.")
    return redirect(request, "/leads")


@router.get("/people/{person_id}/lead-score", response_class=HTMLResponse)
def score_panel(request: Request, page: Page, person_id: uuid.UUID) -> HTMLResponse:
    """The score panel of a person's page (loaded by the page, or opened on its own)."""
    return render(
        request,
        "sales/leads_score_page.html",
        fragment="sales/leads_score_panel.html",
        title="Lead score",
        person_id=person_id,
        scored=scoring_live.person_score(page.ctx, person_id),
        likelihood=leads.likelihood,
    )
