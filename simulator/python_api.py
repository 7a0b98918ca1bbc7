"""Agora from Python (notebooks, scripts): what ``import agora`` gives (``simulator/agora/__init__.py``).

    import agora
    r = agora.run("prisoners_dilemma", seed=3, set={"world.rounds": 20})
    r.comparison          # DataFrame: quantity, theory, simulated, gap, note
    r.events              # the whole event log as a DataFrame (seq, t, kind, agent, data)
    r.plot("welfare")     # a matplotlib Figure
    agora.open_run(r.id)  # the same run, read back from the store

The functions are thin wrappers over what the CLI runs (``simulator.scenario``,
``simulator.run.stored_run``, ``simulator.sweep``, ``simulator.solve``,
``simulator.comparison``, ``simulator.plots``), so a notebook and ``agora run``
give the same metrics for the same file and seed. Runs are stored like the
CLI's: in ``db`` (default ``$AGORA_DB`` or ``./agora.db``).

A scenario is a path to a YAML file, the name of a shipped scenario
(``"prisoners_dilemma"`` for ``scenarios/prisoners_dilemma.yaml``), YAML text,
a mapping (the parsed document) or a ``LoadedScenario`` from :func:`load`.
``set={"world.rounds": 20}`` overrides fields by dotted path (Python values,
as ``--set`` gives YAML values). Bad input raises ``simulator.parsing.ScenarioError``
whose message is the ``file:line:column: field: problem`` lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

from simulator.comparison import comparison_for
from simulator.scenario import LoadedScenario, parse_scenario, read_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"  # the repo's shipped scenarios
Scenario = str | Path | Mapping[str, Any] | LoadedScenario


def load(scenario: Scenario, *, set: Mapping[str, Any] | None = None) -> LoadedScenario:
    """Read and validate a scenario (see the module docstring for what ``scenario`` may be)."""
    overrides = list((set or {}).items())
    if isinstance(scenario, LoadedScenario):
        if not overrides:
            return scenario
        return parse_scenario(scenario.text, scenario.source, list(scenario.overrides) + overrides)
    if isinstance(scenario, Mapping):
        import yaml

        return parse_scenario(yaml.safe_dump(dict(scenario), sort_keys=False), "<mapping>", overrides)
    if isinstance(scenario, Path) or "\n" not in str(scenario):
        path = Path(scenario)
        if not path.exists() and (SCENARIOS / f"{scenario}.yaml").is_file():
            path = SCENARIOS / f"{scenario}.yaml"  # a shipped scenario by name
        return read_scenario(path, overrides)
    return parse_scenario(str(scenario), "<text>", overrides)


def run(scenario: Scenario, *, seed: int | None = None, set: Mapping[str, Any] | None = None,
        db: str | Path | None = None) -> Run:
    """Run a scenario, store it (like ``agora run``) and return the stored :class:`Run`."""
    from simulator.run import stored_run
    from simulator.store import Store

    loaded = load(scenario, set=set)
    with Store(db) as store:
        run_id, _ = stored_run(loaded.scenario, loaded.text, store, seed=seed, overrides=list(loaded.overrides))
        return Run.from_row(store.get_run(run_id), db)


def open_run(run_id: str, *, db: str | Path | None = None) -> Run:
    """A stored run by id (``agora runs list`` lists them); ``simulator.store.RunNotFound`` if there is none."""
    from simulator.store import Store

    with Store(db) as store:
        return Run.from_row(store.get_run(run_id), db)


def sweep(scenario: str | Path | Mapping[str, Any], *, set: Mapping[str, Any] | None = None, workers: int | None = None,
          db: str | Path | None = None):
    """Run a scenario's ``sweep:`` grid x seeds (like ``agora sweep``; a path, shipped name, YAML text or mapping)
    and return its tidy table: a DataFrame, one row per run; ``frame.attrs["sweep_id"]`` names the stored sweep."""
    from simulator import sweep as sweeps
    from simulator.store import Store

    path, text = None, None
    if isinstance(scenario, Mapping):
        import yaml

        text = yaml.safe_dump(dict(scenario), sort_keys=False)
    elif isinstance(scenario, Path) or "\n" not in str(scenario):
        path = Path(scenario)
        if not path.exists() and (SCENARIOS / f"{scenario}.yaml").is_file():
            path = SCENARIOS / f"{scenario}.yaml"
    else:
        text = str(scenario)
    with Store(db) as store:
        outcome = sweeps.run_sweep(path, text=text, store=store, overrides=list((set or {}).items()), workers=workers)
        return sweeps.table(store, outcome.sweep_id)


def solve(game: str | Path | Mapping[str, Any], *, method: str = "auto", lam: float = 1.0) -> list[dict[str, Any]]:
    """The equilibria of a game file (YAML/JSON, ``.nfg``, ``.efg``; a path, YAML text or a mapping), as
    ``agora solve --json`` prints them: one dict per equilibrium. Runs in this process, with no time limit."""
    from simulator import solve as solver

    if isinstance(game, Mapping):
        import yaml

        loaded = solver.load_game_text(yaml.safe_dump(dict(game), sort_keys=False), "<mapping>")
    elif isinstance(game, Path) or "\n" not in str(game):
        loaded = solver.load_game(game)
    else:
        loaded = solver.load_game_text(str(game), "<text>")
    return solver.report_json(solver.solve_game(loaded, method=method, lam=lam))


@dataclass
class Run:
    """A stored run: its row (``id``, ``world``, ``seed``, ``status``, ``summary``) and what a notebook reads of it."""

    id: str
    scenario_name: str
    world: str
    seed: int
    status: str
    metrics: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)
    db: str | Path | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any], db: str | Path | None) -> Run:
        return cls(row["id"], row["scenario_name"], row["world"], row["seed"], row["status"],
                   row.get("metrics") or {}, row.get("summary") or {}, db)

    @property
    def theory(self) -> dict[str, Any]:
        """What the mechanisms predict for this configuration (``metrics["theory"]``)."""
        return self.metrics.get("theory") or {}

    @property
    def measures(self) -> dict[str, Any]:
        return self.metrics.get("measures") or {}

    @property
    def welfare(self) -> float | None:
        return self.metrics.get("welfare")

    @cached_property
    def comparison(self):
        """Theory beside simulation (``simulator.comparison``): columns quantity, theory, simulated, gap, note."""
        import pandas as pd

        rows = [row.to_dict() for row in comparison_for(self.world, self.metrics)]
        return pd.DataFrame(rows, columns=["quantity", "theory", "simulated", "gap", "note"])

    @cached_property
    def events(self):
        """The whole event log (every page of the store, no cap): columns seq, t, kind, agent, data (a dict)."""
        import pandas as pd

        from simulator.store import Store

        with Store(self.db) as store:
            rows = list(store.iter_events(self.id))
        return pd.DataFrame(rows, columns=["seq", "t", "kind", "agent", "data"])

    @property
    def plots(self) -> list[str]:
        """The names :meth:`plot` accepts for this run."""
        from simulator.plots import available_plots

        return available_plots({"metrics": self.metrics, "world": self.world})

    def plot(self, name: str = "welfare"):
        """One of the run's figures (``plots``) as a matplotlib ``Figure``, the one the API serves."""
        from simulator.plots import run_figure
        from simulator.store import Store

        with Store(self.db) as store:
            figure, _ = run_figure(store, self.id, name)
        return figure

    def __repr__(self) -> str:
        return f"Run({self.id!r}, {self.scenario_name!r}, world={self.world!r}, seed={self.seed}, status={self.status!r})"

    def _repr_html_(self) -> str:  # a notebook shows the header and the comparison table
        return f"<p><b>run {self.id}</b> {self.scenario_name} ({self.world}), seed {self.seed}, {self.status}</p>" + \
            self.comparison.to_html(index=False)
