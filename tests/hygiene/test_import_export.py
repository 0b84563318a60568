"""Imports and exports through the API: rejects by line, idempotent reruns, round trips."""

from __future__ import annotations

import csv
import io
import json
import uuid

from fastapi.testclient import TestClient

from rapport.core.context import Context
from rapport.hub.views.people import VIEW_PARAMS
from rapport.web import saved_views
from tests.hygiene.jobs_helper import drain_jobs

GOOD_AND_BAD = (
    "First Name;Surname;E-Mail;Telephone;Country\n"
    "ada;LOVELACE;Ada@Example.com;+44 20 7946 0018;England\n"
    "Bob;Builder;not-an-email;;\n"
    "Cy;Young;cy@example.com;12;USA\n"
    "Di;Prince;di@example.com;(415) 555-2671;Narnia\n"
    "Eve;Online;eve@example.com;;Germany\n"
)


def _upload(client: TestClient, name: str, text: str | bytes, **form: object) -> dict:
    """Queue an import (202), run the queued job as a worker would, and return the job."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    files = {"file": (name, data, "application/octet-stream")}
    response = client.post("/api/v1/imports", files=files, data=form)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    drain_jobs()
    job = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert job["status"] == "done", job
    return job


class TestImport:
    def test_good_rows_go_in_and_bad_rows_are_reported_by_line_and_column(
        self, api: TestClient
    ) -> None:
        job = _upload(api, "people.csv", GOOD_AND_BAD)
        assert (job["created"], job["rejected"], job["status"]) == (2, 3, "done")
        assert job["mapping"]["E-Mail"] == "email" and job["mapping"]["Surname"] == "last_name"
        rejects = api.get(f"/api/v1/imports/{job['id']}/rejects.csv")
        rows = list(csv.DictReader(io.StringIO(rejects.text)))
        assert [(r["line"], r["column"]) for r in rows] == [
            ("3", "E-Mail"),
            ("4", "Telephone"),
            ("5", "Country"),
        ]
        ada = api.get("/api/v1/people", params={"email": "ada@example.com"}).json()["items"][0]
        assert (ada["first_name"], ada["last_name"], ada["phone"]) == (
            "Ada",
            "Lovelace",
            "+442079460018",
        )

    def test_rerunning_the_same_file_changes_nothing(self, api: TestClient) -> None:
        _upload(api, "people.csv", GOOD_AND_BAD)
        before = api.get("/api/v1/people", params={"limit": 100}).json()["items"]
        again = _upload(api, "people.csv", GOOD_AND_BAD)
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
        after = api.get("/api/v1/people", params={"limit": 100}).json()["items"]
        assert [(p["id"], p["version"]) for p in after] == [(p["id"], p["version"]) for p in before]

    def test_a_large_file_goes_in_whole_searchable_audited_and_reruns_unchanged(
        self, api: TestClient
    ) -> None:
        # 1,200 rows: above the bulk path's COPY threshold on PostgreSQL
        rows = [f"Name{i},Bulk,bulk{i}@example.com,+1 415 555 {i:04d}" for i in range(1200)]
        text = "first_name,last_name,email,phone\n" + "\n".join(rows) + "\nX,Y,broken,\n"
        job = _upload(api, "big.csv", text)
        assert (job["created"], job["rejected"], job["last_line"]) == (1200, 1, 1202)
        one = api.get("/api/v1/people", params={"email": "bulk1017@example.com"}).json()
        assert [p["phone"] for p in one["items"]] == ["+14155551017"]
        hits = api.get("/api/v1/people", params={"q": "Name1017 Bulk"}).json()["items"]
        assert hits[0]["id"] == one["items"][0]["id"]
        audit = api.get("/api/v1/audit", params={"record": job["id"], "limit": 100}).json()
        batches = [e for e in audit["items"] if e["action"] == "import.batch"]
        assert sum(e["changes"]["created"]["new"] for e in batches) == 1200
        again = _upload(api, "big.csv", text)
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1200)

    def test_manual_mapping_overrides_the_automatic_one(self, api: TestClient) -> None:
        text = "Who,Contact\nZed Zebra,zed@example.com\n"
        job = _upload(api, "x.csv", text, map=["Who=full_name", "Contact=email"])
        assert job["created"] == 1
        zed = api.get("/api/v1/people", params={"email": "zed@example.com"}).json()["items"][0]
        assert (zed["first_name"], zed["last_name"]) == ("Zed", "Zebra")

    def test_latin1_file_is_decoded(self, api: TestClient) -> None:
        data = "first_name,last_name,email\nJosé,Núñez,jose@example.com\n".encode("latin-1")
        job = _upload(api, "p.csv", data)
        assert job["created"] == 1, job
        row = api.get("/api/v1/people", params={"email": "jose@example.com"}).json()["items"]
        assert row[0]["last_name"] == "Núñez"

    def test_vcard_and_json_lines_are_read(self, api: TestClient) -> None:
        vcf = (
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Hopper;Grace;;;\r\nFN:Grace Hopper\r\n"
            "EMAIL:grace@navy.mil\r\nORG:US Navy\r\nEND:VCARD\r\n"
        )
        assert _upload(api, "c.vcf", vcf)["created"] == 1
        lines = json.dumps({"first_name": "Linus", "email": "linus@example.org"}) + "\n{bad\n"
        job = _upload(api, "c.jsonl", lines)
        assert (job["created"], job["rejected"]) == (1, 1)

    def test_unknown_mapping_field_is_a_422_and_nothing_is_written(self, api: TestClient) -> None:
        files = {"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}
        response = api.post("/api/v1/imports", files=files, data={"map": ["a=shoe_size"]})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")

    def test_read_only_cannot_import_and_globex_cannot_see_acme_imports(self, api, api_as) -> None:  # type: ignore[no-untyped-def]
        job = _upload(api, "people.csv", GOOD_AND_BAD)
        files = {"file": ("x.csv", b"email\nq@example.com\n", "text/csv")}
        assert api_as("cleo").post("/api/v1/imports", files=files).status_code == 403
        assert api_as("ben").post("/api/v1/imports", files=files).status_code == 202
        assert api_as("dev").get(f"/api/v1/imports/{job['id']}").status_code == 404
        assert api_as("dev").get(f"/api/v1/imports/{job['id']}/rejects.csv").status_code == 404


class TestExport:
    def test_csv_export_reimports_without_any_change(self, api: TestClient) -> None:
        _upload(api, "people.csv", GOOD_AND_BAD)
        api.post("/api/v1/companies", json={"name": "Analytical Engines"})
        exported = api.get("/api/v1/exports/people.csv")
        assert exported.status_code == 200
        assert "ada@example.com" in exported.text
        job = _upload(api, "people.csv", exported.text)
        assert (job["created"], job["updated"], job["rejected"]) == (0, 0, 0)
        assert job["unchanged"] == 2

    def test_vcard_and_jsonl_exports_reimport_without_change(self, api: TestClient) -> None:
        _upload(api, "people.csv", GOOD_AND_BAD)
        for fmt in ("vcf", "jsonl"):
            body = api.get(f"/api/v1/exports/people.{fmt}").text
            job = _upload(api, f"people.{fmt}", body)
            assert (job["created"], job["updated"], job["unchanged"]) == (0, 0, 2), (fmt, job)

    def test_an_export_imports_into_another_workspace_as_new_people(
        self, api: TestClient, api_as
    ) -> None:  # type: ignore[no-untyped-def]
        _upload(api, "people.csv", GOOD_AND_BAD)
        ours = {p["email"]: p for p in api.get("/api/v1/people").json()["items"]}
        globex = api_as("dev")
        for fmt in ("csv", "jsonl", "vcf"):
            body = api.get(f"/api/v1/exports/people.{fmt}").text
            job = _upload(globex, f"people.{fmt}", body)
            # the first file creates them; the others match them by email, unchanged
            expected = (2, 0, 0) if fmt == "csv" else (0, 0, 2)
            assert (job["created"], job["rejected"], job["unchanged"]) == expected, (fmt, job)
        theirs = {p["email"]: p for p in globex.get("/api/v1/people").json()["items"]}
        assert set(theirs) == set(ours)
        for email, person in theirs.items():
            assert person["id"] != ours[email]["id"]  # ids of their own
            assert person["first_name"] == ours[email]["first_name"]
        assert {p["id"] for p in api.get("/api/v1/people").json()["items"]} == {
            p["id"] for p in ours.values()
        }  # nothing of Acme's changed

    def test_an_id_in_the_bin_is_refused_rather_than_duplicated(self, api: TestClient) -> None:
        _upload(api, "people.csv", GOOD_AND_BAD)
        body = api.get("/api/v1/exports/people.csv").text
        eve = api.get("/api/v1/people", params={"email": "eve@example.com"}).json()["items"][0]
        assert api.delete(f"/api/v1/people/{eve['id']}").status_code == 200
        job = _upload(api, "people.csv", body)
        assert (job["created"], job["rejected"], job["unchanged"]) == (0, 1, 1)
        rejects = api.get(f"/api/v1/imports/{job['id']}/rejects.csv").text
        assert "in the bin" in rejects

    def test_export_follows_the_list_filter(self, api: TestClient) -> None:
        _upload(api, "people.csv", GOOD_AND_BAD)
        body = api.get("/api/v1/exports/people.jsonl", params={"email": "eve@example.com"}).text
        assert [json.loads(line)["first_name"] for line in body.splitlines()] == ["Eve"]
        bad = api.get("/api/v1/exports/people.csv", params={"filter": '{"field":"nope"}'})
        assert bad.status_code in (400, 422)

    def test_members_cannot_export_and_globex_sees_nothing(self, api, api_as) -> None:  # type: ignore[no-untyped-def]
        _upload(api, "people.csv", GOOD_AND_BAD)
        assert api_as("ben").get("/api/v1/exports/people.csv").status_code == 403
        dev = api_as("dev").get("/api/v1/exports/people.csv")
        assert dev.status_code == 200 and "example.com" not in dev.text


class TestExportByView:
    def test_a_saved_view_filters_the_export_and_combines_with_the_query(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        body = "first_name,email,lifecycle_stage\nAl,al@example.com,customer\n"
        body += "Bo,bo@example.com,lead\nCy,cy@example.com,customer\n"
        _upload(api, "p.csv", body)
        view = saved_views.save_view(
            ada_ctx, "person", name="Customers", query="stage=customer",
            allowed=VIEW_PARAMS,
        )  # fmt: skip
        ada_ctx.session.commit()
        text = api.get("/api/v1/exports/people.csv", params={"view": str(view.id)}).text
        assert sorted(r["first_name"] for r in csv.DictReader(io.StringIO(text))) == ["Al", "Cy"]
        both = {"view": str(view.id), "email": "cy@example.com"}
        lines = api.get("/api/v1/exports/people.jsonl", params=both).text.splitlines()
        assert [json.loads(line)["first_name"] for line in lines] == ["Cy"]

    def test_unknown_or_foreign_views_are_404(
        self, api: TestClient, api_as, ada_ctx: Context
    ) -> None:  # type: ignore[no-untyped-def]
        view = saved_views.save_view(
            ada_ctx, "person", name="Shared", query="stage=lead", allowed=VIEW_PARAMS,
            shared=True,
        )  # fmt: skip
        ada_ctx.session.commit()
        missing = api.get("/api/v1/exports/people.csv", params={"view": str(uuid.uuid4())})
        assert missing.status_code == 404
        foreign = api_as("dev").get("/api/v1/exports/people.csv", params={"view": str(view.id)})
        assert foreign.status_code == 404
