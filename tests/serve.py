"""``agora serve`` as a child process on a free loopback port, for the API and web tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

AGORA = str(Path(sys.executable).with_name("agora"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``agora serve --host 127.0.0.1 --port <free>``; ``stop()`` ends it, ``kill9()`` kills it outright."""

    def __init__(self, db: Path, workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.db, self.workers, self.extra_env = db, workers, env or {}
        self.log = db.with_suffix(".serve.log")
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.url = ""

    def start(self, timeout: float = 30) -> "Server":
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
        env |= {"AGORA_DB": str(self.db)} | self.extra_env
        for _ in range(3):  # the free port may be taken between the probe and the bind: try another
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.process = subprocess.Popen(
                [AGORA, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
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

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def wait_until_ended(client: httpx.Client, run_id: str, timeout: float = 60) -> dict:
    """Poll ``GET /runs/{id}`` until the run has left ``queued``/``running``; its final view."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end within {timeout}s: {run}")


@contextlib.contextmanager
def silent_listener() -> Iterator[tuple[int, list[socket.socket]]]:
    """A loopback port that accepts connections and never answers: (port, the connections held so far)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_hold() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_hold, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], held
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()
