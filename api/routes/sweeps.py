"""``/sweeps``: submit a sweep (202 + Location), follow it, get its tidy table and its figures.

The same code as ``agora sweep`` / ``agora plot``: ``simulator.sweep`` plans
and runs the cells (a process pool of ``AGORA_API_WORKERS`` processes, in a
background thread of the server; each finished cell is a stored run with
``sweep_id``), ``simulator.plots`` draws the figures.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from api import services
from api.deps import SettingsDep, StoreDep
from api.errors import ProblemException
from api.schemas import RUN_ID, Problem, ScenarioInput
from simulator.store import Store, SweepNotFound

router = APIRouter(prefix="/sweeps", tags=["sweeps"])

SweepId = Annotated[str, Path(pattern=RUN_ID, description="sweep id, as in Location of POST /sweeps")]
PlotName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="figure name, see GET /sweeps/{id}/plots")]


class SweepCreate(ScenarioInput):
    """A scenario with a ``sweep:`` block (YAML text, JSON object or a shipped file such as sweep_matrix_game)."""

    workers: int | None = Field(None, ge=1, le=64, description="worker processes (default: AGORA_API_WORKERS)")


class Sweep(BaseModel):
    id: str
    scenario_name: str
    world: str
    status: str = Field(description="running, finished, failed (some cells failed), interrupted")
    n_cells: int
    done: int = Field(description="cells with a finished run")
    progress: float = Field(description="done / n_cells")
    runs: dict[str, int] = Field(description="stored runs of this sweep by status")
    spec: dict[str, Any] = Field(description="the sweep: block")
    created_at: float
    finished_at: float | None = None
    error: str | None = None
    links: dict[str, str] = Field(default_factory=dict)


class SweepList(BaseModel):
    items: list[Sweep]


class PlotList(BaseModel):
    items: list[str] = Field(description="figure names for GET /sweeps/{id}/plots/{name}.png|svg|csv")


def _view(sweep: dict[str, Any]) -> dict[str, Any]:
    done = sweep["runs"].get("finished", 0) + sweep["runs"].get("budget_exhausted", 0)
    base = f"/sweeps/{sweep['id']}"
    return {
        **{k: sweep[k] for k in ("id", "scenario_name", "world", "status", "n_cells", "runs", "spec", "created_at", "finished_at", "error")},
        "done": done, "progress": done / max(1, sweep["n_cells"]),
        "links": {"self": base, "table": f"{base}/table.csv", "plots": f"{base}/plots"},
    }


def _sweep(store: Store, sweep_id: str) -> dict[str, Any]:
    try:
        return store.get_sweep(sweep_id)
    except SweepNotFound:
        raise ProblemException(404, "sweep-not-found", f"no sweep {sweep_id!r} in the store (see GET /sweeps)", title="Sweep not found") from None


def _start(request: Request, settings: Any, sweep_id: str, workers: int | None) -> None:
    """Run the sweep's missing cells in a background thread (one per sweep)."""
    from simulator.sweep import execute_sweep

    threads: dict[str, threading.Thread] | None = getattr(request.app.state, "sweep_threads", None)
    if threads is None:
        threads = request.app.state.sweep_threads = {}
    if sweep_id in threads and threads[sweep_id].is_alive():
        raise ProblemException(409, "sweep-running", f"sweep {sweep_id!r} is running already", title="Sweep running")

    def work() -> None:
        with Store(settings.db, recover=False) as store:
            try:
                execute_sweep(sweep_id, store=store, executor="process", workers=workers or settings.api_workers)
            except Exception as exc:  # recorded on the sweep; the server goes on
                store.set_sweep_status(sweep_id, "interrupted", f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=work, name=f"sweep-{sweep_id}", daemon=True)
    threads[sweep_id] = thread
    thread.start()


@router.post("", status_code=202, response_model=Sweep, summary="Submit a sweep")
def submit_sweep(body: SweepCreate, request: Request, response: Response, store: StoreDep, settings: SettingsDep) -> dict:
    """Validate the scenario and its ``sweep:`` block (422 with lines if wrong), store the sweep and run its
    cells in the background. Follow ``Location``; each finished cell is a run with this ``sweep_id``."""
    from simulator.scenario import parse_override
    from simulator.sweep import create_sweep, plan_sweep

    overrides = [parse_override(item) for item in body.overrides]
    if body.file is not None:
        path = services.shipped_scenario(settings.scenarios, body.file)
        text, source = path.read_text(), path.name
    else:
        _, text, _ = services.load_input(ScenarioInput(scenario=body.scenario), settings.scenarios)
        source = "<scenario>"
    plan = plan_sweep(text=text, source=source, overrides=overrides, name=body.name)
    sweep_id = create_sweep(plan, store)
    _start(request, settings, sweep_id, body.workers)
    response.headers["Location"] = f"/sweeps/{sweep_id}"
    return _view(store.get_sweep(sweep_id))


