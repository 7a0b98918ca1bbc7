"""Fixtures for the web UI's end-to-end tests: ``agora serve`` on a free loopback port and headless Chromium.

The browser is Debian's ``/usr/bin/chromium`` (``scripts/setup.sh`` installs
it), driven by Playwright for Python; Playwright's own browser downloads are
never used. Playwright gives every launch a fresh temporary profile.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import os
import tempfile

import pytest

from tests.serve import Server  # noqa: E402,F401  (re-exported for the tests)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Tests write their screenshots to a temporary folder, never into the tree; scripts/refresh_screenshots.sh
# points AGORA_SCREENSHOTS at docs/screenshots to refresh the committed ones.
SCREENSHOTS = Path(os.environ.get("AGORA_SCREENSHOTS") or Path(tempfile.gettempdir()) / "agora-screenshots")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("web") / "agora.db").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator["object"]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (it installs Debian's chromium package)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser) -> Iterator["object"]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def wait_until_ended(url: str, run_id: str, timeout: float = 60, headers: dict | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{url}/runs/{run_id}", headers=headers or {}).json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end within {timeout}s")
