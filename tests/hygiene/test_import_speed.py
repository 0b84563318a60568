"""The import's fast path writes exactly what the ordinary services write: the same people,
contacts, search documents and postings, found by search with a typo; and its shortcuts
(bulk ids, accent stripping by one regular expression) give the general answers."""

from __future__ import annotations

import pickle
import unicodedata
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from rapport.core.context import Context, system_context
from rapport.core.db import transaction
from rapport.core.search import SearchDocument, normalise, search
from rapport.core.search.terms import SearchPosting
from rapport.hub.models import Company, Person
from rapport.hub.schemas import PersonIn
from rapport.hub.service import people, people_bulk
from rapport.hygiene.service import import_people, importing, runner
from rapport.hygiene.service.cleaning import CleanRow, clean_record

RECORD = {
    "First": "Zoë",
    "Last": "Ångström-Nils",
    "Mail": "Zoe.Angstrom@Example.com",
    "Tel": "+47 22 12 34 56",
    "Org": "Fjordvik Labs",
    "Title": "Chief Tinkerer",
    "Ext": "CRM-77",
    "Town": "Oslo",
    "Land": "Norway",
    "Stage": "customer",
}
MAPPING = {
    "First": "first_name",
    "Last": "last_name",
    "Mail": "email",
    "Tel": "phone",
    "Org": "company",
    "Title": "job_title",
    "Ext": "external_id",
    "Town": "city",
    "Land": "country",
    "Stage": "lifecycle_stage",
}


def _reference_normalise(value: str) -> str:
    """The original per-character definition."""
    import re

    if not value.isascii():
        value = unicodedata.normalize("NFKD", value)
        value = "".join(c for c in value if not unicodedata.combining(c))
    return re.sub(r"[^\w@.+]+", " ", value.lower()).strip()


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_normalise_gives_the_per_character_answer(value: str) -> None:
    assert normalise(value) == _reference_normalise(value)


def test_accents_are_stripped_and_other_scripts_kept() -> None:
    assert normalise("Crème Brûlée · Łódź Δημήτρης") == "creme brulee łodz δημητρης"


def test_bulk_ids_are_increasing_unique_uuid7() -> None:
    first, second = people_bulk.hex_ids(5000), people_bulk.hex_ids(3)
    ids = [uuid.UUID(h) for h in first + second]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert first == sorted(first) and len(set(first + second)) == len(ids)


def _postgres(ctx: Context) -> bool:
    return ctx.session.get_bind().dialect.name == "postgresql"


def _by_email(ctx: Context, email: str) -> uuid.UUID:
    found = ctx.session.scalar(select(Person.id).where(Person.email == email))
    assert found is not None
    return found


def _person_state(ctx: Context, person_id: uuid.UUID) -> dict[str, Any]:
    person = people.get(ctx, person_id)
    fields = ("first_name", "last_name", "full_name", "email", "phone", "job_title", "source")
    fields += ("external_id", "lifecycle_stage", "addresses", "preferences", "custom")
    fields += ("consent_status", "version", "company_id", "deleted_at", "owner_id")
    state = {f: getattr(person, f) for f in fields}
    state["created_at.tz"] = person.created_at.tzinfo is not None
    state["emails"] = [(e.email, e.is_primary, e.position, e.label) for e in person.emails]
    state["phones"] = [(p.number, p.is_primary, p.position, p.label) for p in person.phones]
    return state


def _document(ctx: Context, person_id: uuid.UUID) -> tuple[Any, ...]:
    doc = ctx.session.execute(
        select(
            SearchDocument.doc_id,
            SearchDocument.title,
            SearchDocument.subtitle,
            SearchDocument.content,
        ).where(SearchDocument.record_id == person_id)
    ).one()
    terms = ctx.session.scalars(
        select(SearchPosting.term).where(SearchPosting.doc_id == doc[0]).order_by("term")
    ).all()
    return (*doc[1:], list(terms))


