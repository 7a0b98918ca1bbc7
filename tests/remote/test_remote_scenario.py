"""A remote seat's params and the run's ``remote:`` block are checked by the scenario loader: file:line errors, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

AGORA = str(Path(sys.executable).with_name("agora"))

BAD = """\
world: {type: public_goods, players: [ann, ben], rounds: 1}
agents:
  ann: {policy: remote, params: {url: "ftp://x/act"}}
  ben: remote
remote: {max_concurency: 3}
"""


def test_bad_remote_settings_are_one_line_errors_with_file_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    done = subprocess.run([AGORA, "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"error: {path}:3:34: agents.ann.params.url: Value error, not an http(s) URL; allowed: http:// or https:// URLs "
        "such as http://127.0.0.1:9000/act (got 'ftp://x/act')",
        f"error: {path}:4:3: agents.ben.params.url: required field is missing",
        f"error: {path}:5:10: remote.max_concurency: unknown field; allowed: max_concurrency, batch_window, on_error, "
        "max_fallback_share (did you mean 'max_concurrency'?)",
    ]
