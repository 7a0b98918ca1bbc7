#!/usr/bin/env bash
# Refresh the committed web UI screenshots in docs/screenshots (the tests alone write to a temp folder).
# Runs the Playwright tests that take them: the run page and marketplace conversation (test_web_ui.py)
# and the research pages: editor, sweep, comparison, event table, theory per world (test_web_research.py).
set -euo pipefail
cd "$(dirname "$0")/.."
AGORA_SCREENSHOTS="$PWD/docs/screenshots" .venv/bin/python -m pytest tests/web/test_web_ui.py tests/web/test_web_research.py -q
