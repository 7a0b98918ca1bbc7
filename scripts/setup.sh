#!/usr/bin/env bash
# Create .venv at the repo root (Python 3.12, from .python-version through pyenv)
# and install Agora with its dev extras. Safe to run again: it reinstalls only
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
  echo "installing Agora and its dev extras into .venv (the first time takes a few minutes)"
  .venv/bin/python -m pip install --quiet --progress-bar off --upgrade pip
  .venv/bin/python -m pip install --quiet --progress-bar off -e '.[dev]'
  echo "$stamp" > .venv/.setup-stamp
fi
