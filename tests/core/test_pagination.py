"""Keyset pagination: cursors round-trip, sorts parse, and walking pages visits every row once."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Index, Numeric, String, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from rapport.core.db import UTCDateTime, make_engine
from rapport.core.errors import BadRequest, Invalid
from rapport.core.pagination import (
    BAD_CURSOR,
    SortKey,
    decode_cursor,
    encode_cursor,
    keyset_page,
    parse_sort,
)

PG_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


class Model(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class Row(Model):
    __tablename__ = "page_rows"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    score: Mapped[int | None]
    label: Mapped[str | None] = mapped_column(String(5))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    ratio: Mapped[float | None]
    flag: Mapped[bool | None]
    day: Mapped[date | None]
    __table_args__ = (Index("ix_page_rows_name_id", "name", "id"),)


SORTABLE = {
    "name": Row.name,
    "at": Row.at,
    "score": Row.score,
    "label": Row.label,
    "amount": Row.amount,
    "ratio": Row.ratio,
    "flag": Row.flag,
    "day": Row.day,
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A throwaway database: SQLite by default, PostgreSQL when the environment names one."""
    if not PG_URL.startswith("postgresql"):
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('pages') / 'pages.db'}")
        Model.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"rapport_helper_pagination_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(False))
    try:
        Model.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture()
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
        session.rollback()


def _reference_order(sort: list[SortKey]) -> list[Any]:
    """The plain ORDER BY the pages must follow: NULLs last ascending, first descending."""
    terms: list[Any] = []
    for key in sort:
        terms.append(
            key.column.desc().nulls_first() if key.descending else key.column.asc().nulls_last()
        )
    last_desc = sort[-1].descending if sort else False
    terms.append(Row.id.desc() if last_desc else Row.id.asc())
    return terms


def _walk(session: Session, sort: list[SortKey], limit: int, **kw: Any) -> list[uuid.UUID]:
    seen: list[uuid.UUID] = []
    cursor = None
    for _ in range(1000):
        page = keyset_page(
            session, select(Row), sort=sort, id_column=Row.id, limit=limit, cursor=cursor, **kw
        )
        assert len(page.items) <= limit
        seen += [row.id for row in page.items]
        if not page.has_more:
            assert page.next_cursor is None
            return seen
        assert page.next_cursor is not None and len(page.items) == limit
        cursor = page.next_cursor
    raise AssertionError("pages never ended")


def test_cursor_round_trips_every_supported_type() -> None:
    values = [
        None, True, False, 0, -(2**40), 0.1, -2.5, Decimal("12.50"), Decimal("-0.001"),
        "Zoë, \"quoted\"", "", uuid.UUID("0190a0e8-7c4e-7000-8000-000000000001"),
        datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC), date(2024, 2, 29),
    ]  # fmt: skip
    cursor = encode_cursor(values)
    assert all(c.isalnum() or c in "-_" for c in cursor)
    decoded = decode_cursor(cursor, len(values))
    assert decoded == values
    assert [type(v) for v in decoded] == [type(v) for v in values]
    assert str(decoded[7]) == "12.50" and decoded[12].tzinfo is not None


def test_naive_datetimes_stay_out_of_cursors() -> None:
    with pytest.raises(TypeError, match="naive"):
        encode_cursor([datetime(2025, 1, 1)])


def _raw(items: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(items).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!not base64!!!",
        _raw({"a": 1}),
        _raw([["i", 1]]),  # one value where two are expected
        _raw([["i", 1], ["x", 2]]),
        _raw([["i", "1"], ["s", "a"]]),
        _raw([["i", True], ["s", "a"]]),
        _raw([["i", 2**70], ["s", "a"]]),
        _raw([["d", "NaN"], ["s", "a"]]),
        _raw([["f", "inf"], ["s", "a"]]),
        _raw([["u", "not-a-uuid"], ["s", "a"]]),
        _raw([["t", "yesterday"], ["s", "a"]]),
        _raw([["t", "2025-01-01T00:00:00"], ["s", "a"]]),  # naive
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A" * 5000,
    ],
)
def test_malformed_cursor_is_a_bad_request(cursor: str) -> None:
    with pytest.raises(BadRequest, match=BAD_CURSOR):
        decode_cursor(cursor, 2)


