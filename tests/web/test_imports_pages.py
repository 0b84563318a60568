# ruff: noqa: F811  (pytest fixtures imported from tests.web.conftest)
"""The imports pages: upload → mapping preview → override a column → start → progress →
rejects download; past imports; permissions and other workspaces."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from rapport.core.config import get_settings
from tests.hygiene.jobs_helper import drain_jobs
from tests.web.conftest import browser, csrf_from, signed_in, signed_in_as  # noqa: F401

HTMX = {"HX-Request": "true"}
PEOPLE = (
    "Vorname;Nachname;Mail;Notiz\n"
    "Karl;Weber;karl@example.de;VIP\n"
    "Greta;Schmidt;not-an-email;\n"
    "Hans;Müller;hans@example.de;\n"
).encode("cp1252")


def _upload(client: TestClient, name: str, body: bytes, kind: str = "person") -> str:
    token = csrf_from(client.get("/imports").text)
    response = client.post(
        "/imports/upload",
        data={"csrf_token": token, "object": kind},
        files={"file": (name, body, "text/csv")},
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/imports/preview/")
    return location


def _select(html: str, column: str) -> str:
    """The field chosen for a column in the preview."""
    row = re.search(rf'data-column="{re.escape(column)}">(.*?)</tr>', html, re.S)
    assert row, column
    chosen = re.search(r'<option value="([^"]+)" selected>', row.group(1))
    return chosen.group(1) if chosen else ""


class TestImportFlow:
    def test_upload_preview_override_start_progress_and_rejects(
        self, signed_in: TestClient
    ) -> None:
        empty = signed_in.get("/imports")
        assert "No imports yet" in empty.text and 'href="/imports"' in empty.text
        preview_url = _upload(signed_in, "kunden.csv", PEOPLE)
        preview = signed_in.get(preview_url)
        assert preview.status_code == 200
        html = preview.text
        assert "semicolon" in html and "data-encoding>cp125" in html  # a Windows code page
        # Automatic mapping by header name; "Mail" is an email, "Notiz" is ignored.
        assert _select(html, "Mail") == "email" and _select(html, "Notiz") == "ignore"
        assert _select(html, "Vorname") == "first_name"
        # The first rows as they would go in, with the bad cell's problem shown on its cell.
        assert 'data-line="3"' in html and 'data-problem="Mail"' in html
        assert "Müller" in html
        # Override one column: the note becomes the job title (HTMX re-renders the preview).
        token = csrf_from(html)
        columns = ["Vorname", "Nachname", "Mail", "Notiz"]
        form = {f"col_{i}": _select(html, c) for i, c in enumerate(columns)}
        form["col_3"] = "job_title"
        again = signed_in.post(preview_url, data={"csrf_token": token, **form}, headers=HTMX)
        assert again.status_code == 200
        assert _select(again.text, "Notiz") == "job_title" and "<html" not in again.text
        assert "VIP" in again.text
        # Start: a background job, then its page with a polling progress bar.
        start = signed_in.post(
            preview_url.replace("/preview/", "/start/"),
            data={"csrf_token": token, "save_as": "German CRM", **form},
        )
        assert start.status_code == 303, start.text
        job_url = start.headers["location"]
        queued = signed_in.get(job_url).text
        assert 'hx-trigger="every 1s"' in queued and 'data-status="queued"' in queued
        drain_jobs()
        progress = signed_in.get(f"{job_url}/progress", headers=HTMX).text
        assert 'data-status="done"' in progress and "every 1s" not in progress
        assert "data-percent>100 %" in progress
        assert 'data-count="created">2<' in progress and 'data-count="rejected">1<' in progress
        # The rejects: line, column, message and the original line of the file.
        rejects = signed_in.get(f"{job_url}/rejects.csv")
        assert rejects.status_code == 200 and rejects.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(rejects.text)))
        assert [(r["line"], r["column"]) for r in rows] == [("3", "Mail")]
        assert rows[0]["original row"] == "Greta;Schmidt;not-an-email;"
        assert rows[0]["message"]
        # The override reached the people, the mapping was saved, and the history lists it.
        history = signed_in.get("/imports").text
        assert "kunden.csv" in history and "status-badge is-done" in history
        assert "German CRM" in signed_in.get(_upload(signed_in, "k.csv", PEOPLE)).text

    def test_the_lenient_box_keeps_rows_and_offers_their_warnings(
        self, signed_in: TestClient
    ) -> None:
        preview_url = _upload(signed_in, "kunden.csv", PEOPLE)
        html = signed_in.get(preview_url).text
        assert 'name="lenient"' in html
        columns = ["Vorname", "Nachname", "Mail", "Notiz"]
        form = {f"col_{i}": _select(html, c) for i, c in enumerate(columns)}
        start = signed_in.post(
            preview_url.replace("/preview/", "/start/"),
            data={"csrf_token": csrf_from(html), "lenient": "1", **form},
        )
        assert start.status_code == 303, start.text
        job_url = start.headers["location"]
        drain_jobs()
        progress = signed_in.get(f"{job_url}/progress", headers=HTMX).text
        assert 'data-count="created">3<' in progress and 'data-count="rejected">0<' in progress
        assert 'data-count="warned">1<' in progress and f"{job_url}/warnings.csv" in progress
        rows = list(csv.DictReader(io.StringIO(signed_in.get(f"{job_url}/warnings.csv").text)))
        assert [(r["line"], r["column"], r["value"]) for r in rows] == [
            ("3", "Mail", "not-an-email")
        ]
        assert rows[0]["original row"] == "Greta;Schmidt;not-an-email;"
        rejects = signed_in.get(f"{job_url}/rejects.csv").text
        assert list(csv.DictReader(io.StringIO(rejects))) == []

    def test_companies_upload_maps_custom_fields_and_applies_a_saved_mapping(
        self, api: TestClient, signed_in: TestClient
    ) -> None:
        body = {"object_type": "company", "key": "tier", "label": "Tier",
                "field_type": "select", "options": ["gold", "silver"]}  # fmt: skip
        assert api.post("/api/v1/custom-fields", json=body).status_code == 201
        saved = {"name": "Accounts", "fields": {"Account": "name", "Level": "custom.tier"}}
        assert api.post("/api/v1/import-mappings", json=saved).status_code == 201
        data = b"Account,Web,Level\nInitech,initech.com,gold\nHooli,hooli.com,bronze\n"
        preview_url = _upload(signed_in, "accounts.csv", data, kind="company")
        html = signed_in.get(preview_url).text
        assert _select(html, "Account") == "name" and _select(html, "Level") == "ignore"
        assert _select(html, "Web") == "website"
        applied = signed_in.post(
            preview_url,
            data={"csrf_token": csrf_from(html), "mapping": "Accounts", "action": "apply_saved",
                  "col_0": "ignore", "col_1": "ignore", "col_2": "ignore"},
            headers=HTMX,
        )  # fmt: skip
        assert _select(applied.text, "Account") == "name"
        assert _select(applied.text, "Level") == "custom.tier"
        assert 'data-problem="Level"' in applied.text  # bronze is not an option
        form = {"col_0": "name", "col_1": "domain", "col_2": "custom.tier"}
        start = signed_in.post(preview_url.replace("/preview/", "/start/"),
                               data={"csrf_token": csrf_from(html), **form})  # fmt: skip
        assert start.status_code == 303, start.text
        drain_jobs()
        page = signed_in.get(start.headers["location"]).text
        assert 'data-count="created">1<' in page and 'data-count="rejected">1<' in page
        initech = api.get("/api/v1/companies", params={"q": "Initech"}).json()["items"][0]
        assert initech["domain"] == "initech.com"

    def test_people_upload_offers_and_maps_people_custom_fields_and_tags(
        self, api: TestClient, signed_in: TestClient
    ) -> None:
        body = {"object_type": "person", "key": "tier", "label": "Tier",
                "field_type": "select", "options": ["gold", "silver"]}  # fmt: skip
        assert api.post("/api/v1/custom-fields", json=body).status_code == 201
        data = b"Mail,Level,Labels\nkarl@example.de,gold,vip\nhans@example.de,bronze,\n"
        preview_url = _upload(signed_in, "people.csv", data)
        html = signed_in.get(preview_url).text
        assert '<option value="custom.tier"' in html and "custom: Tier" in html
        assert _select(html, "Level") == "ignore" and _select(html, "Labels") == "tags"
        form = {"col_0": "email", "col_1": "custom.tier", "col_2": "tags"}
        again = signed_in.post(
            preview_url, data={"csrf_token": csrf_from(html), **form}, headers=HTMX
        )
        assert _select(again.text, "Level") == "custom.tier"
        assert 'data-problem="Level"' in again.text  # bronze is not an option
        start = signed_in.post(preview_url.replace("/preview/", "/start/"),
                               data={"csrf_token": csrf_from(html), **form})  # fmt: skip
        assert start.status_code == 303, start.text
        drain_jobs()
        page = signed_in.get(start.headers["location"]).text
        assert 'data-count="created">1<' in page and 'data-count="rejected">1<' in page
        karl = api.get("/api/v1/people", params={"email": "karl@example.de"}).json()["items"][0]
        karl = api.get(f"/api/v1/people/{karl['id']}").json()
        assert karl["custom"] == {"tier": "gold"} and [t["name"] for t in karl["tags"]] == ["vip"]

    def test_a_mapping_without_a_name_column_is_explained_not_started(
        self, signed_in: TestClient
    ) -> None:
        preview_url = _upload(signed_in, "x.csv", b"Vorname,Mail\nKarl,karl@example.de\n")
        html = signed_in.get(preview_url).text
        start = signed_in.post(
            preview_url.replace("/preview/", "/start/"),
            data={"csrf_token": csrf_from(html), "col_0": "ignore", "col_1": "ignore"},
        )
        assert start.status_code == 200 and "data-mapping-error" in start.text
        assert "kunden" not in signed_in.get("/imports").text

    def test_an_unreadable_file_is_refused_on_the_list_page(self, signed_in: TestClient) -> None:
        token = csrf_from(signed_in.get("/imports").text)
        response = signed_in.post(
            "/imports/upload",
            data={"csrf_token": token, "object": "person"},
            files={"file": ("notes.pdf", b"%PDF", "application/pdf")},
        )
        assert response.status_code == 400 and "data-import-error" in response.text


class TestAccess:
    def test_upload_needs_the_csrf_token(self, signed_in: TestClient) -> None:
        response = signed_in.post(
            "/imports/upload", data={"object": "person"}, files={"file": ("a.csv", b"email\n")}
        )
        assert response.status_code == 403

    def test_read_only_sees_the_list_but_cannot_upload(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient]
    ) -> None:
        preview_url = _upload(signed_in, "kunden.csv", PEOPLE)
        start = signed_in.post(
            preview_url.replace("/preview/", "/start/"),
            data={"csrf_token": csrf_from(signed_in.get(preview_url).text)},
        )
        job_url = start.headers["location"]
        cleo = signed_in_as("cleo")
        listing = cleo.get("/imports")
        assert listing.status_code == 200 and "kunden.csv" in listing.text
        assert "data-import-upload" not in listing.text
        assert cleo.get(job_url).status_code == 200
        denied = cleo.post(
            "/imports/upload",
            data={"csrf_token": csrf_from(listing.text), "object": "person"},
            files={"file": ("a.csv", b"email\na@example.com\n", "text/csv")},
        )
        assert denied.status_code == 403
        assert cleo.get(preview_url).status_code == 403

    def test_other_workspaces_get_404_for_jobs_rejects_and_uploads(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient]
    ) -> None:
        preview_url = _upload(signed_in, "kunden.csv", PEOPLE)
        start = signed_in.post(
            preview_url.replace("/preview/", "/start/"),
            data={"csrf_token": csrf_from(signed_in.get(preview_url).text)},
        )
        job_url = start.headers["location"]
        dev = signed_in_as("dev")
        for url in (job_url, f"{job_url}/progress", f"{job_url}/rejects.csv", preview_url):
            assert dev.get(url).status_code == 404, url
        assert "kunden.csv" not in dev.get("/imports").text


def test_stale_uploads_are_pruned(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Uploads never started go after a day; kept copies of started ones after 30 days."""
    import os
    from datetime import UTC, datetime, timedelta

    from rapport.hygiene.service import import_uploads

    monkeypatch.setattr(get_settings(), "import_dir", str(tmp_path))
    staged = tmp_path / "staged"
    staged.mkdir()
    old_token = staged / f"{'a' * 32}.csv"
    fresh_token = staged / f"{'b' * 32}.csv"
    kept = staged / "01a20b56-a83f-7858-9087-a39fbc19f7bc.csv"
    for path in (old_token, fresh_token, kept):
        path.write_text("email\n")
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(old_token, (two_days_ago, two_days_ago))
    os.utime(kept, (two_days_ago, two_days_ago))
    assert import_uploads.prune() == 1
    assert not old_token.exists() and fresh_token.exists() and kept.exists()
    assert import_uploads.prune(datetime.now(UTC) + timedelta(days=31)) == 2
