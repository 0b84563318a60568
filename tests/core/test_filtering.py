"""The filter language: every operator returns exactly the right rows on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    create_engine,
    event,
    exists,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from starlette.datastructures import QueryParams

from rapport.core.db import JSONType, UTCDateTime, make_engine
from rapport.core.errors import Invalid
from rapport.core.filtering import (
    And,
    FieldSet,
    FilterField,
    Node,
    Not,
    Or,
    combine,
    compile_filter,
    filter_to_dict,
    parse_filter,
    parse_query_params,
)

PG_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
OWNER_1 = uuid.UUID("0190a0e8-7c4e-7000-8000-000000000001")
OWNER_2 = uuid.UUID("0190a0e8-7c4e-7000-8000-000000000002")


class Model(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class Item(Model):
    __tablename__ = "filter_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(20))
    score: Mapped[int | None]
    ratio: Mapped[float | None]
    active: Mapped[bool]
    created_at: Mapped[datetime]
    born: Mapped[date | None]
    owner: Mapped[uuid.UUID | None]
    custom: Mapped[dict[str, Any]]


item_tags = Table(
    "filter_item_tags",
    Model.metadata,
    Column("item_id", Integer, ForeignKey("filter_items.id"), primary_key=True),
    Column("tag", String(20), primary_key=True),
)


def _row(**values: Any) -> dict[str, Any]:
    return values


ROWS: dict[str, dict[str, Any]] = {
    "a": _row(name="Ada Lovelace", stage="lead", score=10, ratio=0.5, active=True,
              created_at=datetime(2025, 1, 1, 9, tzinfo=UTC), born=date(1990, 5, 1),
              owner=OWNER_1, tags=["vip", "newsletter"],
              custom={"plan": "gold", "seats": 5, "renewal": "2025-03-01", "vip": True,
                      "langs": ["en", "fr"], "mrr": {"amount": "12.50", "currency": "EUR"},
                      "note": "Likes 100% cotton"}),
    "b": _row(name="Grace Hopper", stage="customer", score=20, ratio=1.5, active=False,
              created_at=datetime(2025, 1, 1, 23, 30, tzinfo=UTC), born=None, owner=OWNER_2,
              tags=["vip"],
              custom={"plan": "silver", "seats": 10.5, "vip": False, "langs": ["de"],
                      "mrr": {"amount": "99.00", "currency": "EUR"}}),
    "c": _row(name=None, stage="lead", score=None, ratio=None, active=True,
              created_at=datetime(2025, 1, 2, tzinfo=UTC), born=date(2000, 1, 1), owner=None,
              tags=[], custom={}),
    "d": _row(name="ada byron", stage="churned", score=30, ratio=2.0, active=False,
              created_at=datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), born=date(1815, 12, 10),
              owner=OWNER_1, tags=["newsletter"],
              custom={"plan": "gold", "seats": 0, "langs": [], "note": "50_50 split"}),
    "e": _row(name="Émile_%", stage="customer", score=0, ratio=-1.0, active=True,
              created_at=datetime(2025, 2, 1, 12, tzinfo=UTC), born=None, owner=None, tags=[],
              custom={"plan": None, "seats": None, "renewal": "2024-12-31",
                      "mrr": {"amount": "12.5", "currency": "USD"}}),
}  # fmt: skip
ALL = frozenset(ROWS)


def _has_tag(op: str, value: Any) -> ColumnElement[bool]:
    tags = value if op == "in" else [value]
    return exists(
        select(1).where(item_tags.c.item_id == Item.id, item_tags.c.tag.in_(tags))
    )  # fmt: skip


FIELDS = FieldSet(
    [
        FilterField("name", "string", Item.name),
        FilterField("stage", "enum", Item.stage, choices=("lead", "customer", "churned")),
        FilterField("score", "integer", Item.score),
        FilterField("ratio", "number", Item.ratio),
        FilterField("active", "boolean", Item.active),
        FilterField("created_at", "datetime", Item.created_at),
        FilterField("born", "date", Item.born),
        FilterField("owner", "uuid", Item.owner),
        FilterField("tag", "tag", build=_has_tag),
    ],
    custom_column=Item.custom,
)
CUSTOM = {"plan": "select", "seats": "number", "renewal": "date", "vip": "boolean",
          "langs": "multiselect", "mrr": "money", "note": "text"}  # fmt: skip


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A throwaway database holding ROWS: SQLite, or PostgreSQL when the environment names one."""
    admin, name = None, ""
    if PG_URL.startswith("postgresql"):
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        name = f"rapport_helper_filtering_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(False))
    else:
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('filters') / 'filters.db'}")
    try:
        Model.metadata.create_all(engine)
        with Session(engine) as session:
            for i, (ref, row) in enumerate(sorted(ROWS.items())):
                values = {k: v for k, v in row.items() if k != "tags"}
                session.add(Item(id=i + 1, ref=ref, **values))
                session.flush()
                for tag in row["tags"]:
                    session.execute(item_tags.insert().values(item_id=i + 1, tag=tag))
            session.commit()
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def _refs(engine: Engine, node: Node | dict[str, Any]) -> set[str]:
    tree = parse_filter(node) if isinstance(node, dict) else node
    where = compile_filter(tree, FIELDS, custom_types=CUSTOM, dialect_name=engine.dialect.name)
    with Session(engine) as session:
        return set(session.scalars(select(Item.ref).where(where)))