def test_parse_sort_reads_names_and_directions() -> None:
    assert [(k.name, k.descending) for k in parse_sort(None, SORTABLE, "-at")] == [("at", True)]
    keys = parse_sort(" score , -name ", SORTABLE, "at")
    assert [(k.name, k.descending) for k in keys] == [("score", False), ("name", True)]
    assert keys[0].column is Row.score


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nmae", "cannot sort by 'nmae'; choose from: amount, at, day, flag, label, name"),
        ("name,", "cannot sort by an empty name"),
        ("--name", "cannot sort by '-name'"),
        ("name,-name", "'name' appears more than once"),
        ("name,at,score,label,ratio,day", "at most 5"),
    ],
)
def test_parse_sort_refuses_what_the_list_does_not_offer(spec: str, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_sort(spec, SORTABLE, "name")
    assert caught.value.errors[0].loc == ("sort",)
    assert message in caught.value.errors[0].message


def _add_rows(session: Session, count: int) -> list[Row]:
    rows = [
        Row(name=f"n{i % 4}", at=T0 + timedelta(hours=i % 3), score=None if i % 5 == 0 else i % 3,
            label=None if i % 2 else "x", amount=Decimal(i % 4) / 4, ratio=i / 7, flag=i % 3 == 0,
            day=None if i % 3 else date(2025, 1, 1 + i % 2))
        for i in range(count)
    ]  # fmt: skip
    session.add_all(rows)
    session.flush()
    return rows


@pytest.mark.parametrize("spec", ["name", "-name", "score,-at", "-label,amount", "-day,flag,ratio"])
def test_pages_follow_the_plain_order(session: Session, spec: str) -> None:
    _add_rows(session, 23)
    sort = parse_sort(spec, SORTABLE, "name")
    expected = list(session.scalars(select(Row.id).order_by(*_reference_order(sort))))
    for limit in (1, 4, 23, 50):
        assert _walk(session, sort, limit) == expected


def test_first_page_reports_more_and_last_page_does_not(session: Session) -> None:
    _add_rows(session, 5)
    sort = parse_sort("name", SORTABLE, "name")
    first = keyset_page(session, select(Row), sort=sort, id_column=Row.id, limit=3, cursor=None)
    assert (len(first.items), first.has_more) == (3, True)
    rest = keyset_page(
        session, select(Row), sort=sort, id_column=Row.id, limit=3, cursor=first.next_cursor
    )
    assert (len(rest.items), rest.has_more, rest.next_cursor) == (2, False, None)
    exact = keyset_page(session, select(Row), sort=sort, id_column=Row.id, limit=5, cursor=None)
    assert (len(exact.items), exact.has_more, exact.next_cursor) == (5, False, None)


def test_a_list_never_counts_and_fetches_one_extra_row(session: Session, engine: Engine) -> None:
    _add_rows(session, 10)
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        _walk(session, parse_sort("-score", SORTABLE, "name"), 4)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3
    assert not any("count(" in s.lower() for s in statements)


def test_cursor_from_another_sort_or_with_wrong_types_is_refused(session: Session) -> None:
    _add_rows(session, 6)
    by_name = parse_sort("name", SORTABLE, "name")
    page = keyset_page(session, select(Row), sort=by_name, id_column=Row.id, limit=2, cursor=None)
    by_score = parse_sort("score", SORTABLE, "name")
    with pytest.raises(BadRequest, match=BAD_CURSOR):
        keyset_page(
            session, select(Row), sort=by_score, id_column=Row.id, limit=2, cursor=page.next_cursor
        )
    forged = encode_cursor(["score", "not a number", uuid.uuid4()])
    with pytest.raises(BadRequest, match=BAD_CURSOR):
        keyset_page(session, select(Row), sort=by_score, id_column=Row.id, limit=2, cursor=forged)
    forged_bool = encode_cursor(["score", True, uuid.uuid4()])
    with pytest.raises(BadRequest, match=BAD_CURSOR):
        keyset_page(
            session, select(Row), sort=by_score, id_column=Row.id, limit=2, cursor=forged_bool
        )
    forged_id = encode_cursor(["score", 3, "not a uuid"])
    with pytest.raises(BadRequest, match=BAD_CURSOR):
        keyset_page(
            session, select(Row), sort=by_score, id_column=Row.id, limit=2, cursor=forged_id
        )


def test_computed_sort_column_uses_row_to_values(session: Session) -> None:
    for name in ["b", "A", "a", "C", "c", "B"]:
        session.add(Row(name=name, at=T0))
    session.flush()
    sort = [SortKey("name_ci", func.lower(Row.name))]
    ids = _walk(session, sort, 2, row_to_values=lambda r: [r.name.lower(), r.id])
    names = [session.get(Row, i).name.lower() for i in ids]  # type: ignore[union-attr]
    assert names == ["a", "a", "b", "b", "c", "c"]


def test_limit_must_be_positive(session: Session) -> None:
    with pytest.raises(ValueError, match="limit"):
        keyset_page(session, select(Row), sort=[], id_column=Row.id, limit=0, cursor=None)


ROWS = st.fixed_dictionaries(
    {
        "name": st.text(alphabet="ab", max_size=2),
        "at": st.sampled_from([T0, T0 + timedelta(microseconds=1), T0 + timedelta(days=400)]),
        "score": st.none() | st.integers(-2, 2),
        "label": st.none() | st.sampled_from(["x", "y"]),
        "amount": st.none() | st.sampled_from([Decimal("-1.50"), Decimal("0.00"), Decimal("2.25")]),
        "ratio": st.none() | st.sampled_from([-0.5, 0.0, 1 / 3]),
        "flag": st.none() | st.booleans(),
        "day": st.none() | st.sampled_from([date(2024, 2, 29), date(2025, 1, 1)]),
    }
)
SORTS = st.lists(
    st.tuples(st.sampled_from(sorted(SORTABLE)), st.booleans()),
    max_size=3,
    unique_by=lambda key: key[0],
)


@settings(
    max_examples=40 if PG_URL.startswith("postgresql") else 80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(ROWS, max_size=20), sort_spec=SORTS, limit=st.integers(1, 6))
def test_paging_visits_every_row_once_in_order(
    engine: Engine, rows: list[dict[str, Any]], sort_spec: list[tuple[str, bool]], limit: int
) -> None:
    with Session(engine) as session:
        session.add_all(Row(**row) for row in rows)
        session.flush()
        sort = [SortKey(name, SORTABLE[name], descending) for name, descending in sort_spec]
        expected = list(session.scalars(select(Row.id).order_by(*_reference_order(sort))))
        assert len(expected) == len(rows)
        assert _walk(session, sort, limit) == expected
        session.rollback()


@pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="EXPLAIN shape is PostgreSQL's")
def test_next_page_starts_the_index_scan_at_the_cursor(session: Session, engine: Engine) -> None:
    _add_rows(session, 300)
    sort = parse_sort("name", SORTABLE, "name")
    first = keyset_page(session, select(Row), sort=sort, id_column=Row.id, limit=10, cursor=None)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        keyset_page(
            session, select(Row), sort=sort, id_column=Row.id, limit=10, cursor=first.next_cursor
        )
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, params = captured[-1]
    connection = session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = "\n".join(r[0] for r in connection.exec_driver_sql("EXPLAIN " + statement, params))
    assert "ix_page_rows_name_id" in plan
    assert "Index Cond: ((name)::text >=" in plan, plan
    assert "Sort" not in plan.split("\n")[1], plan
