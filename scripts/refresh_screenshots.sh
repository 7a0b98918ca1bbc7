#!/usr/bin/env bash
# Refresh the committed web UI screenshots in docs/screenshots (the tests alone write to a temp folder).
set -euo pipefail
cd "$(dirname "$0")/.."
AGORA_SCREENSHOTS="$PWD/docs/screenshots" .venv/bin/python -m pytest tests/web/test_web_ui.py -q
