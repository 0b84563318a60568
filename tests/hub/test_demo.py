"""The demo generator: realistic, complete, and the same for the same seed."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from rapport.core.db import Database
from rapport.hub.demo import create_demo
from rapport.hub.models import Activity, Company, Person


def _seed(database: Database, seed: int) -> tuple[list[str], int, int]:
    with database.session(unscoped=True) as session:
        result = create_demo(
            session, name=f"Demo {seed}", people=60, company_count=8, activities=600, seed=seed
        )
        session.info["workspace_id"] = result.workspace_id
        session.info["unscoped"] = False
        names = list(session.scalars(select(Person.full_name).order_by(Person.full_name)))
        purchases = session.scalar(
            select(func.count()).select_from(Activity).where(Activity.kind == "purchase")
        )
        companies = session.scalar(select(func.count()).select_from(Company))
        session.flush()
        return names, purchases or 0, companies or 0


def test_demo_fills_a_workspace_with_people_companies_and_timelines(
    database: Database, connection: Connection
) -> None:
    names, purchases, companies = _seed(database, seed=1)
    assert len(names) == 60
    assert companies == 8
    assert purchases > 0


def test_same_seed_same_data(database: Database, connection: Connection) -> None:
    first = _seed(database, seed=5)
    assert len(first[0]) == 60
    # A second workspace from the same seed gets the same people.
    second_names = _seed_names_again(database)
    assert second_names == first[0]


def _seed_names_again(database: Database) -> list[str]:
    with database.session(unscoped=True) as session:
        result = create_demo(
            session, name="Demo again", people=60, company_count=8, activities=600, seed=5
        )
        session.info["workspace_id"] = result.workspace_id
        session.info["unscoped"] = False
        return list(session.scalars(select(Person.full_name).order_by(Person.full_name)))
