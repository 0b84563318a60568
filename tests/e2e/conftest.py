"""End-to-end tests: a real ``rapport serve`` and Debian's Chromium driven by Playwright.

Each pytest-xdist worker starts its own server on its own free port against its own fresh
database (made by ``rapport init``): SQLite in a temporary folder, or a new PostgreSQL database
when RAPPORT_TEST_DATABASE_URL points at a server; workers never share state. Every page fails
its test on a console error or an uncaught page error. Chromium comes from Debian (apt), not
from ``playwright install``, whose browser download is not available everywhere.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import OWNER_EMAIL, OWNER_PASSWORD, WORKSPACE, Server, start_server

__all__ = ["OWNER_EMAIL", "OWNER_PASSWORD", "WORKSPACE", "Server"]

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "src/rapport/web/static/vendor"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous: CI machines have two cores and may be busy with the rest of the suite.
EXPECT_TIMEOUT_MS = 15_000
ACTION_TIMEOUT_MS = 20_000


def _ensure_chromium() -> None:
    """Install Debian's chromium once per machine (a file lock keeps xdist workers in line)."""
    if CHROMIUM.exists():
        return
    with open("/tmp/rapport-e2e-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.fail(f"{CHROMIUM} is missing; install it with: apt-get install -y chromium")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def _ensure_assets() -> None:
    """The pages load htmx from static/vendor; `make setup` copies it, so do a bare pytest."""
    if not (VENDOR / "htmx.min.js").exists():
        with open("/tmp/rapport-e2e-assets.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (VENDOR / "htmx.min.js").exists():
                subprocess.run(["bash", str(ROOT / "scripts/assets.sh")], check=True)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This worker's server, with workspace Northwind owned by Olivia."""
    running = start_server(tmp_path_factory.mktemp("e2e"), with_owner=True)
    yield running
    running.stop()
    running.drop_database()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server whose workspace has no owner yet (first run); one per test."""
    running = start_server(tmp_path, with_owner=False)
    yield running
    running.stop()
    running.drop_database()


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    """Debian's Chromium, headless, launched once per worker."""
    _ensure_chromium()
    _ensure_assets()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def errors() -> list[str]:
    """Console errors and uncaught exceptions seen by this test's pages."""
    return []


def _watch(page, errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console {msg.type}: {msg.text} @ {msg.location}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))


@pytest.fixture
def new_page(chromium, errors: list[str]):  # type: ignore[no-untyped-def]
    """``new_page(width, height)``: a page in a fresh browser context (own cookies)."""
    contexts = []

    def make(width: int = 1280, height: int = 800):  # type: ignore[no-untyped-def]
        context = chromium.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        _watch(page, errors)
        return page

    yield make
    for context in contexts:
        context.close()
    if errors:
        pytest.fail("the browser reported errors:\n" + "\n".join(errors))


@pytest.fixture
def page(new_page):  # type: ignore[no-untyped-def]
    """A desktop-sized page with its own cookies; the test fails on any console error."""
    return new_page()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A browser test gets one rerun: on a loaded 2-core CI machine, Chromium's timing (not the
    product) can miss a 15 s wait. A real defect fails both runs, and the rerun is reported."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.flaky(reruns=1))