def test_an_imported_person_is_stored_as_the_service_stores_one(ada_ctx: Context) -> None:
    job = importing.create_job(ada_ctx, filename="one.csv", fmt="csv", mapping=MAPPING)
    importing.load_batch(ada_ctx, job, [(2, RECORD)])
    assert (job.created, job.rejected) == (1, 0)
    imported = people.get(ada_ctx, _by_email(ada_ctx, "zoe.angstrom@example.com"))
    company_id = imported.company_id
    assert company_id is not None
    # The same person through the hub's service, for comparison (another email).
    made = people.create(
        ada_ctx,
        PersonIn.model_validate(
            {
                "first_name": "Zoë",
                "last_name": "Ångström-Nils",
                "emails": [{"email": "zoe.twin@example.com"}],
                "phones": [{"number": "+47 22 12 34 57"}],
                "job_title": "Chief Tinkerer",
                "company_id": company_id,
                "external_id": "CRM-78",
                "lifecycle_stage": "customer",
                "addresses": [{"city": "Oslo", "country": "NO"}],
            }
        ),
    )
    ours, theirs = _person_state(ada_ctx, imported.id), _person_state(ada_ctx, made.id)
    differ = {"email", "phone", "external_id", "emails", "phones"}
    assert {k: v for k, v in ours.items() if k not in differ} == {
        k: v for k, v in theirs.items() if k not in differ
    }
    assert ours["emails"] == [("zoe.angstrom@example.com", True, 0, None)]
    assert ours["phones"] == [("+4722123456", True, 0, None)]
    assert (ours["external_id"], ours["version"]) == ("CRM-77", 1)
    doc, twin = _document(ada_ctx, imported.id), _document(ada_ctx, made.id)
    assert doc[0] == twin[0] and doc[3] == twin[3] == ["angstrom", "nils", "zoe"]
    assert doc[2].replace("zoe.angstrom@example.com", "@").replace("4722123456", "#") == twin[
        2
    ].replace("zoe.twin@example.com", "@").replace("4722123457", "#")


def test_imported_people_are_found_with_a_typo_by_name_email_and_phone(
    ada_ctx: Context,
) -> None:
    job = importing.create_job(ada_ctx, filename="many.csv", fmt="csv", mapping=MAPPING)
    records = [
        (line, {**RECORD, "First": f"Quillon{line}", "Mail": f"q{line}@example.com", "Ext": ""})
        for line in range(2, 40)
    ]
    importing.load_batch(ada_ctx, job, records)
    assert job.created == 38
    wanted = _by_email(ada_ctx, "q17@example.com")

    def found(q: str) -> list[uuid.UUID]:
        return [h.record_id for h in search(ada_ctx.session, ada_ctx.workspace_id, q)]

    assert wanted in found("quillon17 angstrom")
    assert wanted in found("quilon17 angstrom")  # a letter missing
    assert found("q17@example.com")[0] == wanted
    if not _postgres(ada_ctx):
        # Every new document is in the trigram index, under its own row id.
        missing = ada_ctx.session.execute(
            text(
                "SELECT COUNT(*) FROM search_documents d WHERE NOT EXISTS "
                "(SELECT 1 FROM search_fts WHERE search_fts MATCH 'ws:\"' || "
                "substr(d.workspace_id, 1, 3) || '\"' AND search_fts.rowid = d.doc_id)"
            )
        ).scalar()
        assert missing == 0


def test_a_rerun_changes_nothing_and_a_second_file_adds_alongside(ada_ctx: Context) -> None:
    job = importing.create_job(ada_ctx, filename="a.csv", fmt="csv", mapping=MAPPING)
    importing.load_batch(ada_ctx, job, [(2, RECORD)])
    again = importing.create_job(ada_ctx, filename="a.csv", fmt="csv", mapping=MAPPING)
    other = {**RECORD, "Mail": "other@example.com", "Ext": "CRM-99"}
    importing.load_batch(ada_ctx, again, [(2, RECORD), (3, other), (4, other)])
    assert (again.created, again.unchanged, again.rejected) == (1, 1, 1)
    reasons = ada_ctx.session.execute(
        text("SELECT line, reason FROM import_rejects WHERE import_id = :j"),
        {
            "j": again.id
            if ada_ctx.session.get_bind().dialect.name == "postgresql"
            else again.id.hex
        },
    ).all()
    # the later of two rows for one person wins: the earlier is reported as replaced
    assert [tuple(r) for r in reasons] == [
        (3, "replaced by line 4, which has the same email (the later line wins)")
    ]