def _c(field: str, op: str, value: Any = True) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


CASES: list[tuple[dict[str, Any], str]] = [
    (_c("name", "eq", "Ada Lovelace"), "a"),
    (_c("name", "ne", "Ada Lovelace"), "bcde"),
    (_c("name", "contains", "ADA"), "ad"),
    (_c("name", "contains", "%"), "e"),
    (_c("name", "contains", "_"), "e"),
    (_c("name", "startswith", "gR"), "b"),
    (_c("name", "in", ["Grace Hopper", "ada byron", "nobody"]), "bd"),
    (_c("name", "nin", ["Grace Hopper"]), "acde"),
    (_c("name", "is_null", True), "c"),
    (_c("name", "is_null", "false"), "abde"),
    (_c("stage", "eq", "lead"), "ac"),
    (_c("stage", "in", "lead,churned"), "acd"),
    (_c("stage", "nin", ["lead"]), "bde"),
    (_c("score", "gt", 10), "bd"),
    (_c("score", "lte", "10"), "ae"),
    (_c("score", "between", [10, 20]), "ab"),
    (_c("score", "ne", 10), "bcde"),
    (_c("score", "lt", 0), ""),
    (_c("score", "gte", 0), "abde"),
    (_c("ratio", "lt", 1), "ae"),
    (_c("ratio", "eq", "1.5"), "b"),
    (_c("ratio", "gte", 0.5), "abd"),
    (_c("active", "eq", True), "ace"),
    (_c("active", "eq", "FALSE"), "bd"),
    (_c("active", "ne", True), "bd"),
    (_c("created_at", "eq", "2025-01-01"), "ab"),
    (_c("created_at", "ne", "2025-01-01"), "cde"),
    (_c("created_at", "lt", "2025-01-01"), "d"),
    (_c("created_at", "lte", "2025-01-01"), "abd"),
    (_c("created_at", "gt", "2025-01-01"), "ce"),
    (_c("created_at", "gte", "2025-01-01T12:00:00Z"), "bce"),
    (_c("created_at", "eq", "2025-01-02T01:00:00+01:00"), "c"),
    (_c("created_at", "lte", "2025-01-01T09:00:00"), "ad"),
    (_c("created_at", "between", ["2025-01-01", "2025-01-02"]), "abc"),
    (_c("born", "lt", "1991-01-01"), "ad"),
    (_c("born", "is_null", True), "be"),
    (_c("born", "in", ["2000-01-01"]), "c"),
    (_c("born", "ne", "2000-01-01"), "abde"),
    (_c("owner", "eq", str(OWNER_1)), "ad"),
    (_c("owner", "ne", str(OWNER_1).upper()), "bce"),
    (_c("owner", "in", [str(OWNER_1), str(OWNER_2)]), "abd"),
    (_c("tag", "eq", "vip"), "ab"),
    (_c("tag", "ne", "vip"), "cde"),
    (_c("tag", "in", ["vip", "newsletter"]), "abd"),
    (_c("tag", "nin", ["newsletter"]), "bce"),
    (_c("cf.plan", "eq", "gold"), "ad"),
    (_c("cf.plan", "ne", "gold"), "bce"),
    (_c("cf.plan", "in", ["gold", "silver"]), "abd"),
    (_c("cf.plan", "is_null", True), "ce"),
    (_c("cf.seats", "gt", 4), "ab"),
    (_c("cf.seats", "eq", "5.0"), "a"),
    (_c("cf.seats", "eq", 10.5), "b"),
    (_c("cf.seats", "eq", 0), "d"),
    (_c("cf.seats", "lt", 1), "d"),
    (_c("cf.seats", "ne", 5), "bcde"),
    (_c("cf.renewal", "lt", "2025-01-01"), "e"),
    (_c("cf.renewal", "gte", "2025-01-01"), "a"),
    (_c("cf.renewal", "eq", "2025-03-01"), "a"),
    (_c("cf.vip", "eq", True), "a"),
    (_c("cf.vip", "eq", False), "b"),
    (_c("cf.vip", "ne", True), "bcde"),
    (_c("cf.langs", "eq", "en"), "a"),
    (_c("cf.langs", "contains", "de"), "b"),
    (_c("cf.langs", "in", ["fr", "de"]), "ab"),
    (_c("cf.langs", "nin", ["en"]), "bcde"),
    (_c("cf.langs", "ne", "en"), "bcde"),
    (_c("cf.langs", "is_null", True), "cde"),
    (_c("cf.langs", "is_null", False), "ab"),
    (_c("cf.mrr", "gt", 12), "abe"),
    (_c("cf.mrr", "eq", "12.5"), "ae"),
    (_c("cf.mrr", "lt", "50"), "ae"),
    (_c("cf.mrr", "is_null", True), "cd"),
    (_c("cf.note", "contains", "100%"), "a"),
    (_c("cf.note", "startswith", "50_"), "d"),
    (_c("cf.note", "eq", "50_50 split"), "d"),
]


