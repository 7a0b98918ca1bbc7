"""Figures of sweeps and runs: mean with a 95% confidence band over seeds, theory lines, the CSV behind each.

A sweep figure plots a metric (a table column, or ``a/b``, the per-run ratio of
two columns) against a varied parameter ``x``, one line per value of ``hue``;
each point is the mean over the seeds of that point with its confidence
interval (``simulator.stats``: Student-t by default, bootstrap on request).
Theory columns (``theory.*``, what the mechanisms modules predict, computed by
the worlds) are dashed lines in the hue's colour (grey when the same for every
hue). A ``series`` figure
plots a list-valued metric (e.g. contributions per round) against its index.

Figures are drawn with matplotlib's object API (``Figure``, rendered by Agg
for PNG), never pyplot, so no global state: safe from API threads and it
leaves a notebook's backend alone. Every figure is written as PNG and SVG with
the CSV of exactly what is drawn beside it: ``hue, x, n, mean, sd, ci_low,
ci_high`` and one column per theory line. Parameters that vary but are neither
``x`` nor ``hue`` are averaged over, and the legend says so. ``STANDARD`` lists
each world's standard figures (the generic welfare figure comes first); a
figure is made when the columns it needs are in the sweep's table.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

import numpy as np

from simulator import figure_cache
from simulator.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pandas as pd

    from simulator.stats import Method

# pandas, matplotlib and scipy.stats (simulator.stats) are imported by the functions that draw: listing a
# run's figures or serving them from the cache (simulator.figure_cache) must not pay seconds for their import.

FORMATS = ("png", "svg")


@dataclass(frozen=True)
class FigureSpec:
    """One figure of a sweep. ``None`` for ``x`` / ``hue`` / ``theory`` means "choose from the table"."""

    name: str
    metric: str = "welfare"
    x: str | None = None
    hue: str | None = None
    theory: tuple[str, ...] | None = None
    kind: Literal["param", "series"] = "param"
    title: str | None = None
    xlabel: str | None = None
    ylabel: str | None = None
    hue_label: str | None = None
    candidates_x: tuple[str, ...] = ()  # for standard figures: the first of these that varies is x
    candidates_hue: tuple[str, ...] = ()
    derive: Callable[[pd.DataFrame], pd.Series] | None = field(default=None, compare=False)  # per-run value from columns
    derive_theory: tuple[tuple[str, Callable[[pd.DataFrame], pd.Series]], ...] = field(default=(), compare=False)


# Human labels for common columns (the column name is used otherwise).
LABELS: dict[str, str] = {
    "welfare": "welfare",
    "welfare/measures.rounds": "welfare per round",
    "world.rounds": "rounds",
    "world.continuation": "continuation probability",
    "world.game": "game",
    "round": "round",
}

# Theory columns drawn on the generic welfare figure, per world (default: ``theory.welfare``,
# ``theory.*_welfare``). The matrix game's theory is per stage game, not comparable with total
# welfare; the marketplace's baselines are total welfares of reference matchings.
WELFARE_THEORY: dict[str, tuple[str, ...]] = {
    "matrix_game": (),
    "marketplace": ("theory.optimal", "theory.random_with_amenities", "theory.cheapest", "theory.random"),
}


def _numeric(values: Any) -> pd.Series:
    """``pandas.to_numeric(values, errors="coerce")``: non-numbers become NaN."""
    import pandas as pd

    return pd.to_numeric(values, errors="coerce")


def incentive_to_defer(frame: pd.DataFrame) -> pd.Series:
    """Simulated Δ = E[value of deferring] − max(E[U], 0) (Hadfield-Menell et al. 2017, the off-switch game).

    With a robot that always defers, ``measures.mean_utility`` estimates the
    value of waiting and ``measures.mean_draw`` the value of acting (E[U]);
    switching off is worth 0. Compare with ``theory.delta``.
    """
    act = _numeric(frame["measures.mean_draw"])
    return _numeric(frame["measures.mean_utility"]) - act.clip(lower=0.0)


# Standard figures per world; each is made when the columns it needs are in the sweep's table.
PAGE_SIZE = ("world.search.page_size",)
STANDARD: dict[str, list[FigureSpec]] = {
    "matrix_game": [
        FigureSpec(
            "welfare_per_round", metric="welfare/measures.rounds",
            theory=("theory.stage_optimum_welfare", "theory.stage_equilibrium_welfare"),
            title="Welfare per round, simulated vs. stage-game theory", ylabel="welfare per round (sum of payoffs)",
        ),
    ],
    "public_goods": [
        FigureSpec("contribution_over_rounds", metric="measures.contribution_by_round", kind="series",
                   theory=("theory.equilibrium_contribution", "theory.optimum_contribution"),
                   title="Contribution over rounds (share of the endowment)", xlabel="round",
                   ylabel="mean contribution / endowment"),
        FigureSpec("welfare_per_round_vs_r", metric="measures.welfare_per_round", candidates_x=("world.multiplier",),
                   theory=("theory.equilibrium_welfare_per_round", "theory.optimum_welfare_per_round"),
                   title="Welfare per round vs. the multiplier r", xlabel="multiplier r", ylabel="welfare per round"),
    ],
    "off_switch": [
        FigureSpec("incentive_to_defer", metric="incentive_to_defer", derive=incentive_to_defer,
                   candidates_x=("world.utility.sigma",), candidates_hue=("world.human.beta",), theory=("theory.delta",),
                   title="Robot's incentive to defer Δ vs. its uncertainty σ and the human's noise β",
                   xlabel="σ (robot's uncertainty about U)", ylabel="Δ = value of deferring − max(E[U], 0)",
                   hue_label="β"),
    ],
    "information": [
        FigureSpec("regret_vs_T", metric="measures.regret_vs_optimal", candidates_x=("world.rounds",),
                   theory=("theory.expected_regret_explore_then_commit",),
                   title="Regret of the online principal vs. horizon T", xlabel="T (rounds)",
                   ylabel="regret vs. the optimal mechanism"),
    ],
    "social_learning": [
        FigureSpec("cascade_vs_precision", metric="cascade_frequency", candidates_x=("world.precision",),
                   derive=lambda f: 1.0 - _numeric(f["measures.cascade_none"]),
                   theory=("theory.cascade_frequency",),
                   derive_theory=(("cascade_frequency", lambda f: 1.0 - _numeric(f["theory.cascade_none"])),),
                   title="Cascade frequency vs. signal precision (BHW 1992)", xlabel="signal precision q",
                   ylabel="share of sequences ending in a cascade"),
        FigureSpec("wrong_cascade_vs_precision", metric="measures.cascade_wrong", candidates_x=("world.precision",),
                   theory=("theory.cascade_wrong",),
                   title="Wrong cascades vs. signal precision (BHW 1992)", xlabel="signal precision q",
                   ylabel="share of sequences in a wrong cascade"),
    ],
    "marketplace": [
        FigureSpec("welfare_share_vs_search", metric="measures.welfare_fraction_of_optimal", candidates_x=PAGE_SIZE,
                   theory=("theory.random_with_amenities_fraction", "theory.cheapest_fraction", "theory.random_fraction"),
                   title="Welfare share of the optimum vs. search bandwidth", xlabel="search bandwidth (results per page)",
                   ylabel="welfare / optimal welfare"),
        FigureSpec("first_proposal_advantage", metric="measures.paid_first_proposal_share", candidates_x=PAGE_SIZE,
                   title="First-proposal advantage: share of payments to the first proposal",
                   xlabel="search bandwidth (results per page)", ylabel="share of customers paying the first proposal"),
    ],
}


class PlotNotFound(NotFound, KeyError):
    """A figure name the run or sweep does not have (a ``KeyError`` too, for older callers)."""


class PlotError(InvalidInput):
    """A figure cannot be drawn from this table (missing column, nothing varies); the message says why."""


# --------------------------------------------------------------------------- columns


def metric_values(frame: pd.DataFrame, metric: str, spec: FigureSpec | None = None) -> pd.Series:
    """A column, or ``a/b`` (per-run ratio of two columns), or the spec's ``derive``, as floats."""
    if spec is not None and spec.derive is not None:
        try:
            return _numeric(spec.derive(frame))
        except KeyError as exc:
            raise PlotError(f"{spec.name}: needs column {exc.args[0]!r}, not in the table") from None
    if metric in frame.columns:
        return _numeric(frame[metric])
    if "/" in metric:
        a, b = metric.split("/", 1)
        if a in frame.columns and b in frame.columns:
            den = _numeric(frame[b]).replace(0, np.nan)
            return _numeric(frame[a]) / den
    raise PlotError(f"no column {metric!r} in the table; metric columns: {', '.join(metric_columns(frame))}")


