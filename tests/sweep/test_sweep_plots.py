"""Figures: valid PNG/SVG files, the CSV beside them holds what is plotted (means, interval bounds, theory)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.image
import nashpy
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulator import plots
from simulator.run import stored_run
from simulator.scenario import load_scenario
from simulator.store import Store
from simulator.sweep import run_sweep, table

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    from sweep_helpers import SWEEP_YAML

    folder = tmp_path_factory.mktemp("plots")
    store = Store(folder / "s.db")
    with ThreadPoolExecutor(2) as pool:  # results do not depend on the executor; threads keep this test light
        outcome = run_sweep(text=SWEEP_YAML, store=store, executor=pool)
    yield store, outcome.sweep_id, table(store, outcome.sweep_id), folder
    store.close()


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def assert_svg(path: Path) -> None:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")


def test_sweep_figures_are_valid_files_with_their_csv(swept):
    store, sweep_id, frame, folder = swept
    paths = plots.write_sweep_figures(frame, folder / "out")
    names = {p.name for p in paths}
    assert {"welfare.png", "welfare.svg", "welfare.csv", "welfare_per_round.png", "welfare_per_round.svg", "welfare_per_round.csv"} <= names
    for path in paths:
        if path.suffix == ".png":
            assert_png(path)
        elif path.suffix == ".svg":
            assert_svg(path)
    csv = pd.read_csv(folder / "out" / "welfare.csv")
    x, hue = "agents.bob.params.probabilities.0", "world.rounds"
    assert list(csv.columns[:2]) == [hue, x]
    assert len(csv) == 6 and (csv["n"] == 4).all()
    # Means and t bounds recomputed from the table with pandas + scipy.
    for _, row in csv.iterrows():
        values = frame.loc[(frame[x] == row[x]) & (frame[hue] == row[hue]), "welfare"].to_numpy(dtype=float)
        assert row["mean"] == pytest.approx(values.mean())
        if values.std() == 0:  # every seed gave the same welfare: a zero-width interval (scipy answers nan)
            assert row["ci_low"] == row["ci_high"] == pytest.approx(values.mean())
            continue
        oracle = stats.t.interval(0.95, df=len(values) - 1, loc=values.mean(), scale=stats.sem(values))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(oracle)


def test_the_figure_draws_the_csv_means(swept):
    store, sweep_id, frame, folder = swept
    spec = plots.resolve(frame, plots.FigureSpec("welfare"))
    summary = plots.summary(frame, spec)
    fig = plots.draw(summary, spec)
    ax = fig.axes[0]
    simulated = [line for line in ax.lines if line.get_gid() == "simulated"]
    assert len(simulated) == 2  # one line per hue value (world.rounds 10 and 30)
    for line, rounds in zip(simulated, sorted(frame["world.rounds"].unique())):
        part = summary[summary["world.rounds"] == rounds].sort_values(spec.x)
        assert list(line.get_xdata()) == pytest.approx(part[spec.x].tolist())
        assert list(line.get_ydata()) == pytest.approx(part["mean"].tolist())
    assert ax.get_xlabel() and ax.get_ylabel() == "welfare"


def test_theory_lines_are_the_stage_game_equilibrium_and_optimum(swept):
    store, sweep_id, frame, folder = swept
    plots.write_sweep_figures(frame, folder / "theory")
    csv = pd.read_csv(folder / "theory" / "welfare_per_round.csv")
    # Outside oracle: nashpy's equilibrium of the textbook Prisoner's Dilemma (R=3, S=0, T=5, P=1).
    A = np.array([[3, 0], [5, 1]])
    B = A.T
    (sigma_r, sigma_c), = list(nashpy.Game(A, B).support_enumeration())
    eq_welfare = float(sigma_r @ (A + B) @ sigma_c)
    assert csv["theory.stage_equilibrium_welfare"].tolist() == pytest.approx([eq_welfare] * len(csv))
    assert csv["theory.stage_optimum_welfare"].tolist() == pytest.approx([(A + B).max()] * len(csv))
    # Welfare per round lies between the equilibrium (2) and the optimum (6).
    assert ((csv["mean"] >= eq_welfare - 1e-9) & (csv["mean"] <= (A + B).max() + 1e-9)).all()


def test_bootstrap_bands_and_custom_figures(swept):
    store, sweep_id, frame, folder = swept
    spec = plots.custom_figure("payoffs.bob", x="world.rounds", hue="agents.bob.params.probabilities.0")
    paths = plots.write_figure(frame, spec, folder / "custom", method="bootstrap")
    csv = pd.read_csv([p for p in paths if p.suffix == ".csv"][0])
    assert len(csv) == 6
    assert ((csv["ci_low"] <= csv["mean"] + 1e-9) & (csv["mean"] <= csv["ci_high"] + 1e-9)).all()
    with pytest.raises(plots.PlotError, match="no column 'measures.nope'"):
        plots.write_figure(frame, plots.custom_figure("measures.nope"), folder / "bad")


def test_sweep_plot_bytes_for_the_api(swept):
    store, sweep_id, frame, folder = swept
    assert plots.available_sweep_plots(store, sweep_id) == ["welfare", "welfare_per_round"]
    assert plots.plot_sweep(store, sweep_id, "welfare", "png")[:4] == b"\x89PNG"
    svg = plots.plot_sweep(store, sweep_id, "welfare", "svg")
    assert b"<svg" in svg[:500]
    assert plots.plot_sweep(store, sweep_id, "welfare", "svg") == svg  # no time stamps or random ids
    with pytest.raises(plots.PlotNotFound):
        plots.plot_sweep(store, sweep_id, "nope", "png")


def test_run_figures(tmp_path):
    scenario, text = load_scenario(ROOT / "scenarios" / "prisoners_dilemma.yaml")
    with Store(tmp_path / "r.db") as store:
        run_id, result = stored_run(scenario, text, store)
        run = store.get_run(run_id)
        assert plots.available_plots(run)[:2] == ["welfare", "payoffs"]
        png = plots.plot_run(store, run_id, "welfare", "png")
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        ET.fromstring(plots.plot_run(store, run_id, "payoffs", "svg"))
        with pytest.raises(plots.PlotNotFound):
            plots.plot_run(store, run_id, "nope", "png")
        fig, data = plots.run_figure(store, run_id, "welfare")
        # Cumulative welfare from the event log ends at the run's welfare.
        assert data["welfare"].iloc[-1] == pytest.approx(result.metrics["welfare"])
        paths = plots.write_run_figures(store, run_id, tmp_path / "run")
        assert {p.name for p in paths} >= {"welfare.png", "welfare.svg", "welfare.csv", "payoffs.png"}