def test_a_clean_row_reaches_the_writer_whole() -> None:
    """Batches cross from the validating worker to the writer pickled: every field of a row,
    custom-field and tag cells included, must arrive as it left."""
    mapping = {"First": "first_name", "Mail": "email", "Tier": "custom.tier", "Tags": "tags"}
    raw = {"First": "ada", "Mail": "Ada@Example.com", "Tier": "gold", "Tags": "vip; beta"}
    row = clean_record(7, raw, mapping, region="US")
    assert isinstance(row, CleanRow) and row.extras
    people_bulk.prepare([row])
    assert row.prepared is not None
    back = pickle.loads(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == row


def test_analysed_people_are_read_by_primary_key(ada_ctx: Context) -> None:
    """An import analyses the tables it reads. Without statistics SQLite read "these ids of
    this workspace" through a workspace index, every person of the workspace per lookup (a
    1M-row rerun crawled); analysed, the primary key serves the lookup."""
    session = ada_ctx.session
    job = importing.create_job(ada_ctx, filename="many.csv", fmt="csv", mapping=MAPPING)
    records = [(n, {**RECORD, "Mail": f"p{n}@example.com", "Ext": f"X{n}"}) for n in range(400)]
    importing.load_batch(ada_ctx, job, records)
    runner.analyze_people(session)
    if session.get_bind().dialect.name == "postgresql":
        analysed = session.execute(
            text("SELECT count(*) FROM pg_stats WHERE tablename = 'people'")
        ).scalar()
        assert analysed
        return
    ids = [r.hex for r in session.scalars(select(Person.id).limit(40))]
    marks = ", ".join("?" * len(ids))
    plan = (
        session.connection()
        .exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM people WHERE workspace_id = ? "
            f"AND deleted_at IS NULL AND id IN ({marks})",
            (ada_ctx.workspace_id.hex, *ids),
        )
        .all()
    )
    detail = " ".join(str(row[-1]) for row in plan)
    assert "(id=?)" in detail, detail


def test_statistics_are_gathered_once_the_first_batch_is_in(
    connection: Any, cast: Any, monkeypatch: Any
) -> None:
    """A first batch left short of the batch size by a reject still triggers the analysis
    (without it, PostgreSQL planned the next batch's lookups as full scans). The batches'
    transactions ride on the test's connection, rolled back at its end."""
    analysed: list[int] = []
    monkeypatch.setattr(runner, "ANALYZE_AFTER", 10)
    monkeypatch.setattr(runner, "analyze_people", lambda session=None: analysed.append(1))
    with transaction(cast.acme) as session:
        ctx = system_context(session, cast.acme)
        job_id = importing.create_job(ctx, filename="s.csv", fmt="csv", mapping=MAPPING).id
    tag = uuid.uuid4().hex[:8]
    records = [
        (line, {**RECORD, "Mail": f"s{line}.{tag}@example.com", "Ext": ""}) for line in range(2, 42)
    ]
    records[3][1]["Mail"] = "not-an-email"
    batches = [
        (chunk[-1][0], len(chunk), import_people.clean_batch(chunk, MAPPING, "NO"))
        for chunk in (records[:20], records[20:])
    ]
    seen: list[int] = []
    runner._load(cast.acme, job_id, iter(batches), 20, lambda line: seen.append(len(analysed)))
    assert seen == [1, 1]  # analysed after the first batch (19 people), not again


def test_a_company_named_with_an_accented_capital_is_matched_not_made_again(
    ada_ctx: Context,
) -> None:
    """People are linked to their company by its name, case-insensitively: on SQLite an
    accented capital ("Étienne") never matched, and every rerun made one more company."""
    records = [(2, {**RECORD, "Org": "Étienne Ateliers"}), (3, {**RECORD, "Mail": "b@ex.com",
               "Ext": "", "Org": "ÉTIENNE ATELIERS"})]  # fmt: skip
    for _run in range(2):
        job = importing.create_job(ada_ctx, filename="e.csv", fmt="csv", mapping=MAPPING)
        importing.load_batch(ada_ctx, job, records)
    assert (job.created, job.updated, job.unchanged) == (0, 0, 2)
    named = ada_ctx.session.scalars(
        select(Company.id).where(Company.name.in_(["Étienne Ateliers", "ÉTIENNE ATELIERS"]))
    ).all()
    assert len(named) == 1