@router.get("", response_model=SweepList, summary="List sweeps, newest first")
def list_sweeps(store: StoreDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict:
    return {"items": [_view(store.get_sweep(row["id"])) for row in store.list_sweeps(limit=limit)]}


@router.get("/{sweep_id}", response_model=Sweep, summary="One sweep: status, cells done, spec")
def get_sweep(sweep_id: SweepId, store: StoreDep) -> dict:
    return _view(_sweep(store, sweep_id))


@router.post(
    "/{sweep_id}/resume", status_code=202, response_model=Sweep, summary="Run the cells an interrupted sweep is missing",
    responses={409: {"model": Problem, "description": "the sweep is running or has finished every cell"}},
)
def resume_sweep(sweep_id: SweepId, request: Request, response: Response, store: StoreDep, settings: SettingsDep,
                 workers: Annotated[int | None, Query(ge=1, le=64)] = None) -> dict:
    sweep = _sweep(store, sweep_id)
    if sweep["status"] == "finished":
        raise ProblemException(409, "sweep-finished", f"sweep {sweep_id!r} has finished every cell", title="Sweep finished")
    if sweep["status"] == "running":
        raise ProblemException(409, "sweep-running", f"sweep {sweep_id!r} is running (process {sweep['pid']})", title="Sweep running")
    store.set_sweep_status(sweep_id, "running")
    _start(request, settings, sweep_id, workers)
    response.headers["Location"] = f"/sweeps/{sweep_id}"
    return _view(store.get_sweep(sweep_id))


@router.get(
    "/{sweep_id}/table.{fmt}", response_class=Response, summary="The tidy table: one row per run (CSV or Parquet)",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}},
                                 "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "parameters, seed and flattened metrics of every stored run"},
               501: {"model": Problem, "description": "Parquet asked for but pyarrow is not installed on the server"}},
)
def get_table(sweep_id: SweepId, fmt: Literal["csv", "parquet"], store: StoreDep) -> Response:
    import io

    from simulator.sweep import table

    _sweep(store, sweep_id)
    frame = table(store, sweep_id)
    if fmt == "csv":
        return Response(frame.to_csv(index=False), media_type="text/csv")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ProblemException(501, "parquet-unavailable", "Parquet needs pyarrow on the server (pip install 'agora[parquet]'); use table.csv") from None
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return Response(buffer.getvalue(), media_type="application/vnd.apache.parquet")


@router.get("/{sweep_id}/plots", response_model=PlotList, summary="The figures this sweep has")
def list_plots(sweep_id: SweepId, store: StoreDep) -> dict:
    from simulator.plots import available_sweep_plots

    _sweep(store, sweep_id)
    return {"items": available_sweep_plots(store, sweep_id)}


@router.get(
    "/{sweep_id}/plots/{name}.{fmt}", response_class=Response,
    summary="A figure of the sweep (PNG or SVG), or the CSV it plots",
    responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}},
                                 "image/svg+xml": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}},
                     "description": "the figure, or (csv) its means and confidence bounds"},
               409: {"model": Problem, "description": "the sweep has no finished runs to plot yet"}},
)
def get_plot(
    sweep_id: SweepId, name: PlotName, fmt: Literal["png", "svg", "csv"], store: StoreDep,
    ci: Annotated[Literal["t", "bootstrap"], Query(description="confidence interval method")] = "t",
    level: Annotated[float, Query(ge=0.5, le=0.999, description="confidence level")] = 0.95,
) -> Response:
    """Mean over seeds with its confidence band, theory lines where the world reports them
    (``simulator.plots``, as `agora plot`); 404 for a figure this sweep does not have."""
    from simulator.plots import PlotError, plot_sweep, sweep_plot_csv

    _sweep(store, sweep_id)
    try:
        if fmt == "csv":
            return Response(sweep_plot_csv(store, sweep_id, name, level=level, method=ci), media_type="text/csv")
        data = plot_sweep(store, sweep_id, name, fmt, level=level, method=ci)
    except KeyError:
        raise ProblemException(404, "plot-not-found", f"sweep {sweep_id!r} has no figure {name!r} (see GET /sweeps/{sweep_id}/plots)",
                               title="Plot not found") from None
    except PlotError as exc:
        raise ProblemException(409, "plot-unavailable", str(exc), title="Plot unavailable") from None
    return Response(data, media_type="image/png" if fmt == "png" else "image/svg+xml")
