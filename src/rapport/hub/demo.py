"""A realistic demo workspace, the same every time (Faker and random with a fixed seed).

Companies with people, a sales team owning them, and two years of interactions whose shape
later analytics can find: customers buy at their own rate and some stop (a BG/NBD-like
process with Gamma-distributed spend), leads get emails and visits, churned customers fall
silent. Everything is written through the services' bulk paths, so it is audited and indexed
like real data.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from faker import Faker
from sqlalchemy.orm import Session

from rapport.accounts import service as accounts
from rapport.core import jobs, registry
from rapport.core.clock import utcnow
from rapport.core.context import Context, system_context
from rapport.core.permissions import Role
from rapport.core.registry import DemoMade, DemoSeed, resolve
from rapport.hub.schemas import CompanyIn, FieldDefinitionIn
from rapport.hub.service import bulk, companies, fields, timeline

INDUSTRIES = [
    "Software",
    "Retail",
    "Manufacturing",
    "Healthcare",
    "Finance",
    "Education",
    "Logistics",
    "Hospitality",
    "Media",
    "Energy",
]
TEAM = [
    ("Sam Rivera", "sam"),
    ("Priya Patel", "priya"),
    ("Jonas Berg", "jonas"),
    ("Amara Okafor", "amara"),
]
FREE_MAIL = ["gmail.com", "outlook.com", "proton.me", "yahoo.com"]
PASSWORD = "rapport-demo-2026"
Progress = Callable[[str, int], None]


@dataclass
class DemoResult:
    workspace_id: uuid.UUID
    slug: str
    owner_email: str
    password: str
    companies: int
    people: int
    activities: int
    deals: int = 0
    duplicates: int = 0


def _phone(rng: random.Random, country: str) -> str | None:
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return None
    national = str(example.national_number)
    for _ in range(5):
        digits = national[:3] + "".join(rng.choice("0123456789") for _ in national[3:])
        candidate = phonenumbers.parse(f"+{example.country_code}{digits}")
        if phonenumbers.is_valid_number(candidate):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def create_demo(
    session: Session,
    *,
    name: str = "Demo",
    people: int = 2000,
    company_count: int = 300,
    activities: int = 30_000,
    seed: int = 42,
    progress: Progress | None = None,
    deals: int | None = None,
) -> DemoResult:
    """Seed a new workspace; ``progress(stage, n)`` is told how far each stage got. Then each
    registered domain's demo step runs (``Domain.demo``): sales makes ``deals`` deals (600,
    fewer for a small demo) and plants duplicates, and hygiene's duplicate scan fills the
    review queue with them."""
    tick = progress or (lambda _stage, _n: None)
    rng = random.Random(seed)
    # Names and places from five countries; the words people write stay in English.
    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "nl_NL"])
    fake.seed_instance(seed)
    words = Faker("en_US")
    words.seed_instance(seed)
    workspace = accounts.create_workspace(session, name)
    owner_email = f"owner@{workspace.slug}.rapport.test"
    owner = accounts.create_user(
        session, workspace, email=owner_email, password=PASSWORD, name="Demo Owner", role=Role.OWNER
    )
    team = [
        accounts.create_user(
            session,
            workspace,
            email=f"{handle}@{workspace.slug}.rapport.test",
            password=PASSWORD,
            name=full,
            role=Role.MEMBER,
        ).id
        for full, handle in TEAM
    ]
    session.info["workspace_id"] = workspace.id
    session.info["unscoped"] = False
    ctx = system_context(session, workspace.id)
    ctx.user_id = owner.id
    _define_fields(ctx)
    company_rows = _companies(ctx, fake, rng, company_count, team, tick)
    person_ids, profiles = _people(ctx, fake, words, rng, people, company_rows, team, tick)
    made = _activities(ctx, words, rng, activities, person_ids, profiles, tick)
    deal_count = deals if deals is not None else demo_deals(people)
    # Then each other registered domain's step, in registry order (sales, then hygiene's scan).
    step_seed = DemoSeed(rng, owner.id, team, people=people, deals=deal_count, progress=tick)
    steps: list[DemoMade] = [
        resolve(domain.demo)(ctx, step_seed)
        for domain in registry.domains()
        if domain.demo is not None and domain.name != "hub"
    ]
    # Seeding scored every lead itself (seed_sales trains, then rescores): the events it wrote
    # need no consumer, and a first `make run` must not meet a backlog that locks SQLite.
    jobs.settle_seeded(session, workspace.id)
    return DemoResult(
        workspace.id,
        workspace.slug,
        owner_email,
        PASSWORD,
        len(company_rows),
        len(person_ids) + sum(s.people for s in steps),
        made + sum(s.activities for s in steps),
        sum(s.deals for s in steps),
        sum(s.duplicates for s in steps),
    )


def demo_deals(people: int) -> int:
    """600 deals for the full demo, fewer for a small one (about one per three people)."""
    return max(10, min(600, people * 3 // 10))


def _define_fields(ctx: Context) -> None:
    for definition in (
        FieldDefinitionIn(
            object_type="person",
            key="plan",
            label="Plan",
            field_type="select",
            options=["free", "starter", "pro", "enterprise"],
        ),
        FieldDefinitionIn(object_type="person", key="nps", label="Last NPS", field_type="number"),
        FieldDefinitionIn(
            object_type="person", key="newsletter", label="Newsletter", field_type="boolean"
        ),
        FieldDefinitionIn(
            object_type="company", key="arr", label="ARR", field_type="money", currency="EUR"
        ),
    ):
        fields.create_definition(ctx, definition)


def _companies(
    ctx: Context,
    fake: Faker,
    rng: random.Random,
    count: int,
    team: list[uuid.UUID],
    tick: Progress,
) -> list[tuple[uuid.UUID, str, str]]:
    rows: list[tuple[uuid.UUID, str, str]] = []
    used: set[str] = set()
    for i in range(count):
        company_name = fake.unique.company()
        base = "".join(c for c in company_name.lower() if c.isalnum())[:20] or f"company{i}"
        domain = f"{base}.{rng.choice(['com', 'io', 'co', 'net', 'eu'])}"
        while domain in used:
            domain = f"{base}{rng.randint(2, 99)}.com"
        used.add(domain)
        country = rng.choice(["US", "GB", "DE", "FR", "NL"])
        company = companies.create(
            ctx,
            CompanyIn(
                name=company_name,
                domain=domain,
                industry=rng.choice(INDUSTRIES),
                size=int(rng.lognormvariate(4, 1.4)) + 1,
                website=f"https://www.{domain}",
                address={"city": fake.city(), "country": country},
                owner_id=rng.choice(team),
                tags=rng.sample(["partner", "enterprise", "smb", "prospect"], k=rng.randint(0, 2)),
                custom={"arr": {"amount": str(rng.randint(5, 900) * 1000), "currency": "EUR"}},
            ),
        )
        rows.append((company.id, domain, country))
        tick("companies", 1)
    return rows


@dataclass
class _Profile:
    stage: str
    created: datetime
    rate: float  # purchases per day while alive
    churn_at: datetime | None
    spend: float  # mean order value


def _people(
    ctx: Context,
    fake: Faker,
    words: Faker,
    rng: random.Random,
    count: int,
    company_rows: list[tuple[uuid.UUID, str, str]],
    team: list[uuid.UUID],
    tick: Progress,
) -> tuple[list[uuid.UUID], list[_Profile]]:
    now = utcnow()
    items: list[dict[str, Any]] = []
    profiles: list[_Profile] = []
    for i in range(count):
        first, last = fake.first_name(), fake.last_name()
        company = rng.choice(company_rows) if rng.random() < 0.75 else None
        slug = "".join(
            c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == ".")
        )
        slug = re.sub(r"\.+", ".", slug).strip(".") or "person"
        domain = company[1] if company else rng.choice(FREE_MAIL)
        email = f"{slug}{i}@{domain}"
        country = company[2] if company else rng.choice(["US", "GB", "DE", "FR", "NL"])
        stage = rng.choices(
            ["customer", "lead", "subscriber", "churned", "opportunity", "evangelist"],
            weights=[38, 25, 12, 15, 7, 3],
        )[0]
        created = now - timedelta(days=rng.uniform(0, 730))
        bought = stage in ("customer", "churned", "evangelist")
        churn_at = None
        if stage == "churned":
            churn_at = created + (now - created) * rng.uniform(0.2, 0.8)
        profiles.append(
            _Profile(
                stage,
                created,
                rng.gammavariate(0.8, 1 / 40) if bought else 0.0,
                churn_at,
                rng.gammavariate(4, 30),
            )
        )
        items.append(
            {
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": _phone(rng, country),
                "job_title": words.job()[:200],
                "company_id": company[0] if company else None,
                "owner_id": rng.choice(team),
                "lifecycle_stage": stage,
                "source": rng.choice(["web", "referral", "event", "import", "ads"]),
                "addresses": [{"city": fake.city(), "country": country}],
                "tags": rng.sample(
                    ["vip", "newsletter", "beta", "partner", "webinar"], k=rng.randint(0, 2)
                ),
                "preferences": {
                    "email": rng.choice(["opted_in", "opted_in", "unknown", "opted_out"])
                },
                "consent_status": rng.choice(
                    ["granted", "granted", "unknown", "pending", "withdrawn"]
                ),
                "custom": {
                    "plan": rng.choice(["free", "starter", "pro", "enterprise"]),
                    "newsletter": rng.random() < 0.6,
                },
            }
        )
    ids: list[uuid.UUID] = []
    for start in range(0, len(items), 500):
        outcome = bulk.bulk_upsert(ctx, items[start : start + 500])  # type: ignore[arg-type]
        failed = [r for r in outcome.results if r.status == "error"]
        if failed:
            raise RuntimeError(f"demo person rejected: {failed[0].errors}")
        ids.extend(r.id for r in outcome.results if r.id is not None)
        tick("people", len(outcome.results))
    return ids, profiles


SUBJECTS = {
    "email": [
        "Quick question about pricing",
        "Re: your trial",
        "Invoice {n}",
        "Following up",
        "Meeting notes",
        "Welcome aboard!",
    ],
    "call": ["Discovery call", "Renewal call", "Support follow-up", "Intro call"],
    "meeting": ["Quarterly review", "Demo", "Onboarding session", "Contract negotiation"],
    "chat": ["Chat: shipping question", "Chat: login help", "Chat: feature request"],
    "social": ["Mentioned us on LinkedIn", "Replied on X", "Instagram DM"],
    "visit": ["Visited the Amsterdam store", "Visited the Berlin store", "Pop-up store visit"],
    "note": ["Prefers email over calls", "Decision maker is the CFO", "Asked for a case study"],
}


def _activities(
    ctx: Context,
    words: Faker,
    rng: random.Random,
    target: int,
    person_ids: list[uuid.UUID],
    profiles: list[_Profile],
    tick: Progress,
) -> int:
    now = utcnow()
    items: list[dict[str, Any]] = []
    order = 0
    # Purchases first: each buyer orders as a Poisson process until they churn.
    for person_id, profile in zip(person_ids, profiles, strict=True):
        if profile.rate <= 0:
            continue
        moment = profile.created
        end = profile.churn_at or now
        while True:
            moment += timedelta(days=rng.expovariate(profile.rate) if profile.rate else 9999)
            if moment >= end or len(items) >= target * 0.35:
                break
            order += 1
            amount = Decimal(str(round(rng.gammavariate(3, profile.spend / 3), 2)))
            items.append(
                {
                    "kind": "purchase",
                    "direction": "inbound",
                    "occurred_at": moment,
                    "subject": f"Order #{10000 + order}",
                    "person_id": person_id,
                    "amount": str(max(amount, Decimal("1.00"))),
                    "currency": "EUR",
                    "source": "demo-shop",
                    "external_id": f"order-{order}",
                }
            )
    kinds = ["email", "call", "meeting", "chat", "social", "visit", "note"]
    weights = [45, 15, 8, 12, 6, 6, 8]
    while len(items) < target:
        index = rng.randrange(len(person_ids))
        profile = profiles[index]
        kind = rng.choices(kinds, weights=weights)[0]
        span_end = profile.churn_at or now
        seconds = max((span_end - profile.created).total_seconds(), 3600)
        moment = profile.created + timedelta(seconds=seconds * math.sqrt(rng.random()))
        subject = rng.choice(SUBJECTS[kind]).format(n=rng.randint(1000, 9999))
        items.append(
            {
                "kind": kind,
                "direction": rng.choice(["inbound", "outbound"]) if kind != "note" else "internal",
                "occurred_at": moment,
                "subject": subject,
                "body": words.paragraph(nb_sentences=3),
                "person_id": person_ids[index],
            }
        )
    made = 0
    for start in range(0, len(items), 1000):
        outcome = timeline.ingest_many(ctx, items[start : start + 1000])
        failed = [r for r in outcome.results if r.status == "error"]
        if failed:
            raise RuntimeError(f"demo activity rejected: {failed[0].errors}")
        made += outcome.count("created")
        tick("activities", len(outcome.results))
    return made
