"""The imports page in a real browser: upload a CSV with one bad row, override a column on the
mapping preview, start, watch the progress bar reach 100 %, download the rejects."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_shell import SHOTS, follow, sign_in


def test_upload_override_start_progress_and_rejects(
    server: Server, page: Page, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    upload = tmp_path / f"kunden-{tag}.csv"
    upload.write_text(
        "Vorname;Nachname;Mail;Notiz\n"
        f"Karl;Weber;karl.{tag}@example.de;Einkauf\n"
        "Greta;Schmidt;not-an-email;\n"
        f"Hans;Müller;hans.{tag}@example.de;Vertrieb\n",
        encoding="utf-8",
    )
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)

    sign_in(page, server)
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports"))
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_label("Records").select_option("person")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="Check the mapping")).to_be_visible()
    note = page.get_by_label("Field for column Notiz")
    expect(note).to_have_value("ignore")
    expect(page.get_by_label("Field for column Mail")).to_have_value("email")
    bad = page.locator('tr[data-line="3"] td.cell-error')
    expect(bad).to_contain_text("not-an-email")

    note.select_option("job_title")  # HTMX re-renders the preview with the override
    expect(page.locator("[data-preview-rows] th", has_text="job title")).to_be_visible()
    expect(page.get_by_label("Field for column Notiz")).to_have_value("job_title")
    page.screenshot(path=str(shots / "imports-preview.png"), full_page=True)

    page.get_by_role("button", name="Start import").click()
    expect(page).to_have_url(re.compile(r"/imports/[0-9a-f-]{36}$"))
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "done")
    expect(progress.locator("[data-percent]")).to_have_text("100 %")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(progress.locator('[data-count="created"]')).to_have_text("2")
    expect(progress.locator('[data-count="rejected"]')).to_have_text("1")
    page.screenshot(path=str(shots / "imports-done.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download 1 rejected row")).click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert [(r["line"], r["column"]) for r in rows] == [("3", "Mail")]
    assert rows[0]["original row"] == "Greta;Schmidt;not-an-email;"

    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token()}"})
    karl = api.get("/api/v1/people", params={"email": f"karl.{tag}@example.de"}).json()["items"]
    assert karl and karl[0]["job_title"] == "Einkauf"  # the overridden column went in

    follow(page, page.get_by_role("link", name="Import another file"))
    expect(page.locator(f'[data-import-row] a:text("kunden-{tag}.csv")')).to_be_visible()
    page.screenshot(path=str(shots / "imports-list.png"), full_page=True)
