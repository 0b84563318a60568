"""PostgreSQL's near-match search step has a time budget: past it the search answers with
what the exact steps found, and the request's transaction carries on."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text

from rapport.core.context import Context
from rapport.core.search import search
from rapport.core.search.index import within_budget
from rapport.hub.schemas import PersonIn
from rapport.hub.service import people

PG_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="statement_timeout is PostgreSQL's"
)


def test_a_step_over_its_budget_gives_up_and_the_transaction_carries_on(
    ada_ctx: Context,
) -> None:
    session = ada_ctx.session
    started = time.perf_counter()
    rows = within_budget(session, 30, "SELECT 1", "SELECT pg_sleep(2)", {})
    assert rows is None
    assert time.perf_counter() - started < 1.5
    assert session.execute(text("SELECT 41 + 1")).scalar() == 42
    assert session.execute(text("SHOW statement_timeout")).scalar() == "0"


def test_a_step_within_its_budget_answers_and_leaves_no_timeout_behind(
    ada_ctx: Context,
) -> None:
    session = ada_ctx.session
    rows = within_budget(session, 2000, "SELECT 1", "SELECT :n * 2", {"n": 21})
    assert rows is not None and rows[0][0] == 42
    assert session.execute(text("SHOW statement_timeout")).scalar() == "0"


def test_other_database_errors_are_not_swallowed(ada_ctx: Context) -> None:
    with pytest.raises(Exception, match="division by zero"):
        within_budget(ada_ctx.session, 2000, "SELECT 1", "SELECT 1 / 0", {})


def test_a_search_for_letters_no_one_has_is_empty_and_the_session_usable(
    ada_ctx: Context,
) -> None:
    person = people.create(ada_ctx, PersonIn(first_name="Grace", last_name="Hopper"))
    assert search(ada_ctx.session, ada_ctx.workspace_id, "qxzjvkw") == []
    hits = search(ada_ctx.session, ada_ctx.workspace_id, "hoper")
    assert [h.record_id for h in hits] == [person.id]
