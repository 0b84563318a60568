"""Deals in global search: found by title, company and contact; shown with stage and amount;
kept current on create, update, stage moves, bin and restore, renames and merges."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from rapport.core import jobs
from rapport.core.context import Context
from rapport.core.search import SearchDocument, search
from rapport.hub.schemas import CompanyIn, CompanyPatch, PersonIn
from rapport.hub.service import companies, people
from rapport.hygiene.service import merge
from rapport.sales import jobs as sales_jobs
from rapport.sales.schemas import DealIn, DealPatch
from rapport.sales.service import deals, pipelines


def _found(ctx: Context, q: str) -> list[str]:
    hits = search(ctx.session, ctx.workspace_id, q, types=["deal"])
    return [h.title for h in hits]


def _deal(ctx: Context, **values: object) -> object:
    pipelines.ensure_default(ctx)
    data = {"title": "Zeppelin renewal", "amount": Decimal("12500"), "currency": "EUR"} | values
    return deals.create(ctx, DealIn.model_validate(data))


def test_a_deal_is_found_by_title_company_and_contact(ada_ctx: Context) -> None:
    company = companies.create(ada_ctx, CompanyIn(name="Quillfeather Ltd"))
    person = people.create(ada_ctx, PersonIn(first_name="Ottoline", last_name="Brandt"))
    deal = _deal(ada_ctx, company_id=company.id, person_id=person.id)
    assert _found(ada_ctx, "zeppelin") == ["Zeppelin renewal"]
    assert _found(ada_ctx, "quillfeather") == ["Zeppelin renewal"]
    assert _found(ada_ctx, "ottoline brandt") == ["Zeppelin renewal"]
    (hit,) = search(ada_ctx.session, ada_ctx.workspace_id, "zeppelin", types=["deal"])
    assert hit.subtitle is not None
    assert "12,500 EUR" in hit.subtitle and "Quillfeather Ltd" in hit.subtitle
    stage = pipelines.stages_of(ada_ctx, deal.pipeline_id)[0]  # type: ignore[attr-defined]
    assert hit.subtitle.startswith(stage.name)


def test_the_index_follows_updates_moves_bin_and_restore(ada_ctx: Context) -> None:
    deal = _deal(ada_ctx)
    deals.update(ada_ctx, deal.id, DealPatch(title="Airship upgrade"))  # type: ignore[attr-defined]
    assert _found(ada_ctx, "zeppelin") == []
    assert _found(ada_ctx, "airship") == ["Airship upgrade"]
    stages = pipelines.stages_of(ada_ctx, deal.pipeline_id)  # type: ignore[attr-defined]
    deals.move_to_stage(ada_ctx, deal.id, stages[1].id)  # type: ignore[attr-defined]
    (hit,) = search(ada_ctx.session, ada_ctx.workspace_id, "airship", types=["deal"])
    assert hit.subtitle is not None and hit.subtitle.startswith(stages[1].name)
    deals.delete(ada_ctx, deal.id)  # type: ignore[attr-defined]
    assert _found(ada_ctx, "airship") == []
    deals.restore(ada_ctx, deal.id)  # type: ignore[attr-defined]
    assert _found(ada_ctx, "airship") == ["Airship upgrade"]


def test_a_renamed_company_is_followed_by_its_deals(ada_ctx: Context) -> None:
    company = companies.create(ada_ctx, CompanyIn(name="Quillfeather Ltd"))
    _deal(ada_ctx, company_id=company.id)
    companies.update(ada_ctx, company.id, CompanyPatch(name="Inkwell Group"))
    jobs.drain(ada_ctx.session)
    assert _found(ada_ctx, "inkwell") == ["Zeppelin renewal"]
    assert _found(ada_ctx, "quillfeather") == []


def test_the_backfill_writes_every_deal_again(ada_ctx: Context) -> None:
    company = companies.create(ada_ctx, CompanyIn(name="Quillfeather Ltd"))
    deal = _deal(ada_ctx, company_id=company.id)
    document = ada_ctx.session.scalars(
        select(SearchDocument).where(SearchDocument.record_id == deal.id)  # type: ignore[attr-defined]
    ).one()
    ada_ctx.session.delete(document)
    ada_ctx.session.flush()
    assert _found(ada_ctx, "zeppelin") == []
    assert deals.reindex_all(ada_ctx) == 1
    assert _found(ada_ctx, "quillfeather") == ["Zeppelin renewal"]
    assert callable(sales_jobs.reindex_deals)


def test_a_person_merge_moves_the_deal_to_the_survivor_name(ada_ctx: Context) -> None:
    keep = people.create(ada_ctx, PersonIn(first_name="Cecilia", last_name="Payne"))
    gone = people.create(ada_ctx, PersonIn(first_name="Ceci", last_name="Gaposchkin"))
    _deal(ada_ctx, person_id=gone.id)
    assert _found(ada_ctx, "gaposchkin") == ["Zeppelin renewal"]
    merge.merge(ada_ctx, keep.id, gone.id)
    jobs.drain(ada_ctx.session)
    assert _found(ada_ctx, "cecilia payne") == ["Zeppelin renewal"]