@pytest.mark.parametrize(("condition", "expected"), CASES, ids=lambda c: json.dumps(c))
def test_condition_matches_exactly(
    engine: Engine, condition: dict[str, Any], expected: str
) -> None:
    assert _refs(engine, condition) == set(expected)


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"or": [_c("stage", "eq", "churned"),
                 {"and": [_c("tag", "eq", "vip"), {"not": _c("active", "eq", True)}]}]}, "bd"),
        ({"and": [_c("cf.plan", "eq", "gold"), _c("name", "contains", "ada")]}, "ad"),
        ({"not": {"or": [_c("score", "gt", 10), _c("name", "is_null")]}}, "ae"),
        ({"not": {"not": _c("score", "gt", 10)}}, "bd"),
        ({"and": []}, "abcde"),
        ({"or": []}, ""),
        ({"not": {"and": []}}, ""),
    ],
)  # fmt: skip
def test_groups_combine(engine: Engine, tree: dict[str, Any], expected: str) -> None:
    assert _refs(engine, tree) == set(expected)


LEAVES = st.sampled_from([(parse_filter(c), frozenset(refs)) for c, refs in CASES])


def _tree(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Groups of random subtrees, each paired with the rows it must match."""
    group = st.lists(children, max_size=3)
    return st.one_of(
        group.map(lambda items: (And(tuple(n for n, _ in items)),
                                 ALL.intersection(*(rows for _, rows in items)))),
        group.map(lambda items: (Or(tuple(n for n, _ in items)),
                                 frozenset().union(*(rows for _, rows in items)))),
        children.map(lambda item: (Not(item[0]), ALL - item[1])),
    )  # fmt: skip


@settings(
    max_examples=60 if PG_URL.startswith("postgresql") else 150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=st.recursive(LEAVES, _tree, max_leaves=8))
def test_groups_are_set_algebra_and_not_is_the_complement(
    engine: Engine, case: tuple[Node, frozenset[str]]
) -> None:
    node, expected = case
    assert _refs(engine, node) == set(expected)


def test_query_params_form(engine: Engine) -> None:
    reserved = {"limit": "10", "sort": "-name", "cursor": "x", "q": "ada", "fields": "name"}
    params = {"stage": "lead", "cf.plan": "gold", "created_at[gte]": "2025-01-01", "tag": "vip"}
    params.update(reserved)
    node = parse_query_params(params, FIELDS)
    assert node is not None and _refs(engine, node) == {"a"}
    in_node = parse_query_params({"stage[in]": "lead,churned"}, FIELDS)
    assert in_node is not None and _refs(engine, in_node) == {"a", "c", "d"}
    repeated = parse_query_params(QueryParams("tag=vip&tag=newsletter"), FIELDS)
    assert repeated is not None and _refs(engine, repeated) == {"a"}
    assert parse_query_params({"limit": "5", "filter": "{}"}, FIELDS) is None


def test_query_params_and_filter_expression_combine(engine: Engine) -> None:
    node = combine(
        parse_query_params({"cf.plan": "gold"}, FIELDS),
        parse_filter(json.dumps(_c("score", "gt", 10))),
        None,
    )
    assert node is not None and _refs(engine, node) == {"d"}
    assert combine(None, None) is None


def test_filter_round_trips_through_its_json_form() -> None:
    tree = parse_filter(
        {"or": [{"not": _c("tag", "in", ["a", "b"])}, {"and": [{"field": "score", "value": 1}]}]}
    )
    assert parse_filter(json.loads(json.dumps(filter_to_dict(tree)))) == tree


def _error_for(expr: Any, custom: dict[str, str] = CUSTOM) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(Invalid) as caught:
        compile_filter(parse_filter(expr), FIELDS, custom_types=custom, dialect_name="sqlite")
    (error,) = caught.value.errors
    return error.loc, error.message


@pytest.mark.parametrize(
    ("expr", "loc", "message"),
    [
        (_c("stgae", "eq", "lead"), "stgae", "unknown field 'stgae'; did you mean 'stage'?"),
        (_c("cf.pln", "eq", "x"), "cf.pln", "did you mean 'cf.plan'?"),
        (_c("zzz", "eq", "x"), "zzz", "filterable fields are: name, stage"),
        (_c("active", "contains", "x"), "active", "'contains' does not apply to 'active'; use one"),
        (_c("stage", "gt", "lead"), "stage", "'gt' does not apply"),
        (_c("stage", "eq", "leed"), "stage", "not a choice of 'stage'; did you mean 'lead'?"),
        (_c("score", "eq", "ten"), "score", "'score' needs a whole number, not \"ten\""),
        (_c("score", "eq", 1.5), "score", "needs a whole number"),
        (_c("ratio", "eq", "NaN"), "ratio", "needs a number"),
        (_c("ratio", "eq", True), "ratio", "needs a number"),
        (_c("active", "eq", "yes"), "active", "needs true or false"),
        (_c("born", "eq", "2025-13-01"), "born", "needs a date (YYYY-MM-DD)"),
        (_c("created_at", "gte", "yesterday"), "created_at", "needs a date or an ISO 8601 time"),
        (_c("owner", "eq", "bob"), "owner", "needs an id"),
        (_c("name", "eq", None), "name", "to match empty use is_null"),
        (_c("name", "eq", ["a"]), "name", "needs a single value"),
        (_c("score", "between", [1]), "score", "between needs two values"),
        (_c("score", "in", []), "score", "needs a list of 1 to 500 values"),
        (_c("name", "equals", "x"), "name", "unknown operator 'equals'"),
        ({"field": "name"}, "name", "'eq' needs a value"),
        ({"field": "name", "op": "eq", "value": "x", "extra": 1}, "name", "unknown key(s) extra"),
        ({"xor": []}, None, "unknown filter key 'xor'"),
        ({"and": [], "or": []}, None, "a group is"),
        ({"and": {"field": "name"}}, None, "'and' takes a list"),
        ({"and": ["name"]}, None, "must be an object"),
        ('{"and": [', None, "not valid JSON"),
        ({"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {
            "not": _c("name", "eq", "x")}}}}}}}}}}}, None, "nested more than 10 levels"),
        ({"or": [_c("name", "eq", str(i)) for i in range(101)]}, None, "at most 100 conditions"),
    ],
)  # fmt: skip
def test_problems_are_explained_per_field(expr: Any, loc: str | None, message: str) -> None:
    error_loc, error_message = _error_for(expr)
    assert error_loc == (("filter",) if loc is None else ("filter", loc))
    assert message in error_message


def test_custom_fields_need_a_definition() -> None:
    assert _error_for(_c("cf.plan", "eq", "gold"), custom={})[1].startswith("unknown field")


def test_query_params_are_checked_like_filters() -> None:
    with pytest.raises(Invalid, match="did you mean 'stage'"):
        parse_query_params({"stge": "lead"}, FIELDS)
    with pytest.raises(Invalid, match="unknown operator 'foo'"):
        parse_query_params({"score[foo]": "1"}, FIELDS)
    with pytest.raises(Invalid, match="is not a filter"):
        parse_query_params({"score[gt": "1"}, FIELDS)


def test_field_definitions_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown filter field type"):
        FilterField("x", "money", Item.score)
    with pytest.raises(ValueError, match="exactly one of column, build"):
        FilterField("x", "tag")


def _sql(node: dict[str, Any], dialect: str) -> str:
    where = compile_filter(parse_filter(node), FIELDS, custom_types=CUSTOM, dialect_name=dialect)
    compiled_for = postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()
    return str(where.compile(dialect=compiled_for))


def test_custom_equality_uses_jsonb_containment_on_postgresql() -> None:
    assert "@>" in _sql(_c("cf.plan", "eq", "gold"), "postgresql")
    assert "@>" in _sql(_c("cf.langs", "in", ["en", "fr"]), "postgresql")
    assert "JSON_EXTRACT" in _sql(_c("cf.plan", "eq", "gold"), "sqlite")
    assert "json_each" in _sql(_c("cf.langs", "eq", "en"), "sqlite")
    with pytest.raises(ValueError, match="mysql"):
        compile_filter(parse_filter(_c("name", "eq", "x")), FIELDS, dialect_name="mysql")


@pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="GIN is PostgreSQL's")
def test_gin_index_serves_custom_equality(engine: Engine) -> None:
    where = compile_filter(
        parse_filter(_c("cf.plan", "eq", "gold")), FIELDS, custom_types=CUSTOM,
        dialect_name="postgresql",
    )  # fmt: skip
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    with Session(engine) as session:
        conn = session.connection()
        conn.exec_driver_sql(
            "CREATE INDEX ix_filter_items_custom ON filter_items USING gin (custom jsonb_path_ops)"
        )
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        event.listen(engine, "before_cursor_execute", capture)
        try:
            assert set(session.scalars(select(Item.ref).where(where))) == {"a", "d"}
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        statement, params = captured[-1]
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, params))
        session.rollback()
    assert "ix_filter_items_custom" in plan, plan
