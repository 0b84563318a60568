"""The leads worklist page and the score panel on a person's page (HTML, no browser)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, update

from rapport.core.context import Context
from rapport.hub.models import LifecycleStage
from rapport.hub.schemas import CompanyIn, PersonIn
from rapport.hub.service import companies, people
from rapport.sales.models import LeadScore, ScoringModel
from rapport.sales.schemas import RuleIn
from rapport.sales.service import leads as leads_service
from rapport.sales.service import scoring, scoring_live
from rapport.web.ratelimit import login_throttle
from tests.conftest import Cast
from tests.web.conftest import csrf_from, sign_in


@pytest.fixture
def browser(app, connection: Connection) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    login_throttle.reset()
    yield TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    login_throttle.reset()


@pytest.fixture
def ada_web(browser: TestClient, cast: Cast) -> TestClient:
    return sign_in(browser, cast.ada.email)


@pytest.fixture
def leads(ada_ctx: Context) -> dict[str, str]:
    """Three leads scored 30, 20 and 0, a customer (not a lead) scored 50."""
    scoring.create_rule(
        ada_ctx, RuleIn(name="Senior", kind="job_title_contains", params={"text": "vp"}, points=20)
    )
    scoring.create_rule(
        ada_ctx,
        RuleIn(name="Software", kind="industry_equals", params={"industry": "software"}, points=10),
    )
    soft = companies.create(ada_ctx, CompanyIn(name="Initech", industry="Software"))
    made = {}
    for name, title, company, stage in (
        ("Cold Carl", "Intern", None, LifecycleStage.LEAD),
        ("Hot Hana", "VP Sales", soft.id, LifecycleStage.LEAD),
        ("Warm Wes", "VP Ops", None, LifecycleStage.LEAD),
        ("Customer Cid", "VP IT", soft.id, LifecycleStage.CUSTOMER),
    ):
        person = people.create(
            ada_ctx,
            PersonIn(first_name=name, job_title=title, company_id=company, lifecycle_stage=stage),
        )
        scoring_live.rescore_person(ada_ctx, person.id)
        made[name] = str(person.id)
    ada_ctx.session.flush()
    return made


def test_leads_are_listed_best_first_with_reasons(
    ada_web: TestClient, leads: dict[str, str]
) -> None:
    response = ada_web.get("/leads")
    assert response.status_code == 200, response.text
    html = response.text
    names = re.findall(r'<a href="/people/[^"]+">([^<]+)</a>', html)
    assert names == ["Hot Hana", "Warm Wes", "Cold Carl"]  # the customer is not a lead
    assert re.findall(r"<td data-score>(\d+)</td>", html) == ["30", "20", "0"]
    assert "Senior +20" in html and "Software +10" in html
    assert "Ordered by <strong>rule score</strong>" in html  # no model: the rules' order
    assert "No predictive model trained yet" in html and "AUC" not in html
    assert 'href="/leads" aria-current="page"' in html  # in the navigation


def test_next_page_comes_as_rows(
    ada_web: TestClient, leads: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapport.sales.views import leads as leads_views

    monkeypatch.setattr(leads_views, "PAGE_SIZE", 2)
    first = ada_web.get("/leads").text
    cursor = re.search(r"cursor=([^&\"]+)\"", first)
    assert cursor and "Cold Carl" not in first
    more = ada_web.get(f"/leads?cursor={cursor.group(1)}", headers={"HX-Request": "true"}).text
    assert "Cold Carl" in more and "Hot Hana" not in more and "<html" not in more


def test_person_page_loads_the_score_panel(ada_web: TestClient, leads: dict[str, str]) -> None:
    person_id = leads["Hot Hana"]
    page = ada_web.get(f"/people/{person_id}").text
    assert f'hx-get="/people/{person_id}/lead-score"' in page
    panel = ada_web.get(f"/people/{person_id}/lead-score", headers={"HX-Request": "true"}).text
    assert "<strong data-score>30</strong>" in panel
    assert "Senior" in panel and "Software" in panel and "data-fallback" in panel


def test_train_from_the_page_reports_the_fallback(
    ada_web: TestClient, leads: dict[str, str]
) -> None:
    token = csrf_from(ada_web.get("/leads").text)
    response = ada_web.post("/leads/train", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/leads"
    assert "Only 0 leads with a known outcome" in ada_web.get("/leads").text


def test_another_workspace_cannot_see_the_panel(
    browser: TestClient, cast: Cast, leads: dict[str, str]
) -> None:
    dev = sign_in(browser, cast.dev.email)
    assert dev.get(f"/people/{leads['Hot Hana']}/lead-score").status_code == 404
    assert "Hot Hana" not in dev.get("/leads").text


def _trained(
    ctx: Context,
    leads: dict[str, str],
    *,
    auc: float,
    rules_auc: float,
    warnings: list[str] | None = None,
) -> None:
    """A trained model row whose probabilities reverse the rule score's order."""
    ctx.session.add(ScoringModel(
        workspace_id=ctx.workspace_id, status="trained", algorithm="logistic regression",
        auc=auc, rules_auc=rules_auc, closed_deals=400, won=180, lost=220, train_size=300,
        test_size=100, params={"warnings": warnings} if warnings else {},
    ))  # fmt: skip
    for name, p in (("Cold Carl", 0.82), ("Warm Wes", 0.41), ("Hot Hana", 0.07)):
        ctx.session.execute(
            update(LeadScore)
            .where(LeadScore.person_id == uuid.UUID(leads[name]))
            .values(probability=p)
        )
    ctx.session.flush()


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/people/[^"]+">([^<]+)</a>', html)


def test_the_list_opens_in_the_order_of_the_better_model(
    ada_web: TestClient, ada_ctx: Context, leads: dict[str, str]
) -> None:
    _trained(ada_ctx, leads, auc=0.71, rules_auc=0.47)
    html = ada_web.get("/leads").text
    assert _names(html) == ["Cold Carl", "Warm Wes", "Hot Hana"]  # by the model: it ranks better
    assert 'data-order="probability"' in html
    assert "Ordered by <strong>likelihood to buy</strong>" in html
    # Words a sales rep reads: likelihood to buy, the model's quality behind a disclosure.
    assert "Very likely" in html and "Likely</span>" in html and "Unlikely" in html
    assert "82 %" in html
    assert "<summary>How good is this?</summary>" in html
    assert "ranks a future buyer above a non-buyer <strong>71 times out of 100</strong>" in html
    assert "The scoring rules do it 47 times out of 100" in html
    assert "A coin toss does 50" in html
    assert "AUC" not in html
    # The other order stays one click away.
    assert _names(ada_web.get("/leads?sort=score").text) == ["Hot Hana", "Warm Wes", "Cold Carl"]


def test_the_rules_order_stands_when_the_model_does_no_better(
    ada_web: TestClient, ada_ctx: Context, leads: dict[str, str]
) -> None:
    _trained(ada_ctx, leads, auc=0.46, rules_auc=0.62)
    html = ada_web.get("/leads").text
    assert _names(html) == ["Hot Hana", "Warm Wes", "Cold Carl"]
    assert 'data-order="score"' in html
    assert "46 times out of 100" in html and "62 times out of 100" in html
    assert "The rules do at least as well" in html
    assert _names(ada_web.get("/leads?sort=probability").text) == [
        "Cold Carl",
        "Warm Wes",
        "Hot Hana",
    ]


def test_a_model_the_leakage_guard_warned_about_is_flagged_and_not_followed(
    ada_web: TestClient, ada_ctx: Context, leads: dict[str, str], api: TestClient
) -> None:
    warning = "Later-period AUC 0.991 is implausibly high (above 0.95): check before trusting"
    _trained(ada_ctx, leads, auc=0.99, rules_auc=0.62, warnings=[warning])
    html = ada_web.get("/leads").text
    assert "data-model-warnings" in html and "implausibly high" in html
    assert "These likelihoods may not be trustworthy" in html
    assert 'data-order="score"' in html  # the rules' order, though the model claims better
    assert _names(html) == ["Hot Hana", "Warm Wes", "Cold Carl"]
    model = api.get("/api/v1/sales/scoring/model").json()
    assert model["warnings"] == [warning]


@pytest.mark.parametrize(("p", "words"), [(0.95, "Very likely"), (0.6, "Very likely"),
                                          (0.45, "Likely"), (0.3, "Likely"), (0.29, "Unlikely"),
                                          (0.0, "Unlikely"), (None, None)])  # fmt: skip
def test_likelihood_in_words(p: float | None, words: str | None) -> None:
    assert leads_service.likelihood(p) == words
