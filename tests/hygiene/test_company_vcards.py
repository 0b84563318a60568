"""Companies from vCards (API upload, web staging, CLI) and to vCards: ORG, URL, ADR, TEL,
NOTE, CATEGORIES, UID and X-RAPPORT-ID; a card without ORG is a reject at its line; an export
imports back without any change."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rapport.core.context import Context
from rapport.hygiene.service import import_uploads
from tests.hygiene.jobs_helper import drain_jobs

CARDS = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Initech\r\n"
    "ORG:Initech;Software Division\r\n"
    "URL:https://www.initech.com/about\r\n"
    "TEL;TYPE=WORK:(512) 555-0100\r\n"
    "ADR;TYPE=WORK:;;1 Main St;Austin;TX;78701;United States\r\n"
    "NOTE:Makes TPS reports\r\n"
    "UID:crm-1\r\n"
    "CATEGORIES:vip,software\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"  # line 12: no ORG
    "VERSION:3.0\r\n"
    "FN:Peter Gibbons\r\n"
    "N:Gibbons;Peter;;;\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Globex\r\n"
    "ORG:Globex\r\n"
    "END:VCARD\r\n"
)


def _upload(client: TestClient, name: str, text: str) -> dict[str, Any]:
    files = {"file": (name, text.encode(), "text/vcard")}
    response = client.post("/api/v1/imports", files=files, data={"object": "company"})
    assert response.status_code == 202, response.text
    drain_jobs()
    job = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert job["status"] == "done", job
    return job


def _companies(client: TestClient) -> list[dict[str, Any]]:
    items = client.get("/api/v1/companies", params={"limit": 200, "sort": "name"}).json()["items"]
    return [client.get(f"/api/v1/companies/{c['id']}").json() for c in items]


def _state(client: TestClient) -> list[tuple[Any, ...]]:
    return [
        (c["id"], c["version"], c["name"], c["domain"], c["website"], c["phone"],
         c["address"], c["custom"], sorted(t["name"] for t in c["tags"]))
        for c in _companies(client)
    ]  # fmt: skip


FIELDS = (
    ("tier", "select", {"label": "Tier", "options": ["gold", "silver"]}),
    ("seats", "number", {"label": "Seats"}),
    ("topics", "multiselect", {"label": "Topics", "options": ["ai", "crm", "web"]}),
    ("renewal", "date", {"label": "Renewal"}),
)


def _describe(client: TestClient) -> None:
    body = {"object_type": "company", "key": "description", "label": "Description",
            "field_type": "text"}  # fmt: skip
    assert client.post("/api/v1/custom-fields", json=body).status_code == 201


class TestCompanyVcards:
    def test_cards_become_companies_and_a_card_without_org_is_a_reject_at_its_line(
        self, api: TestClient
    ) -> None:
        _describe(api)
        job = _upload(api, "companies.vcf", CARDS)
        assert (job["format"], job["created"], job["rejected"]) == ("vcf", 2, 1)
        rejects = api.get(f"/api/v1/imports/{job['id']}/rejects.csv").text
        [reject] = list(csv.DictReader(io.StringIO(rejects)))
        assert (reject["line"], reject["column"]) == ("12", "(record)")
        assert "ORG" in reject["reason"]
        globex, initech = _companies(api)
        assert globex["name"] == "Globex" and globex["domain"] is None
        assert (initech["name"], initech["domain"]) == ("Initech", "initech.com")
        assert initech["website"] == "https://www.initech.com/about"
        assert initech["phone"] == "+15125550100"
        assert initech["address"] == {
            "street": "1 Main St", "city": "Austin", "region": "TX", "postal_code": "78701",
            "country": "US",
        }  # fmt: skip
        assert initech["custom"] == {"description": "Makes TPS reports"}
        assert sorted(t["name"] for t in initech["tags"]) == ["software", "vip"]
        exported = api.get("/api/v1/exports/companies.csv").text
        rows = {r["name"]: r for r in csv.DictReader(io.StringIO(exported))}
        assert rows["Initech"]["external_id"] == "crm-1"
        # The UID is the external id: a card with it updates the same company.
        again = CARDS.replace("NOTE:Makes TPS reports", "NOTE:Now with flair")
        job = _upload(api, "again.vcf", again.replace("ORG:Initech;", "ORG:Initech Corp;"))
        assert (job["created"], job["updated"], job["unchanged"]) == (0, 1, 1)
        initech = next(c for c in _companies(api) if c["domain"] == "initech.com")
        assert initech["name"] == "Initech Corp"
        assert initech["custom"] == {"description": "Now with flair"}

    def test_a_vcard_export_is_org_cards_and_imports_back_without_any_change(
        self, api: TestClient
    ) -> None:
        _describe(api)
        _upload(api, "companies.vcf", CARDS)
        # A company whose domain is not its website's host, and one with a website only.
        odd = {"name": "Hooli", "domain": "hooli.xyz", "website": "https://hooli.com"}
        assert api.post("/api/v1/companies", json=odd).status_code == 201
        site = {"name": "Pied Piper", "website": "https://piedpiper.com"}
        assert api.post("/api/v1/companies", json=site).status_code == 201
        before = _state(api)
        cards = api.get("/api/v1/exports/companies.vcf")
        assert cards.status_code == 200 and cards.headers["content-type"].startswith("text/vcard")
        text = cards.text
        assert text.count("BEGIN:VCARD") == 4 and text.count("KIND:org") == 4
        assert "ORG:Initech" in text and "X-RAPPORT-ID:" in text and "UID:crm-1" in text
        assert "NOTE:Makes TPS reports" in text and "CATEGORIES:software,vip" in text
        job = _upload(api, "companies.vcf", text)
        assert (job["created"], job["updated"], job["rejected"]) == (0, 0, 0), job
        assert job["unchanged"] == 4
        assert _state(api) == before

    def test_custom_fields_travel_on_the_cards_into_another_workspace(
        self, api: TestClient, api_as: Any
    ) -> None:
        globex = api_as("dev")
        for client in (api, globex):
            _describe(client)
            for key, kind, extra in FIELDS:
                body = {"object_type": "company", "key": key, "field_type": kind, **extra}
                assert client.post("/api/v1/custom-fields", json=body).status_code == 201
        _upload(api, "companies.vcf", CARDS)
        initech = next(c for c in _companies(api) if c["name"] == "Initech")
        custom = {"description": "Makes TPS reports", "tier": "gold", "seats": 40,
                  "topics": ["ai", "crm"], "renewal": "2027-01-31"}  # fmt: skip
        patch = {"custom": custom}
        assert api.patch(f"/api/v1/companies/{initech['id']}", json=patch).status_code == 200
        text = api.get("/api/v1/exports/companies.vcf").text
        assert "X-RAPPORT-FIELD;X-KEY=topics:ai\\; crm" in text
        # Another workspace's Rapport ids mean nothing here: companies match by UID or name.
        text = "".join(line for line in text.splitlines(True) if "X-RAPPORT-ID" not in line)
        job = _upload(globex, "companies.vcf", text)
        assert (job["created"], job["rejected"]) == (2, 0), job
        copy = next(c for c in _companies(globex) if c["name"] == "Initech")
        assert copy["custom"] == custom

    def test_the_web_upload_and_the_cli_take_company_vcards(
        self, api: TestClient, ada_ctx: Context, cast: Any, tmp_path: Path
    ) -> None:
        staged = import_uploads.stage(
            ada_ctx, filename="c.vcf", stream=io.BytesIO(CARDS.encode()), object="company"
        )
        view = import_uploads.preview(ada_ctx, staged)
        assert view.mapping["name"] == "name" and view.error is None
        assert [r.ok for r in view.rows] == [True, False, True]
        import_uploads.discard(staged)
        from rapport.cli import app

        path = tmp_path / "companies.vcf"
        path.write_text(CARDS)
        args = ["import", "--companies", str(path), "-w", str(cast.acme)]
        preview = CliRunner().invoke(app, args)
        assert preview.exit_code == 0, preview.output
        assert "2 rows are valid" in preview.output and "line 12" in preview.output
        done = CliRunner().invoke(app, [*args, "--apply"])
        assert done.exit_code == 3, done.output  # the card without ORG was rejected
        assert "line 12, (record)" in done.stderr
        assert [c["name"] for c in _companies(api)] == ["Globex", "Initech"]
