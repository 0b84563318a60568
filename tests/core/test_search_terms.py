"""The word index behind name search: typo correction against the dictionary, completion of an
unfinished last word, postings that follow the documents, and the backfill of old documents."""

from __future__ import annotations

import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select, text

from rapport.core import migrations
from rapport.core.context import Context
from rapport.core.search import search, terms
from rapport.core.search.terms import SearchPosting, candidate_documents, variants
from rapport.hub.schemas import CompanyIn, PersonIn
from rapport.hub.service import companies, people
from tests.core.test_migrations import empty_engine  # noqa: F401 - a fixture


def _ids(ctx: Context, q: str, types: list[str] | None = None) -> list[uuid.UUID]:
    return [h.record_id for h in search(ctx.session, ctx.workspace_id, q, types=types)]


class TestVariants:
    def test_a_word_and_each_one_letter_deletion(self) -> None:
        assert variants("smith") == {"smith", "mith", "sith", "smth", "smih", "smit"}

    def test_two_letter_words_have_no_shorter_variants(self) -> None:
        assert variants("li") == {"li"}


class TestTypos:
    def test_each_kind_of_typo_finds_the_name(self, ada_ctx: Context) -> None:
        person = people.create(ada_ctx, PersonIn(first_name="Grace", last_name="Hopperton"))
        for typo in ["Hoppreton", "Hoperton", "Hopperrton", "Hopxerton"]:
            assert person.id in _ids(ada_ctx, f"grace {typo}"), typo

    def test_two_typos_in_a_short_word_are_not_a_match(self, ada_ctx: Context) -> None:
        people.create(ada_ctx, PersonIn(first_name="Ola", last_name="Berg"))
        doc_ids = candidate_documents(ada_ctx.session, ada_ctx.workspace_id, "brge", None, 50)
        assert doc_ids == []

    def test_every_word_must_match(self, ada_ctx: Context) -> None:
        both = people.create(ada_ctx, PersonIn(first_name="Linus", last_name="Quarrington"))
        people.create(ada_ctx, PersonIn(first_name="Marta", last_name="Quarrington"))
        assert _ids(ada_ctx, "linus quarington") == [both.id]

    def test_the_exact_spelling_ranks_before_the_near_one(self, ada_ctx: Context) -> None:
        near = people.create(ada_ctx, PersonIn(first_name="Ann", last_name="Velazquex"))
        exact = people.create(ada_ctx, PersonIn(first_name="Ann", last_name="Velazquez"))
        assert _ids(ada_ctx, "velazquez")[:2] == [exact.id, near.id]


class TestCompletion:
    def test_an_unfinished_last_word_is_completed(self, ada_ctx: Context) -> None:
        person = people.create(ada_ctx, PersonIn(first_name="Octavia", last_name="Wrenfield"))
        assert person.id in _ids(ada_ctx, "octavia wrenf")

    def test_only_the_last_word_is_completed(self, ada_ctx: Context) -> None:
        people.create(ada_ctx, PersonIn(first_name="Octavia", last_name="Wrenfield"))
        doc_ids = candidate_documents(
            ada_ctx.session, ada_ctx.workspace_id, "octa wrenfield", None, 50
        )
        assert doc_ids == []


class TestPostingsFollowDocuments:
    def test_a_renamed_person_is_found_by_the_new_name_only(self, ada_ctx: Context) -> None:
        from rapport.hub.schemas import PersonPatch

        person = people.create(ada_ctx, PersonIn(first_name="Nadia", last_name="Oldcastle"))
        people.update(ada_ctx, person.id, PersonPatch(last_name="Newbridge"))
        assert person.id in _ids(ada_ctx, "nadia newbrige")
        assert person.id not in _ids(ada_ctx, "nadia oldcastle")

    def test_a_deleted_person_leaves_no_postings(self, ada_ctx: Context) -> None:
        person = people.create(ada_ctx, PersonIn(first_name="Ivo", last_name="Transient"))
        people.delete(ada_ctx, person.id)
        ada_ctx.session.flush()
        assert person.id not in _ids(ada_ctx, "ivo transient")
        postings = ada_ctx.session.scalar(
            select(func.count())
            .select_from(SearchPosting)
            .where(SearchPosting.workspace_id == ada_ctx.workspace_id)
            .where(SearchPosting.term == "transient")
        )
        assert postings == 0

    def test_types_filter_the_postings(self, ada_ctx: Context) -> None:
        company = companies.create(ada_ctx, CompanyIn(name="Zephyrine Labs"))
        person = people.create(ada_ctx, PersonIn(first_name="Zephyrine", last_name="Moss"))
        assert _ids(ada_ctx, "zephyrine", types=["company"]) == [company.id]
        assert person.id in _ids(ada_ctx, "zephyrine", types=["person"])
        assert company.id not in _ids(ada_ctx, "zephyrine", types=["person"])


