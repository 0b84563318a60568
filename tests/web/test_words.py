# ruff: noqa: F811  (pytest fixtures imported from tests.web.conftest)
"""Words a user understands: the ``label`` filter, relative dates and overdue flags, human
labels on the pages, and messages that name records instead of quoting their ids."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from rapport.core import registry
from rapport.hub.models import LifecycleStage
from rapport.sales.models import DealStatus
from rapport.web import words
from rapport.web.render import templates
from tests.sales.factories import make_deal, make_pipeline
from tests.web.conftest import browser, csrf_from, signed_in  # noqa: F401

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class TestLabel:
    def test_declared_labels_win(self) -> None:
        assert words.label("subscriber", "lifecycle_stage") == "Subscriber"
        assert words.label(LifecycleStage.MARKETING_QUALIFIED, "lifecycle_stage") == (
            "Marketing qualified"
        )
        assert words.label(DealStatus.WON, "deal_status") == "Won"
        assert words.label("sla", "task_source") == "First-touch deadline"
        assert words.label("unknown", "consent") == "Not asked"
        assert words.label("not_duplicate", "duplicate_status") == "Not a duplicate"
        assert words.label("running", "import_status") == "Importing"

    def test_an_undeclared_value_reads_as_words(self) -> None:
        assert words.label("sales_qualified") == "Sales qualified"
        assert words.label("brand-new_thing", "lifecycle_stage") == "Brand new thing"
        assert words.label("web", "no_such_vocabulary") == "Web"
        assert words.label(None, "lifecycle_stage") == ""

    def test_every_enumerated_value_has_a_declared_label(self) -> None:
        for vocabulary, enum in (("lifecycle_stage", LifecycleStage), ("deal_status", DealStatus)):
            declared = registry.labels(vocabulary)
            assert {e.value for e in enum} <= set(declared), vocabulary

    def test_the_filter_in_a_template(self) -> None:
        template = templates.env.from_string('{{ "sales_qualified" | label("lifecycle_stage") }}')
        assert template.render() == "Sales qualified"


class TestRelativeDates:
    @pytest.mark.parametrize(
        ("value", "said"),
        [
            (NOW - timedelta(seconds=20), "just now"),
            (NOW + timedelta(seconds=20), "in a moment"),
            (NOW - timedelta(minutes=1), "1 minute ago"),
            (NOW - timedelta(minutes=5), "5 minutes ago"),
            (NOW + timedelta(hours=3), "in 3 hours"),
            (NOW - timedelta(days=1, hours=2), "yesterday"),
            (NOW + timedelta(days=1, hours=2), "tomorrow"),
            (NOW - timedelta(days=3), "3 days ago"),
            (NOW + timedelta(days=15), "in 2 weeks"),
            (NOW - timedelta(days=70), "2 months ago"),
            (NOW - timedelta(days=800), "2 years ago"),
            (date(2026, 12, 7), "today"),
            (date(2026, 12, 8), "tomorrow"),
            (date(2026, 12, 6), "yesterday"),
            (date(2026, 12, 4), "3 days ago"),
            (date(2026, 12, 21), "in 2 weeks"),
        ],
    )
    def test_words(self, value: date | datetime, said: str) -> None:
        assert words.relative_words(value, NOW) == said

    def test_the_exact_date_is_in_the_title(self) -> None:
        html = str(words.relative(datetime(2026, 12, 4, 9, 30, tzinfo=UTC), NOW))
        assert 'datetime="2026-12-04T09:30:00+00:00"' in html
        assert 'title="4 Dec 2026, 09:30 UTC"' in html and ">3 days ago</time>" in html
        assert str(words.relative(None)) == ""

    def test_a_passed_due_date_is_flagged_overdue(self) -> None:
        late = str(words.due(date(2026, 12, 1), now=NOW))
        assert "is-overdue" in late and "Overdue" in late and "6 days ago" in late
        assert "Overdue" not in str(words.due(date(2026, 12, 7), now=NOW))  # due today: not late
        assert "Overdue" not in str(words.due(date(2026, 12, 20), now=NOW))
        assert "Overdue" not in str(words.due(date(2026, 12, 1), done=True, now=NOW))
        assert "Overdue" in str(words.due(NOW - timedelta(hours=2), now=NOW))


class TestPagesSpeakHuman:
    def test_the_people_list_and_person_page_show_labels(
        self, api: TestClient, signed_in: TestClient
    ) -> None:
        body = {"first_name": "Sam", "last_name": "Subscriber", "email": "sam.sub@example.com",
                "lifecycle_stage": "marketing_qualified", "source": "referral"}  # fmt: skip
        created = api.post("/api/v1/people", json=body)
        assert created.status_code == 201, created.text
        sub = {"first_name": "Sue", "last_name": "Subscriber", "email": "sue.sub@example.com",
               "lifecycle_stage": "subscriber"}  # fmt: skip
        assert api.post("/api/v1/people", json=sub).status_code == 201
        listing = signed_in.get("/people?q=Subscriber").text
        assert ">Subscriber</span>" in listing
        assert ">Marketing qualified</span>" in listing
        assert ">marketing_qualified<" not in listing and ">subscriber<" not in listing
        person = signed_in.get(f"/people/{created.json()['id']}").text
        assert ">Marketing qualified</span>" in person and "Referral" in person
        assert re.search(r">\s*marketing_qualified\s*<", person) is None


class TestMessagesNameRecords:
    def test_an_email_clash_names_the_person_not_their_id(self, api: TestClient) -> None:
        first = api.post("/api/v1/people", json={"first_name": "Grace", "last_name": "Hopper",
                                                 "email": "grace@navy.example"})  # fmt: skip
        assert first.status_code == 201
        clash = api.post("/api/v1/people", json={"first_name": "G", "email": "grace@navy.example"})
        assert clash.status_code == 409
        problem = clash.json()
        assert problem["detail"] == "grace@navy.example already belongs to Grace Hopper"
        assert problem["errors"][0]["message"] == "already belongs to Grace Hopper"
        assert first.json()["id"] not in clash.text

    def test_a_person_in_the_bin_is_named_as_such(self, api: TestClient) -> None:
        made = api.post("/api/v1/people", json={"first_name": "Binned", "last_name": "Betty",
                                                "email": "betty@bin.example"}).json()  # fmt: skip
        assert api.delete(f"/api/v1/people/{made['id']}").status_code in (200, 204)
        clash = api.post("/api/v1/people", json={"email": "betty@bin.example"})
        assert clash.status_code == 409
        assert "Binned Betty (in the bin)" in clash.json()["detail"]
        assert made["id"] not in clash.text

    def test_a_domain_clash_names_the_company(self, api: TestClient) -> None:
        first = api.post(
            "/api/v1/companies", json={"name": "Initrode", "domain": "initrode.example"}
        )
        assert first.status_code == 201, first.text
        clash = api.post("/api/v1/companies", json={"name": "Other", "domain": "initrode.example"})
        assert clash.status_code == 409
        assert clash.json()["detail"] == "initrode.example already belongs to Initrode"
        assert first.json()["id"] not in clash.text

    def test_the_add_person_form_names_the_owner_of_an_email(
        self, api: TestClient, signed_in: TestClient
    ) -> None:
        body = {"first_name": "Ada", "last_name": "Byron", "email": "ada.byron@example.com"}
        owner = api.post("/api/v1/people", json=body).json()
        token = csrf_from(signed_in.get("/people/new").text)
        response = signed_in.post("/people/new", data={
            "csrf_token": token, "first_name": "Other", "email": "ada.byron@example.com",
        })  # fmt: skip
        assert "already belongs to Ada Byron" in response.text
        assert owner["id"] not in response.text


class TestOverdueFlagged:
    def test_an_open_deal_past_its_close_date_is_flagged_everywhere_it_shows(
        self, api: TestClient, signed_in: TestClient
    ) -> None:
        pipeline = make_pipeline(api)
        late = (datetime.now(UTC).date() - timedelta(days=10)).isoformat()
        soon = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
        overdue = make_deal(api, pipeline, title="Late Lobster", expected_close_date=late)
        fine = make_deal(api, pipeline, title="Fine Falcon", expected_close_date=soon)
        page = signed_in.get(f"/deals/{overdue['id']}").text
        assert "data-overdue" in page and "Overdue" in page and "10 days ago" in page
        assert f'title="{date.fromisoformat(late).strftime("%-d %b %Y")}"' in page  # exact date
        assert "data-overdue" not in signed_in.get(f"/deals/{fine['id']}").text
        board = signed_in.get(f"/deals?pipeline={pipeline['id']}").text
        card = board.split("Late Lobster", 1)[1].split("</article>", 1)[0]
        assert "data-overdue" in card
        assert "data-overdue" not in board.split("Fine Falcon", 1)[1].split("</article>", 1)[0]
        assert "in 3 days" in board

    def test_an_overdue_task_is_flagged_on_my_tasks(
        self, api: TestClient, signed_in: TestClient
    ) -> None:
        due = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        made = api.post("/api/v1/tasks", json={"title": "Chase the invoice", "due_at": due})
        assert made.status_code == 201, made.text
        html = signed_in.get("/tasks").text
        row = html.split("Chase the invoice", 1)[1].split("</li>", 1)[0]
        assert "badge-overdue" in row and "2 days ago" in row


def test_a_taken_external_id_names_the_deal(api: TestClient) -> None:
    pipeline = make_pipeline(api)
    first = make_deal(api, pipeline, title="Globex renewal", external_id="crm-42")
    body = {"title": "Other", "pipeline_id": pipeline["id"], "currency": "EUR",
            "external_id": "crm-42"}  # fmt: skip
    clash = api.post("/api/v1/deals", json=body)
    assert clash.status_code == 409, clash.text
    assert (
        clash.json()["detail"] == "the deal “Globex renewal” already has the external id 'crm-42'"
    )
    assert first["id"] not in clash.text
