"""Fixtures for the web UI's end-to-end tests: ``agora serve`` on a free loopback port and headless Chromium.

The browser is Debian's ``/usr/bin/chromium`` (``scripts/setup.sh`` installs
it), driven by Playwright for Python; Playwright's own browser downloads are
never used. Playwright gives every launch a fresh temporary profile.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

AGORA = str(Path(sys.executable).with_name("agora"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``agora serve --host 127.0.0.1 --port <free>`` as a child process; ``stop()`` ends it."""

    def __init__(self, db: Path, env: dict[str, str] | None = None, workers: int = 2) -> None:
        self.db, self.extra_env, self.workers = db, env or {}, workers
        self.log = db.with_suffix(".serve.log")
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 30) -> "Server":
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")} | {"AGORA_DB": str(self.db)} | self.extra_env
        for _ in range(3):  # the free port may be taken between the probe and the bind: try another
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.process = subprocess.Popen(
                [AGORA, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers)],
                env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                        return self
                except httpx.TransportError:
                    time.sleep(0.1)
            self.stop()
        raise RuntimeError(f"agora serve did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


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
