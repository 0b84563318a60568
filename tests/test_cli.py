"""The contract every ``rapport`` command keeps with a shell, checked on the real executable in a
subprocess against its own database (SQLite, or PostgreSQL when RAPPORT_TEST_DATABASE_URL is set):
results alone on stdout, everything else on stderr; exit 0 done, 1 error, 2 usage, 3 finished
with rejected rows; ``--rejects FILE``; ``--json`` that parses; ``--version``."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import OWNER_EMAIL, OWNER_PASSWORD, Server, _database_url

RAPPORT = Path(sys.executable).parent / "rapport"
WORKSPACE = "northwind"


@dataclass
class Shell:
    """``rapport`` as a script runs it: its own environment and database."""

    env: dict[str, str]
    directory: Path
    init: Any = None

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(RAPPORT), *args],
            env=self.env,
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def json(self, *args: str, code: int = 0) -> Any:
        """Run with --json: the exit code is ``code`` and stdout is one JSON document."""
        done = self.run(*args, "--json")
        assert done.returncode == code, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    """A database made with ``rapport init --json``: workspace Northwind, owner Olivia."""
    directory = tmp_path_factory.mktemp("cli")
    url, drop = _database_url(directory)
    env = {**os.environ, "RAPPORT_DATABASE_URL": url, "RAPPORT_LOG_LEVEL": "WARNING",
           "RAPPORT_SECRET_KEY": "cli-test-secret-".ljust(48, "x"), "COLUMNS": "200"}  # fmt: skip
    made = Shell(env, directory)
    made.init = made.json(
        "init", "-w", "Northwind", "--email", OWNER_EMAIL, "--password", OWNER_PASSWORD
    )
    yield made
    drop()


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """An error: exit 1, nothing on stdout, one ``error:`` line on stderr."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def _people_csv(path: Path, *, good: int, bad: int) -> Path:
    rows = ["first_name,last_name,email"]
    rows += [f"Good{i},Person,good{i}@example.com" for i in range(good)]
    rows += [f"Bad{i},Person,bad{i}-at-example.com" for i in range(bad)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["line", "column", "value", "reason"]
        return list(reader)


class TestVersionAndUsage:
    def test_version_prints_the_package_version_on_stdout(self, shell: Shell) -> None:
        for flag in ("--version", "-V"):
            done = shell.run(flag)
            assert done.returncode == 0, done.stderr
            assert done.stdout == f"rapport {version('rapport')}\n"
            assert done.stderr == ""

    def test_a_usage_error_exits_2_with_nothing_on_stdout(self, shell: Shell) -> None:
        missing = shell.run("import", "people.csv")  # no --workspace, no such file
        assert missing.returncode == 2 and missing.stdout == ""
        assert "Usage: rapport import" in missing.stderr
        file = _people_csv(shell.directory / "usage.csv", good=1, bad=0)
        preview = shell.run("import", str(file), "-w", WORKSPACE, "--rejects", "r.csv")
        assert (
            preview.returncode == 2 and "--rejects" in preview.stderr
        )  # a preview rejects nothing


class TestInitUserAndToken:
    def test_init_json_names_the_workspace_and_its_owner(self, shell: Shell) -> None:
        assert shell.init["workspace"]["slug"] == WORKSPACE
        assert shell.init["workspace"]["name"] == "Northwind"
        assert shell.init["owner"]["email"] == OWNER_EMAIL
        uuid.UUID(shell.init["workspace"]["id"])

    def test_token_create_prints_only_the_token_on_stdout(self, shell: Shell) -> None:
        done = shell.run("token", "create", OWNER_EMAIL, "-w", WORKSPACE)
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("\n") == 1 and done.stdout.startswith("rpt_")
        token = done.stdout.strip()
        assert token not in done.stderr and "shown once" in done.stderr

    def test_token_create_json_has_the_token_and_its_id(self, shell: Shell) -> None:
        made = shell.json("token", "create", OWNER_EMAIL, "-w", WORKSPACE, "--scopes", "read")
        assert made["token"].startswith("rpt_") and made["scopes"] == ["read"]
        assert made["workspace"] == WORKSPACE and made["email"] == OWNER_EMAIL
        uuid.UUID(made["id"])

    def test_user_create_json(self, shell: Shell) -> None:
        made = shell.json("user", "create", "ben@example.com", "-w", WORKSPACE, "--role",
                          "manager", "--password", "another long passphrase")  # fmt: skip
        assert (made["email"], made["role"], made["workspace"]) == (
            "ben@example.com",
            "manager",
            WORKSPACE,
        )

    def test_domain_errors_are_one_line_on_stderr_and_exit_1(self, shell: Shell) -> None:
        stranger = shell.run("token", "create", "nobody@example.com", "-w", WORKSPACE)
        assert (
            _one_error_line(stranger) == f"error: nobody@example.com is not a member of {WORKSPACE}"
        )
        scopes = shell.run("token", "create", OWNER_EMAIL, "-w", WORKSPACE, "--scopes", "nope")
        assert "nope" in _one_error_line(scopes)
        markup = shell.run("hygiene", "quality", "-w", "[red]acme")  # printed as typed
        assert _one_error_line(markup) == "error: No workspace '[red]acme'"


def test_the_readme_token_capture_works_against_a_real_server(live_server: Server) -> None:
    """``TOKEN=$(rapport token create …)`` then ``curl -H "Authorization: Bearer $TOKEN"``."""
    done = subprocess.run(
        [str(RAPPORT), "token", "create", OWNER_EMAIL, "-w", WORKSPACE],
        env=live_server.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.removesuffix("\n")
    answer = httpx.get(
        live_server.url + "/api/v1/people", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text


class TestImport:
    def test_preview_json_counts_and_problems_exit_0(self, shell: Shell) -> None:
        file = _people_csv(shell.directory / "preview.csv", good=2, bad=1)
        preview = shell.json("import", str(file), "-w", WORKSPACE)
        assert preview["applied"] is False and preview["valid"] == 2
        assert preview["mapping"] == {"first_name": "first_name", "last_name": "last_name",
                                      "email": "email"}  # fmt: skip
        assert [(p["line"], p["column"], p["value"]) for p in preview["problems"]] == [
            (4, "email", "bad0-at-example.com")
        ]

    def test_apply_with_rejects_exits_3_and_writes_them_all(self, shell: Shell) -> None:
        file = _people_csv(shell.directory / "partial.csv", good=2, bad=25)
        rejects = shell.directory / "rejects.csv"
        done = shell.run("import", str(file), "-w", WORKSPACE, "--apply", "--rejects", str(rejects))
        assert done.returncode == 3, done.stderr
        assert "rejected" in done.stdout and "lines" not in done.stdout  # the bar is on stderr
        assert "lines ━" in done.stderr
        shown = [line for line in done.stderr.splitlines() if line.startswith("  line ")]
        assert len(shown) == 20 and shown[0].startswith("  line 4, email: ")
        assert f"25 rows rejected; all 25 problems written to {rejects}" in done.stderr
        written = _read_rejects(rejects)
        assert [int(r["line"]) for r in written] == list(range(4, 29))
        assert {r["column"] for r in written} == {"email"}
        assert written[0]["value"] == "bad0-at-example.com" and written[0]["reason"]

    def test_rerun_json_has_the_job_and_counts_and_still_exits_3(self, shell: Shell) -> None:
        file = _people_csv(shell.directory / "rerun.csv", good=3, bad=21)
        shell.run("import", str(file), "-w", WORKSPACE, "--apply")
        result = shell.json("import", str(file), "-w", WORKSPACE, "--apply", code=3)
        assert (result["applied"], result["object"], result["status"]) == (True, "person", "done")
        assert (result["created"], result["unchanged"], result["rejected"]) == (0, 3, 21)
        uuid.UUID(result["import_id"])
        plain = shell.run("import", str(file), "-w", WORKSPACE, "--apply")
        assert plain.returncode == 3
        assert "21 rows rejected; the first 20 problems are shown above" in plain.stderr

    def test_a_clean_import_exits_0_with_an_empty_rejects_file(self, shell: Shell) -> None:
        file = _people_csv(shell.directory / "clean.csv", good=2, bad=0)
        rejects = shell.directory / "none.csv"
        done = shell.run("import", str(file), "-w", WORKSPACE, "--apply", "--rejects", str(rejects))
        assert done.returncode == 0, done.stderr
        assert _read_rejects(rejects) == []


class TestLeadsImport:
    def test_rejected_leads_exit_3_with_the_same_rejects_file(self, shell: Shell) -> None:
        file = shell.directory / "leads.csv"
        file.write_text("E-Mail,First Name\nlee@example.com,Lee\nnot-an-email,Bad\n")
        rejects = shell.directory / "lead-rejects.csv"
        done = shell.run("leads", "import", str(file), "-w", WORKSPACE, "--rejects", str(rejects))
        assert done.returncode == 3, done.stderr
        assert "1 created" in done.stdout and "line 3, E-Mail: " in done.stderr
        assert [(r["line"], r["column"], r["value"]) for r in _read_rejects(rejects)] == [
            ("3", "E-Mail", "not-an-email")
        ]
        again = shell.json("leads", "import", str(file), "-w", WORKSPACE, code=3)
        assert (again["unchanged"], again["rejected"]) == (1, 1)
        assert again["errors"][0]["value"] == "not-an-email"


class TestJsonReports:
    def test_jobs_status_dedupe_and_quality_print_one_json_document(self, shell: Shell) -> None:
        file = _people_csv(shell.directory / "reports.csv", good=2, bad=0)
        assert shell.run("import", str(file), "-w", WORKSPACE, "--apply").returncode == 0
        state = shell.json("jobs", "status")
        assert {"pending_events", "deliveries", "problems", "schedules"} <= set(state)
        scan = shell.json("dedupe", "-w", WORKSPACE)
        assert scan["applied"] is False and scan["people"] >= 2 and isinstance(scan["top"], list)
        companies = shell.json("dedupe", "-w", WORKSPACE, "--companies")
        assert companies["merged"] == 0
        report = shell.json("hygiene", "quality", "-w", WORKSPACE)
        assert report["people"] >= 2 and "completeness" in report

    def test_operator_commands_print_one_json_document(self, shell: Shell) -> None:
        migrated = shell.json("migrate")
        assert migrated["changed"] is False and migrated["before"] == migrated["after"]
        assert shell.json("jobs", "retry") == {"retried": []}
        unknown = shell.run("jobs", "run-due", "no.such.task", "--json")
        assert _one_error_line(unknown) == "error: no periodic task named no.such.task"
        reminders = shell.json("reminders", "run")
        assert reminders["workspaces"] >= 1 and "follow_ups" in reminders
        model = shell.json("scoring", "train", "-w", WORKSPACE)
        assert model["status"] != "trained" and model["closed_deals"] == 0  # nothing won or lost
        demo = shell.json("demo", "-w", "Tiny", "--people", "10", "--companies", "1",
                          "--activities", "0")  # fmt: skip
        assert demo["slug"] == "tiny" and demo["people"] >= 10 and demo["password"]