def metric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.split(".")[0] in ("welfare", "payoffs", "measures", "theory")]


def param_columns(frame: pd.DataFrame) -> list[str]:
    return list(frame.attrs.get("param_columns") or frame.attrs.get("params") or [])


def varying(frame: pd.DataFrame) -> list[str]:
    """Parameter columns that take more than one value, in sweep order."""
    return [c for c in param_columns(frame) if c in frame.columns and frame[c].nunique(dropna=False) > 1]


def _label(column: str | None, given: str | None = None, labels: dict[str, str] | None = None) -> str:
    if given:
        return given
    if column is None:
        return ""
    return (labels or {}).get(column) or LABELS.get(column, column)


def _theory_columns(frame: pd.DataFrame, spec: FigureSpec) -> list[str]:
    if spec.theory is not None:
        return [c for c in spec.theory if c in frame.columns]
    tail = spec.metric.split("/")[0].split(".")[-1]
    return [c for c in frame.columns if c.startswith("theory.") and (c == f"theory.{tail}" or c.endswith(f"_{tail}"))
            and _scalar_or_list(frame[c])]


def _scalar_or_list(column: pd.Series) -> bool:
    return all(_numbers(v) is not None for v in column.dropna().head(5))


def _numbers(value: Any) -> list[float] | None:
    """A theory cell as a list of numbers (scalar -> one), or None if it is not numeric."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return [float(value)]
    if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    return None


def resolve(frame: pd.DataFrame, spec: FigureSpec) -> FigureSpec:
    """Fill in ``x`` / ``hue`` from the table, or raise PlotError if the figure does not apply."""
    moving = varying(frame)
    x, hue = spec.x, spec.hue
    if spec.kind == "series":
        if spec.metric not in frame.columns:
            raise PlotError(f"{spec.name}: no column {spec.metric!r} in the table")
        x = None  # the list index (round) is the x axis
        if hue is None:
            hue = next((c for c in spec.candidates_hue if c in moving), None) or (moving[0] if moving else None)
    else:
        metric_values(frame, spec.metric, spec)  # raises PlotError if missing
        if x is None:
            x = next((c for c in spec.candidates_x if c in moving), None)
            if x is None and spec.candidates_x:
                raise PlotError(f"{spec.name}: none of {', '.join(spec.candidates_x)} varies in this sweep")
            if x is None:
                if not moving:
                    raise PlotError(f"{spec.name}: no parameter varies in this sweep; nothing to put on the x axis")
                numeric = [c for c in moving if _numeric(frame[c]).notna().all()]
                x = (numeric or moving)[0]  # a number axis if any parameter is numeric; categories go to hue
        if hue is None:  # a preferred hue if it varies, else the next varied parameter
            hue = next((c for c in spec.candidates_hue if c in moving and c != x), None) or next(
                (c for c in moving if not _same_parent(c, x)), None)
    for column in (x, hue):
        if column is not None and column not in frame.columns:
            raise PlotError(f"{spec.name}: no parameter column {column!r}; varied parameters: {', '.join(moving) or 'none'}")
    return replace(spec, x=x, hue=hue)


def _same_parent(a: str, b: str | None) -> bool:
    """``p``, ``p.0`` and ``p.1`` all describe one list parameter: never a hue for each other."""
    if b is None:
        return False
    def root(c: str) -> str:
        head, _, last = c.rpartition(".")
        return head if last.isdigit() and head else c
    return root(a) == root(b)


# --------------------------------------------------------------------------- summary and drawing


def summary(frame: pd.DataFrame, spec: FigureSpec, level: float = 0.95, method: Method = "t") -> pd.DataFrame:
    """What the figure draws: per (hue, x): n, mean, sd, ci_low, ci_high, and the theory columns' means."""
    import pandas as pd

    from simulator.stats import summarize
    from simulator.sweep import DONE  # the runs whose results count, as a resumed sweep sees them

    frame = frame[frame["status"].isin(DONE)] if "status" in frame.columns else frame
    if spec.derive_theory:
        frame = frame.copy()
        for name, compute in spec.derive_theory:
            try:
                frame[f"theory.{name}"] = _numeric(compute(frame))
            except KeyError:
                pass  # the world did not report what this theory line needs
    hue = [spec.hue] if spec.hue else []
    if spec.kind == "series":
        rows = []
        for _, run in frame.iterrows():
            series = _numbers(run[spec.metric])
            for index, value in enumerate(series or []):
                rows.append({**({spec.hue: run[spec.hue]} if spec.hue else {}), "round": index, "value": value})
        long = pd.DataFrame(rows)
        if long.empty:
            raise PlotError(f"{spec.name}: {spec.metric} holds no list of numbers")
        table = summarize(long, hue + ["round"], "value", level, method)
        theory_by = hue  # a theory value holds for every round: one mean per hue
    else:
        data = frame.copy()
        data["__value"] = metric_values(data, spec.metric, spec)
        table = summarize(data, hue + [spec.x], "__value", level, method)
        theory_by = hue + [spec.x]
    table = _with_theory(table, frame, spec, theory_by)
    table.attrs["labels"] = frame.attrs.get("labels", {})
    shown = [c for c in (spec.x, spec.hue) if c]
    table.attrs["averaged_over"] = [c for c in varying(frame) if not any(_same_parent(c, d) for d in shown)]
    return table


