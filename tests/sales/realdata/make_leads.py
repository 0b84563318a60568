"""A realistic B2B lead history, generated from a fixed seed, and its loader.

Eighteen months of inbound leads (from 2025-01-01): sources, countries, company sizes and
industries at realistic shares; a hidden buying intent per lead that the engagement shows
only noisily (email opens are common and say little, clicks a bit more, pricing-page visits,
webinars and demo forms a lot); deals opened weeks after the first touch and won or lost a
month or two later, at their real past dates. The world drifts: the webinar signal fades
over the 18 months (the programme grew and drew a broader crowd), and a slice of leads are
noise (bots opening every email, students downloading the white paper). About one lead in
nine converts.

``make_leads(seed)`` gives plain records; ``load(ctx, leads)`` writes them through the
services (people in bulk, back-dated; activities through the timeline's ingest; deals
created and closed at their past moments). ``leaky=True`` loads the same history the way a
careless export does: the people of a won deal arrive with their lead source overwritten to
"Existing customer" (a current-state field that records the outcome).
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sklearn.metrics import roc_auc_score

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.hub.public import bulk, companies, people, timeline
from rapport.hub.schemas import ActivityIn, Address, CompanyIn, PersonIn
from rapport.sales.schemas import DealIn, PipelineIn, StageIn
from rapport.sales.service import deals, pipelines, predictive, scoring

START = datetime(2025, 1, 1, tzinfo=UTC)
MONTHS = 18
DAYS = 548  # 18 months
SEED = 15
CUTOFF = START + timedelta(days=457)  # after 15 months: what training may know

SOURCES = {  # share, effect on the odds of buying (log-odds)
    "organic_search": (0.28, 0.1), "paid_search": (0.22, -0.3), "referral": (0.08, 0.9),
    "webinar": (0.12, 0.2), "trade_show": (0.08, 0.3), "content_download": (0.17, -0.5),
    "partner": (0.05, 0.6),
}  # fmt: skip
COUNTRIES = {
    "US": (0.38, 0.2), "GB": (0.12, 0.1), "DE": (0.12, 0.3), "FR": (0.08, -0.1),
    "IN": (0.12, -0.6), "BR": (0.07, -0.4), "AU": (0.05, 0.1), "NL": (0.06, 0.2),
}  # fmt: skip
INDUSTRIES = {
    "Software": (0.30, 0.4), "Financial Services": (0.15, 0.3), "Healthcare": (0.12, 0.0),
    "Retail": (0.13, -0.3), "Manufacturing": (0.15, 0.1), "Education": (0.10, -0.6),
    "Media": (0.05, -0.2),
}  # fmt: skip
SIZES = (  # (low, high), share, effect
    ((1, 10), 0.18, -0.9), ((11, 50), 0.25, -0.2), ((51, 200), 0.25, 0.4),
    ((201, 1000), 0.18, 0.5), ((1001, 5000), 0.09, 0.1), ((5001, 50000), 0.05, -0.3),
)  # fmt: skip
TITLES = (  # title, share, effect
    ("VP of Operations", 0.08, 0.5), ("Head of IT", 0.10, 0.5), ("CTO", 0.05, 0.4),
    ("IT Manager", 0.17, 0.3), ("Operations Manager", 0.12, 0.2), ("Analyst", 0.15, -0.3),
    ("Software Engineer", 0.15, -0.2), ("Student", 0.05, -1.2), ("Consultant", 0.08, -0.3),
    ("Founder", 0.05, 0.3),
)  # fmt: skip
BASE_LOG_ODDS = -3.1
PAGES = ("Blog: 10 tips", "Docs: getting started", "Careers", "Pricing", "Case studies",
         "Request a demo")  # fmt: skip


@dataclass
class Event:
    kind: str
    at: datetime
    subject: str


@dataclass
class GeneratedLead:
    key: str
    created_at: datetime
    email: str
    first_name: str
    job_title: str
    source: str
    country: str
    company: str
    industry: str
    size: int
    events: list[Event] = field(default_factory=list)
    deal_created_at: datetime | None = None
    deal_closed_at: datetime | None = None
    won: bool = False


def _pick(rng: random.Random, table: dict[str, tuple[float, float]]) -> tuple[str, float]:
    name = rng.choices(list(table), weights=[v[0] for v in table.values()])[0]
    return name, table[name][1]


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _events(
    rng: random.Random, lead: GeneratedLead, kind: str, mean: float, subjects: tuple[str, ...]
) -> int:
    """A Poisson number of ``kind`` events: most in the lead's first two weeks, a quarter
    trickling in over the next months."""
    count = _poisson(rng, mean)
    for _ in range(count):
        later = rng.random() < 0.25
        days = rng.uniform(14, 120) if later else rng.expovariate(1 / 4.0)
        at = lead.created_at + timedelta(days=min(days, 120), minutes=rng.uniform(1, 600))
        lead.events.append(Event(kind, at, rng.choice(subjects)))
    return count


def make_leads(seed: int = SEED, n: int = 2400) -> list[GeneratedLead]:
    """``n`` leads over 18 months, the same for the same seed."""
    rng = random.Random(seed)
    companies_made: dict[int, tuple[str, str, int, float]] = {}
    leads: list[GeneratedLead] = []
    for i in range(n):
        created = START + timedelta(days=rng.uniform(0, DAYS), hours=rng.uniform(0, 24))
        progress = (created - START).days / DAYS  # 0 at the start, 1 at the end
        source, source_effect = _pick(rng, SOURCES)
        country, country_effect = _pick(rng, COUNTRIES)
        company_no = rng.randrange(int(n * 0.7))  # some companies send several leads
        if company_no not in companies_made:
            industry, industry_effect = _pick(rng, INDUSTRIES)
            (low, high), _, size_effect = rng.choices(SIZES, weights=[s[1] for s in SIZES])[0]
            size = int(math.exp(rng.uniform(math.log(low), math.log(high))))
            companies_made[company_no] = (
                f"Company {company_no}",
                industry,
                size,
                industry_effect + size_effect,
            )
        company, industry, size, company_effect = companies_made[company_no]
        title, _, title_effect = rng.choices(TITLES, weights=[t[1] for t in TITLES])[0]
        intent = rng.gauss(0, 1.0)
        bot = rng.random() < 0.04  # opens and clicks everything, buys nothing
        lead = GeneratedLead(
            key=f"L{i:05d}", created_at=created, email=f"lead{i:05d}@example.com",
            first_name=f"Lead{i}", job_title=title, source=source, country=country,
            company=company, industry=industry, size=size,
        )  # fmt: skip
        engaged = 1 / (1 + math.exp(-(intent - 0.3)))  # 0..1, how much the intent shows
        webinar_weight = 1.2 * (1 - 0.8 * progress)  # the webinar signal fades over time

        opens = 8.0 if bot else 1.5 + 2.0 * engaged
        _events(rng, lead, "email_opened", opens, ("Newsletter", "Product update"))
        clicks = 4.0 if bot else 0.2 + 1.2 * engaged
        _events(rng, lead, "email_clicked", clicks, ("Newsletter",))
        _events(rng, lead, "page_visited", 1.0 + 1.5 * rng.random(), PAGES[:3])  # pure noise
        hot = ("Pricing", "Request a demo")
        pricing = _events(rng, lead, "page_visited", 0.1 + 1.8 * engaged**2, hot)
        attend = 0.05 + 0.7 * engaged * (0.3 + progress)
        webinars = _events(rng, lead, "webinar_attended", attend, ("Webinar",))
        forms = _events(rng, lead, "form_submitted", 0.05 + 0.6 * engaged**2, ("Demo request",))
        log_odds = (
            BASE_LOG_ODDS + source_effect + country_effect + company_effect + title_effect
            + 1.2 * intent + 0.25 * min(pricing, 3) + 0.3 * min(forms, 2)
            + webinar_weight * min(webinars, 1)
        )  # fmt: skip
        buys = not bot and rng.random() < 1 / (1 + math.exp(-log_odds))
        if buys or rng.random() < 0.18:  # a deal: won, or lost after all
            opened = created + timedelta(days=rng.uniform(10, 45))
            closed = opened + timedelta(days=rng.uniform(7, 60))
            if buys and rng.random() < 0.08:  # a slow buyer: won after the horizon
                closed += timedelta(days=120)
            lead.deal_created_at, lead.deal_closed_at, lead.won = opened, closed, buys
        leads.append(lead)
    return leads


def load(ctx: Context, leads: list[GeneratedLead], *, leaky: bool = False) -> dict[str, uuid.UUID]:
    """Write the history through the services at its real dates; the person id of each lead.
    Deals that would close after now (the clock of the test) stay open."""
    company_ids: dict[str, uuid.UUID] = {}
    for lead in leads:
        if lead.company not in company_ids:
            made = companies.create(
                ctx, CompanyIn(name=lead.company, industry=lead.industry, size=lead.size)
            )
            company_ids[lead.company] = made.id
    ids: dict[str, uuid.UUID] = {}
    for start in range(0, len(leads), 500):
        batch = leads[start : start + 500]
        items: list[PersonIn | dict[str, object]] = [
            PersonIn(
                first_name=lead.first_name, email=lead.email, job_title=lead.job_title,
                company_id=company_ids[lead.company],
                source="Existing customer" if leaky and lead.won else lead.source,
                addresses=[Address(country=lead.country)], external_id=lead.key,
            )
            for lead in batch
        ]  # fmt: skip
        outcome = bulk.bulk_upsert(ctx, items)
        for lead, result in zip(batch, outcome.results, strict=True):
            assert result.id is not None, result.errors
            ids[lead.key] = result.id
            people.backdate_creation(ctx, result.id, lead.created_at)
    activities = [
        ActivityIn(
            kind=event.kind, occurred_at=event.at, subject=event.subject or None,  # type: ignore[arg-type]
            person_id=ids[lead.key], external_id=f"{lead.key}-{n}", source="marketing_tool",
        )
        for lead in leads
        for n, event in enumerate(lead.events)
    ]  # fmt: skip
    for start in range(0, len(activities), 2000):
        outcome = timeline.ingest_many(ctx, activities[start : start + 2000])
        bad = [r for r in outcome.results if r.status != "created"]
        assert not bad, bad[:3]
    pipeline = pipelines.create(
        ctx,
        PipelineIn(
            name="New business",
            stages=[
                StageIn(name="Qualified", probability=20),
                StageIn(name="Won", probability=100, is_won=True),
                StageIn(name="Lost", probability=0, is_lost=True),
            ],
        ),
    )
    now = datetime.now(UTC)
    for lead in leads:
        if lead.deal_created_at is None or lead.deal_closed_at is None:
            continue
        deal = deals.create(
            ctx,
            DealIn(
                title=f"{lead.company} - {lead.key}", currency="EUR", pipeline_id=pipeline.id,
                person_id=ids[lead.key], created_at=lead.deal_created_at,
            ),
        )  # fmt: skip
        if lead.deal_closed_at < now:
            close = deals.mark_won if lead.won else deals.mark_lost
            close(ctx, deal.id, reason=None, closed_at=lead.deal_closed_at)
    return ids


@dataclass
class LaterPeriod:
    """The leads created in the last three months, each as of its first two weeks, labelled
    by a win within the horizon (known today: the generated deals closed in the past)."""

    person_ids: list[uuid.UUID]
    labels: list[int]
    as_of: dict[uuid.UUID, datetime]


def later_period(ctx: Context) -> LaterPeriod:
    every = predictive.examples(ctx, utcnow())
    observe = timedelta(days=predictive.OBSERVATION_DAYS)
    ids = [pid for pid in every.person_ids if every.as_of[pid] - observe >= CUTOFF]
    labels = dict(zip(every.person_ids, every.labels, strict=True))
    return LaterPeriod(ids, [labels[p] for p in ids], {p: every.as_of[p] for p in ids})


def later_aucs(ctx: Context, later: LaterPeriod) -> tuple[float, float]:
    """The AUC on the later period of the workspace's model and of its rules, each lead scored
    from what was known at its own as-of instant."""
    probabilities = predictive.probabilities(ctx, later.person_ids, as_of=later.as_of)
    rules = scoring.score_many(ctx, later.person_ids, as_of=later.as_of)
    predictive_auc = roc_auc_score(later.labels, [probabilities[p][0] for p in later.person_ids])
    rules_auc = roc_auc_score(later.labels, [rules[p].score for p in later.person_ids])
    return float(predictive_auc), float(rules_auc)


def rules_from_the_data(ctx: Context) -> list[str]:
    """Create the rules suggested by the training period's lifts; their names and points."""
    suggested = predictive.suggested_rules(ctx, CUTOFF)
    for rule in suggested:
        scoring.create_rule(ctx, rule)
    return [f"{r.name}: {r.points}" for r in suggested]


if __name__ == "__main__":  # a summary of the generated set
    made = make_leads()
    won = sum(lead.won for lead in made)
    events = sum(len(lead.events) for lead in made)
    print(f"{len(made)} leads, {won} won ({won / len(made):.1%}), {events} events")
