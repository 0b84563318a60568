"""An import killed with SIGKILL mid-way leaves whole batches only, and resumes or reruns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROWS = 6000


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _scalar(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


def test_kill_9_during_import_leaves_consistent_rows_and_resume_completes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    env = {**os.environ, "RAPPORT_DATABASE_URL": url, "RAPPORT_LOG_LEVEL": "WARNING"}
    assert _cli(env, "init", "--workspace", "Killme").returncode == 0
    source = tmp_path / "people.csv"
    lines = ["first_name,last_name,email"]
    lines += [f"P{i},Person,p{i}@example.com" for i in range(ROWS)]
    source.write_text("\n".join(lines) + "\n")
    args = ["import", str(source), "-w", "killme", "--apply", "--batch-size", "100"]
    process = subprocess.Popen(
        [sys.executable, "-m", "rapport.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    progress = 0
    while time.monotonic() < deadline and process.poll() is None:
        try:
            progress = _scalar(url, "SELECT coalesce(max(last_line), 0) FROM import_jobs")
        except Exception:  # the table is busy or not there yet; try again
            progress = 0
        if progress >= 300:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert progress > 0, "the import never committed a batch"

    job_id = _cli_job(url)
    people = _scalar(url, "SELECT count(*) FROM people")
    done = _scalar(url, "SELECT rows_done FROM import_jobs")
    last_line = _scalar(url, "SELECT last_line FROM import_jobs")
    assert people == done == last_line - 1 < ROWS  # whole batches only, progress matches
    assert _scalar(url, "SELECT count(*) FROM person_emails") == people
    # one summary audit entry per committed batch, counting the people it created
    audited = "SELECT sum(json_extract(changes, '$.created.new')) FROM audit_log"
    assert _scalar(url, audited + " WHERE action = 'import.batch'") == people
    assert _scalar(url, "SELECT count(*) FROM search_documents") == people
    assert _survivors(source) == [], "the validating worker outlived its killed parent"

    resumed = _cli(env, "import", "-w", "killme", "--resume", job_id, "--batch-size", "1000")
    assert resumed.returncode == 0, resumed.stderr
    assert _scalar(url, "SELECT count(*) FROM people") == ROWS
    assert _scalar(url, "SELECT count(DISTINCT email) FROM people") == ROWS

    rerun = _cli(env, "import", str(source), "-w", "killme", "--apply", "--batch-size", "2000")
    assert rerun.returncode == 0, rerun.stderr
    assert _scalar(url, "SELECT count(*) FROM people") == ROWS
    newest = "SELECT unchanged FROM import_jobs ORDER BY created_at DESC LIMIT 1"
    assert _scalar(url, newest) == ROWS


def _survivors(source: Path) -> list[int]:
    """Processes still working on ``source`` (the import's forked worker would be one)."""
    deadline = time.monotonic() + 10
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and str(source) in (entry / "cmdline").read_text():
                    found.append(int(entry.name))
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _cli_job(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT id FROM import_jobs")).scalar()
    finally:
        engine.dispose()
    raw = str(value).replace("-", "")
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
