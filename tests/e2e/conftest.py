"""Browser tests: the real app under gunicorn, driven by Debian's Chromium through Playwright.

Chromium comes from the system package (`python3 dev.py test` and `.ci/run` install it); no
browser build is ever downloaded. Outside CI a missing browser skips these tests with the reason;
in CI (CI=true) it fails them, so a green CI run always includes the browser tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from matcher import PROJECT_ROOT
from tests.servers import running_server

CHROMIUM = os.environ.get("MATCHER_CHROMIUM", "/usr/bin/chromium")
# Without these, Chromium on a machine with no network waits on services it cannot reach.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
STAFF_USERNAME = "frontdesk"
STAFF_PASSWORD = "front-desk-e2e-password"
ON_CALL = "Dr Rivera, 020 7946 0000"
EVERY_IMPACT = ("minor", "moderate", "serious", "critical")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@contextlib.contextmanager
def serving(state_dir: Path, database_url: str | None = None) -> Iterator[str]:
    """The app under gunicorn (2 workers), with a staff account, on a free local port."""
    env = {
        "MATCHER_STATE_DIR": str(state_dir),
        "MATCHER_SECRET_KEY": "e2e-" + "k" * 40,
        "MATCHER_LOCALE": "GB",
        "MATCHER_ON_CALL": ON_CALL,
    }
    if database_url:
        env["MATCHER_DATABASE_URL"] = database_url
    # The account is made the way a clinic makes one: with the command line.
    subprocess.run(
        [sys.executable, "-m", "matcher", "staff", "add", STAFF_USERNAME, "--password-stdin"],
        input=STAFF_PASSWORD + "\n",
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
    )
    with running_server(env) as (base, _):
        yield base


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on its default database (SQLite in its state folder), for the whole session."""
    with serving(tmp_path_factory.mktemp("e2e-state")) as base:
        yield base


@pytest.fixture()
def queue_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a new, empty database of each kind (SQLite, then PostgreSQL)."""
    with serving(tmp_path_factory.mktemp("e2e-queue-state"), database_url) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, launched by Playwright (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(
            f"{CHROMIUM} is missing: install Debian's chromium "
            "(apt-get install -y --no-install-recommends chromium), or run python3 dev.py test as root"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture()
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context and page; a screenshot of the last state is saved after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    try:
        yield tab
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
        context.close()


def axe_violations(page: Any, impacts: tuple[str, ...] = ("critical", "serious")) -> list[str]:
    """Run axe-core (bundled by axe-playwright-python, no network) on the page; list problems."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in impacts
    ]
