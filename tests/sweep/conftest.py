"""Fixtures of the sweep tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import SWEEP_YAML


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "small_sweep.yaml"
    path.write_text(SWEEP_YAML)
    return path
