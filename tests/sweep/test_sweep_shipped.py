"""Every shipped sweep scenario (scenarios/sweep_*.yaml) is valid and produces its world's standard figures.

To keep the suite quick each scenario is run trimmed: the first three values of
its first grid parameter, the first two of the others, two seeds.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simulator import plots
from simulator.store import Store
from simulator.sweep import plan_sweep, run_sweep, table

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("sweep_*.yaml"))


def trimmed(path: Path) -> str:
    data = yaml.safe_load(path.read_text())
    grid = data["sweep"]["grid"]
    for i, key in enumerate(list(grid)):
        grid[key] = grid[key][: 3 if i == 0 else 2]
    data["sweep"]["seeds"] = 2
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def test_there_is_a_shipped_sweep_for_every_world_with_standard_figures():
    worlds = {yaml.safe_load(p.read_text())["world"]["type"] for p in SHIPPED}
    assert set(plots.STANDARD) <= worlds, f"no shipped sweep for {set(plots.STANDARD) - worlds}"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_sweep_makes_its_standard_figures(path, tmp_path):
    plan = plan_sweep(path)  # the full file is valid
    assert len(plan.cells) == plan.spec.n_points() * plan.spec.seeds >= 8
    with Store(tmp_path / "s.db") as store:
        outcome = run_sweep(text=trimmed(path), store=store, workers=2)
        assert outcome.failed == 0, store.list_runs(sweep_id=outcome.sweep_id, status="failed")[0]["error"]
        frame = table(store, outcome.sweep_id)
    made = plots.write_sweep_figures(frame, tmp_path / "figs")
    expected = {"welfare", *(spec.name for spec in plots.STANDARD.get(plan.world, []))}
    assert {p.stem for p in made} == expected
    for name in expected:
        assert (tmp_path / "figs" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert ET.parse(tmp_path / "figs" / f"{name}.svg").getroot().tag.endswith("svg")
        csv = pd.read_csv(tmp_path / "figs" / f"{name}.csv")
        assert len(csv) > 0 and (csv["n"] == 2).all()
        bounded = csv.dropna(subset=["ci_low", "ci_high"])
        assert ((bounded["ci_low"] <= bounded["mean"] + 1e-9) & (bounded["mean"] <= bounded["ci_high"] + 1e-9)).all()