class TestSeveralWords:
    """Several words are matched from the rarest one's documents, the others joined when they
    have few postings or few spellings and checked per document otherwise: every way gives
    the documents that hold each word, closest first (here with tiny thresholds, so that a
    dozen people take each way)."""

    NAMES = [("Ivar", "Kestrel"), ("Ivar", "Kestrell"), ("Ivar", "Kesterson"), ("Ivar", "Moor"),
             ("Ivra", "Kestrel"), ("Odile", "Kestrel"), ("Odile", "Kesterson")]  # fmt: skip

    def _names(self, ctx: Context, q: str, limit: int = 50) -> list[str]:
        found = candidate_documents(ctx.session, ctx.workspace_id, q, ["person"], limit) or []
        return [title for _type, _id, title, _subtitle in found]

    def test_every_way_finds_the_same_documents_in_the_same_order(
        self, ada_ctx: Context, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for first, last in self.NAMES:
            people.create(ada_ctx, PersonIn(first_name=first, last_name=last))
        ada_ctx.session.flush()
        queries = {
            "ivar kestrel": ["Ivar Kestrel", "Ivar Kestrell", "Ivra Kestrel"],  # exact first
            "ivar kes": ["Ivar Kesterson", "Ivar Kestrel", "Ivar Kestrell", "Ivra Kestrel"],
            "kestrel odile": ["Odile Kestrel"],
        }
        expected = {q: self._names(ada_ctx, q) for q in queries}
        for q, names in queries.items():
            assert sorted(expected[q]) == sorted(names), q
        assert expected["ivar kestrel"][0] == "Ivar Kestrel"
        for size_cap, spellings in [(1, 0), (1, 9), (100, 0)]:  # probe, join by spellings, join
            monkeypatch.setattr(terms, "SIZE_CAP", size_cap)
            monkeypatch.setattr(terms, "JOIN_SPELLINGS", spellings)
            for q in queries:
                assert self._names(ada_ctx, q) == expected[q], (q, size_cap, spellings)

    def test_exact_spellings_that_fill_the_page_are_the_answer(self, ada_ctx: Context) -> None:
        for first, last in self.NAMES:
            people.create(ada_ctx, PersonIn(first_name=first, last_name=last))
        ada_ctx.session.flush()
        assert self._names(ada_ctx, "ivar kestrel", limit=1) == ["Ivar Kestrel"]
        assert self._names(ada_ctx, "ivar kestrel", limit=3)[0] == "Ivar Kestrel"

    def test_the_rarest_words_documents_are_read_at_most_up_to_the_cap(
        self, ada_ctx: Context, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for first, last in self.NAMES:
            people.create(ada_ctx, PersonIn(first_name=first, last_name=last))
        ada_ctx.session.flush()
        monkeypatch.setattr(terms, "DRIVER_POSTINGS", 1)
        assert len(self._names(ada_ctx, "odile kesterson")) <= 1


class TestIsolation:
    def test_the_dictionary_of_one_workspace_does_not_serve_another(
        self, ada_ctx: Context, dev_ctx: Context
    ) -> None:
        people.create(ada_ctx, PersonIn(first_name="Quintus", last_name="Aldebaran"))
        ada_ctx.session.flush()
        assert (
            candidate_documents(dev_ctx.session, dev_ctx.workspace_id, "aldebaran", None, 9) == []
        )
        assert _ids(dev_ctx, "quintus aldebaran") == []


def test_the_migration_indexes_documents_that_already_exist(
    empty_engine: Engine,  # noqa: F811 - the imported fixture
) -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    before = script.get_revision("0013").down_revision
    assert isinstance(before, str)
    migrations.upgrade(empty_engine, before)
    ws = uuid.uuid4()
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspaces (id, name, slug, settings, created_at, updated_at) "
                "VALUES (:id, 'Old', 'old', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": ws if empty_engine.dialect.name == "postgresql" else ws.hex},
        )
        conn.execute(
            text(
                "INSERT INTO search_documents (workspace_id, record_type, record_id, title, "
                "content, updated_at) VALUES (:ws, 'person', :rid, 'Henrietta Lacksworth', "
                "' henrietta lacksworth ', CURRENT_TIMESTAMP)"
            ),
            {
                "ws": ws if empty_engine.dialect.name == "postgresql" else ws.hex,
                "rid": uuid.uuid4() if empty_engine.dialect.name == "postgresql" else "0" * 32,
            },
        )
    migrations.upgrade(empty_engine)
    from sqlalchemy.orm import Session

    with Session(empty_engine) as session:
        found = candidate_documents(session, ws, "henrieta lacksworth", None, 5)
    assert len(found) == 1