def _with_theory(table: pd.DataFrame, frame: pd.DataFrame, spec: FigureSpec, by: list[str]) -> pd.DataFrame:
    """Add one column per theory line: the theory value's mean over the runs of each group."""
    data = frame.copy()
    for column in _theory_columns(frame, spec):
        values = data[column].map(_numbers)
        width = max((len(v) for v in values.dropna()), default=0)
        for k in range(width):
            name = column if width == 1 else f"{column}[{k}]"
            data["__t"] = values.map(lambda v: v[k] if v is not None and len(v) > k else math.nan).astype(float)
            if by:
                means = data.groupby(by, sort=True, dropna=False)["__t"].mean().reset_index().rename(columns={"__t": name})
                table = table.merge(means, on=by, how="left")
            else:
                table[name] = data["__t"].mean()
    return table


def _sort_key(values: pd.Series) -> tuple[bool, list]:
    numeric = _numeric(values)
    return bool(numeric.notna().all()), sorted(values.unique(), key=lambda v: (float(v) if numeric.notna().all() else str(v)))


def draw(table: pd.DataFrame, spec: FigureSpec, level: float = 0.95):
    """A matplotlib Figure from a ``summary`` table."""
    import matplotlib
    import pandas as pd
    from matplotlib.figure import Figure

    x = "round" if spec.kind == "series" else spec.x
    fig = Figure(figsize=(8.4, 4.2), layout="constrained")
    ax = fig.subplots()
    labels = table.attrs.get("labels", {})
    hues = [None] if not spec.hue else _sort_key(table[spec.hue])[1]
    numeric_x, order = _sort_key(table[x])
    positions = {v: i for i, v in enumerate(order)}
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    theory_cols = [c for c in table.columns if c.startswith("theory.") and table[c].notna().any()]
    # A theory line that is the same for every hue value is drawn once, in grey.
    shared = [c for c in theory_cols if not spec.hue or (table.groupby(x)[c].nunique(dropna=True) <= 1).all()]
    styles = ("--", ":", "-.", (0, (6, 2, 1, 2, 1, 2)))
    for i, hue in enumerate(hues):
        part = table if hue is None else table[table[spec.hue] == hue]
        # categories: points side by side (no line between unrelated categories)
        dodge = 0.0 if numeric_x else 0.25 * (i - (len(hues) - 1) / 2) / max(1, len(hues) - 1)
        part = part.assign(__x=pd.to_numeric(part[x]) if numeric_x else part[x].map(positions) + dodge).sort_values("__x")
        colour = colours[i % len(colours)]
        label = "simulated" if hue is None else f"{_label(spec.hue, spec.hue_label, labels)} = {hue}"
        ax.plot(part["__x"], part["mean"], marker="o" if len(part) <= 30 or not numeric_x else None, markersize=5, color=colour,
                linestyle="-" if numeric_x else "none", label=label, gid="simulated")
        if part["ci_low"].notna().any():
            if numeric_x and len(part) > 1:
                ax.fill_between(part["__x"], part["ci_low"], part["ci_high"], color=colour, alpha=0.2, linewidth=0)
            else:
                ax.errorbar(part["__x"], part["mean"], yerr=[part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]],
                            fmt="none", ecolor=colour, capsize=3)
        for j, column in enumerate(theory_cols):
            if part[column].isna().all() or (column in shared and i > 0):
                continue  # e.g. a second equilibrium this game does not have; a shared line drawn already
            name = f"theory: {column.removeprefix('theory.')}"
            style = styles[j % len(styles)]
            if column in shared:
                ax.plot(part["__x"], part[column], linestyle=style, color="0.3", alpha=0.9, label=name, gid="theory")
            else:
                ax.plot(part["__x"], part[column], linestyle=style if numeric_x else "none", marker=None if numeric_x else "_",
                        markersize=14, color=colour, alpha=0.8, label=f"{name} ({hue})", gid="theory")
    if not numeric_x:
        ax.set_xticks(range(len(order)), [str(v) for v in order], rotation=20 if len(order) > 4 else 0)
    ax.set_xlabel(_label(x, spec.xlabel, labels))
    ax.set_ylabel(_label(spec.metric, spec.ylabel, labels))
    ax.set_title(spec.title or f"{_label(spec.metric, spec.ylabel, labels)} vs. {_label(x, spec.xlabel, labels)}", fontsize=10)
    ax.grid(alpha=0.3)
    n = table["n"]
    note = f"mean over seeds (n={int(n.min())}" + (f"–{int(n.max())}" if n.max() != n.min() else "") + f"), {level:.0%} CI"
    if table.attrs.get("averaged_over"):
        note += "\naveraged over " + ", ".join(_label(c, None, labels) for c in table.attrs["averaged_over"])
    ax.legend(fontsize=7, title=note, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def to_bytes(fig, fmt: str) -> bytes:
    import matplotlib

    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; allowed: {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    # No time stamp and fixed SVG ids: the same data gives the same bytes.
    metadata = {"Date": None} if fmt == "svg" else None
    with matplotlib.rc_context({"svg.hashsalt": "agora"}):
        fig.savefig(buffer, format=fmt, dpi=120, metadata=metadata)
    return buffer.getvalue()


# --------------------------------------------------------------------------- sweeps


def sweep_figures(frame: pd.DataFrame) -> list[FigureSpec]:
    """The figures that apply to this sweep's table: the generic welfare figure, then the world's standard ones."""
    world = frame.attrs.get("world", "")
    specs = [FigureSpec("welfare", metric="welfare", title="Welfare vs. parameter", theory=WELFARE_THEORY.get(world))]
    specs += STANDARD.get(world, [])
    applicable = []
    for spec in specs:
        try:
            applicable.append(resolve(frame, spec))
        except PlotError:
            continue
    return applicable


def custom_figure(metric: str = "welfare", x: str | None = None, hue: str | None = None,
                  theory: tuple[str, ...] | None = None) -> FigureSpec:
    name = metric.replace("/", "_per_").replace(".", "_") + (f"_vs_{x.replace('.', '_')}" if x else "")
    return FigureSpec(name, metric=metric, x=x, hue=hue, theory=theory)


def write_figure(frame: pd.DataFrame, spec: FigureSpec, out: str | Path, *, level: float = 0.95,
                 method: Method = "t", formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``<name>.png``, ``<name>.svg`` and ``<name>.csv`` (what is drawn) into ``out``."""
    spec = resolve(frame, spec)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = summary(frame, spec, level, method)
    paths = [out / f"{spec.name}.csv"]
    table.to_csv(paths[0], index=False)
    fig = draw(table, spec, level)
    for fmt in formats:
        path = out / f"{spec.name}.{fmt}"
        path.write_bytes(to_bytes(fig, fmt))
        paths.append(path)
    return paths


def write_sweep_figures(frame: pd.DataFrame, out: str | Path, **kwargs: Any) -> list[Path]:
    paths: list[Path] = []
    for spec in sweep_figures(frame):
        paths += write_figure(frame, spec, out, **kwargs)
    return paths


def available_sweep_plots(store, sweep_id: str) -> list[str]:
    from simulator.sweep import table

    return [spec.name for spec in sweep_figures(table(store, sweep_id))]


def plot_sweep(store, sweep_id: str, name: str, fmt: str = "png", *, level: float = 0.95, method: Method = "t") -> bytes:
    """One of the sweep's figures as PNG or SVG bytes; ``PlotNotFound`` for a name it does not have."""
    from simulator.sweep import table

    frame = table(store, sweep_id)
    specs = {spec.name: spec for spec in sweep_figures(frame)}
    if name not in specs:
        raise PlotNotFound(name)
    spec = specs[name]
    return to_bytes(draw(summary(frame, spec, level, method), spec, level), fmt)


def sweep_plot_csv(store, sweep_id: str, name: str, *, level: float = 0.95, method: Method = "t") -> str:
    """The CSV behind a sweep figure."""
    from simulator.sweep import table

    frame = table(store, sweep_id)
    specs = {spec.name: spec for spec in sweep_figures(frame)}
    if name not in specs:
        raise PlotNotFound(name)
    return summary(frame, specs[name], level, method).to_csv(index=False)


# --------------------------------------------------------------------------- single runs


def _series_measures(run: dict[str, Any]) -> list[str]:
    measures = (run.get("metrics") or {}).get("measures") or {}
    return [name for name, value in measures.items()
            if isinstance(value, list) and len(value) >= 2 and _numbers(value) is not None]


def available_plots(run: dict[str, Any]) -> list[str]:
    """Figures ``plot_run`` can draw for a stored run (``store.get_run(...)``): welfare, payoffs, strategy shares
    (the matrix game's population mode), list-valued measures."""
    metrics = run.get("metrics") or {}
    if not metrics:
        return []
    names = ["welfare"]
    if metrics.get("payoffs"):
        names.append("payoffs")
    if isinstance((metrics.get("measures") or {}).get("share_trajectory"), dict):
        names.append("shares")  # the matrix game's population mode
    return names + _series_measures(run)


DISTRIBUTION_ABOVE = 50  # agents: above this, payoffs are a histogram and an ECDF (bars would be unreadable)


def run_figure(store, run_id: str, name: str):
    """``(matplotlib Figure, DataFrame drawn)`` for one run's figure; ``PlotNotFound`` for an unknown name."""
    run = store.get_run(run_id)
    if name not in available_plots(run):
        raise PlotNotFound(name)
    import pandas as pd
    from matplotlib.figure import Figure

    from simulator.evolution_plot import draw_shares

    metrics = run["metrics"]
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    title = f"run {run_id} ({run['scenario_name']}, seed {run['seed']})"
    if name == "payoffs":
        data = pd.DataFrame({"agent": list(metrics["payoffs"]), "payoff": [float(v) for v in metrics["payoffs"].values()]})
        if len(data) > DISTRIBUTION_ABOVE:
            _draw_distribution(fig, data["payoff"], f"Payoffs of {len(data):,} agents — {title}")
            return fig, data
        ax = fig.subplots()
        ax.bar(data["agent"], data["payoff"])
        ax.set_xlabel("agent")
        ax.set_ylabel("payoff")
        ax.set_title(f"Payoffs — {title}", fontsize=10)
        if len(data) > 6:
            ax.tick_params(axis="x", rotation=45)
    elif name == "welfare":
        ax = fig.subplots()
        data = _draw_welfare(ax, store, run)
        ax.set_title(f"Welfare — {title}", fontsize=10)
    elif name == "shares":
        ax = fig.subplots()
        theory = metrics.get("theory") or {}
        data = draw_shares(ax, metrics["measures"]["share_trajectory"], theory.get("mean_dynamic"), theory.get("replicator_rest_points"))
        ax.set_title(f"Strategy shares — {title}", fontsize=10)
    else:
        ax = fig.subplots()
        series = _numbers(metrics["measures"][name])
        data = pd.DataFrame({"index": range(len(series)), name: series})
        ax.plot(data["index"], data[name], marker="o" if len(series) <= 50 else None)
        ax.set_xlabel("round")
        ax.set_ylabel(name.replace("_", " "))
        ax.set_title(f"{name.replace('_', ' ')} — {title}", fontsize=10)
    for ax in fig.axes:
        ax.grid(alpha=0.3)
    return fig, data


def _draw_distribution(fig, values: pd.Series, title: str) -> None:
    """A histogram and the empirical CDF of ``values`` side by side."""
    hist, ecdf = fig.subplots(1, 2)
    hist.hist(values, bins=min(50, max(10, int(np.sqrt(len(values))))))
    hist.set_xlabel("payoff")
    hist.set_ylabel("agents")
    ecdf.ecdf(values)
    ecdf.set_xlabel("payoff")
    ecdf.set_ylabel("share of agents at or below")
    fig.suptitle(title, fontsize=10)


def welfare_theory(world: str, metrics: dict[str, Any]) -> tuple[str, str, float] | None:
    """The theory line of a welfare-over-time figure, from the world's ``paired`` declarations
    (``simulator.comparison``): ``(label, "total" | "per step", value)``.

    A pair whose simulated side is ``welfare`` gives a total (the level the cumulative
    welfare should reach); ``welfare / measures.<n>`` or ``measures.welfare_per_round`` a
    value per round or episode (the line rises by it at each step that pays). The first
    such pair wins; ``None`` when the world has no welfare theory for this configuration.
    """
    from simulator import worlds as world_registry
    from simulator.comparison import resolve

    cls = world_registry.get_world(world)
    for pairing in getattr(cls, "paired", ()):
        value = resolve(pairing.theory, metrics)
        if _numbers(value) is None or len(_numbers(value)) != 1:
            continue
        if pairing.simulated == "welfare":
            return pairing.quantity, "total", _numbers(value)[0]
        if pairing.simulated.startswith("welfare / ") or pairing.simulated == "measures.welfare_per_round":
            return pairing.quantity, "per step", _numbers(value)[0]
    return None


def _draw_welfare(ax, store, run: dict[str, Any]) -> pd.DataFrame:
    """Cumulative welfare over simulated time with the world's theory line (``welfare_theory``), or, for a run
    that logged no payoffs, bars of the simulated and the theoretical total."""
    import pandas as pd

    metrics = run["metrics"]
    theory = welfare_theory(run["world"], metrics)
    data = _welfare_over_time(store, run)
    if data is not None:
        ax.plot(data["t"], data["welfare"], drawstyle="steps-post", label="simulated")
        if theory is not None:
            label, kind, value = theory
            data["theory"] = value * data["steps"] if kind == "per step" else value
            ax.plot(data["t"], data["theory"], linestyle="--", color="grey", drawstyle="steps-post", label=f"theory: {label}")
        ax.set_xlabel("simulated time")
        ax.set_ylabel("cumulative welfare")
        ax.legend(fontsize=8)
        return data.drop(columns="steps")
    values = {"simulated": float(metrics.get("welfare") or 0.0)}
    if theory is not None:
        label, kind, value = theory
        steps = (metrics.get("measures") or {}).get("rounds") or (metrics.get("measures") or {}).get("episodes")
        if kind == "total":
            values[f"theory: {label}"] = value
        elif _numbers(steps) is not None and len(_numbers(steps)) == 1:
            values[f"theory: {label}"] = value * _numbers(steps)[0]
    data = pd.DataFrame({"quantity": list(values), "welfare": list(values.values())})
    ax.bar(data["quantity"], data["welfare"])
    ax.set_ylabel("welfare")
    ax.tick_params(axis="x", rotation=20)
    return data


def _welfare_over_time(store, run: dict[str, Any]) -> pd.DataFrame | None:
    """Cumulative welfare over simulated time (``welfare_steps``) as a table; ``None`` when no event paid."""
    import pandas as pd

    points, _ = welfare_steps(store, run)
    return pd.DataFrame(points, columns=["t", "welfare", "steps"]) if points else None


def gained(data: dict[str, Any]) -> float | None:
    """The welfare an event's data report: the sum of ``payoffs`` (a list or a mapping), a ``payoff`` or a
    ``realised`` utility (off-switch episodes); ``None`` for an event that reports none."""
    payoffs = data.get("payoffs")
    if isinstance(payoffs, (list, dict)):
        return _total(payoffs.values() if isinstance(payoffs, dict) else payoffs)
    for key in ("payoff", "realised"):
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


_STEPS: "OrderedDict[tuple, tuple[list[tuple[float, float, int]], int]]" = OrderedDict()
_steps_lock = threading.Lock()


def welfare_steps(store, run: dict[str, Any]) -> tuple[list[tuple[float, float, int]], int]:
    """``([(t, cumulative welfare, k)], events read)`` over a run's whole event log, one point per event that
    reports welfare (``gained``; ``k`` counts them). The welfare figure and the run page's chart
    (``simulator/welfare_series.py``) read it; an ended run's is kept (a few runs), so the two read the log once."""
    version = figure_cache.version_of(run)
    key = (str(getattr(store, "path", id(store))), run["id"], version)
    with _steps_lock:  # concurrent requests for one run's figure and chart: the second waits for the first's reading
        if version is not None and key in _STEPS:
            _STEPS.move_to_end(key)
            return _STEPS[key]
        total, points, read = 0.0, [], 0
        for event in store.iter_events(run["id"], page=10_000):
            read += 1
            value = gained(event["data"])
            if value is not None:
                total += value
                points.append((event["t"], total, len(points) + 1))
        if version is not None:
            _STEPS[key] = (points, read)
            while len(_STEPS) > 8:
                _STEPS.popitem(last=False)
        return points, read


def _total(values) -> float:
    """The sum of the numbers among ``values`` (C-speed ``sum`` when all are numbers: a 2,000-agent round)."""
    values = list(values)
    try:
        return float(sum(values))
    except TypeError:  # a None or a nested value among them: keep the numbers only
        return float(sum(v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)))


# A run's figures are immutable once it has ended: cache their bytes by store, run, name and format, keyed
# also on the row's end time and status (``figure_cache.version_of``) so that a run stored again under the
# same id (a resumed sweep's cell) is drawn again. Runs still going are never cached. In this process's
# memory, and on disk beside an SQLite store (``simulator.figure_cache``), where the API's run workers put
# them as each run ends.
_CACHE: "OrderedDict[tuple, bytes]" = OrderedDict()
CACHE_SIZE = 256


def plot_run(store, run_id: str, name: str, fmt: str = "png") -> bytes:
    """One run's figure as PNG or SVG bytes (cached once the run has ended). ``PlotNotFound`` for an unknown name."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; allowed: {', '.join(FORMATS)}")
    row = store.get_run(run_id)
    version = figure_cache.version_of(row)
    key = (str(getattr(store, "path", id(store))), run_id, name, fmt, version)
    if version is not None and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    disk = figure_cache.for_store(store) if version is not None else None
    image = disk.get(run_id, name, fmt, version) if disk is not None else None
    if image is None:
        fig, _ = run_figure(store, run_id, name)
        image = to_bytes(fig, fmt)
        if disk is not None:
            disk.put(run_id, name, fmt, version, image)
    if version is not None:
        _CACHE[key] = image
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return image


def forget_drawn() -> None:
    """Drop what this process keeps in memory of drawn run figures and welfare readings (not the disk cache)."""
    with _steps_lock:
        _STEPS.clear()
    _CACHE.clear()


def draw_run_figures(store, run_id: str, fmt: str = "png") -> list[str]:
    """Draw every figure of an ended run into the caches (``plot_run``); the names drawn."""
    names = available_plots(store.get_run(run_id))
    for name in names:
        plot_run(store, run_id, name, fmt)
    return names


def write_run_figures(store, run_id: str, out: str | Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in available_plots(store.get_run(run_id)):
        fig, data = run_figure(store, run_id, name)
        csv = out / f"{name}.csv"
        data.to_csv(csv, index=False)
        paths.append(csv)
        for fmt in FORMATS:
            path = out / f"{name}.{fmt}"
            path.write_bytes(to_bytes(fig, fmt))
            paths.append(path)
    return paths
