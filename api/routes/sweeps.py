"""``/sweeps``: submit a sweep (202 + Location), follow it, get its tidy table and its figures.

The same code as ``agora sweep`` / ``agora plot``: ``simulator.sweep`` plans
and runs the cells and ``simulator.plots`` draws the figures. Cells run on the
server's run pool (``api.worker.SweepExecutor``): they queue behind the runs
submitted before them, share the ``AGORA_API_WORKERS`` worker processes, their
limits and scrubbed environment, and die with the server. A submitted sweep is
untrusted like a run (``api/trust.py``), every point of it included, and at
most ``AGORA_MAX_CELLS`` cells. ``DELETE /sweeps/{id}`` cancels one.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from api import services, trust
from api.deps import SettingsDep, StoreDep
from api.errors import ProblemException
from api.schemas import RUN_ID, Problem, ScenarioInput
from api.trust import Refusal, Untrusted
from simulator.scenario import ScenarioError
from simulator.store import Store, SweepNotFound

router = APIRouter(prefix="/sweeps", tags=["sweeps"])

SweepId = Annotated[str, Path(pattern=RUN_ID, description="sweep id, as in Location of POST /sweeps")]
PlotName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="figure name, see GET /sweeps/{id}/plots")]


class SweepCreate(ScenarioInput):
    """A scenario with a ``sweep:`` block (YAML text, JSON object or a shipped file such as sweep_matrix_game)."""

    workers: int | None = Field(None, ge=1, le=256, description="most cells of this sweep running at once, at most "
                                "AGORA_API_WORKERS (default: all the server's run workers, shared with runs)")


class Sweep(BaseModel):
    id: str
    scenario_name: str
    world: str
    status: str = Field(description="running, finished, failed (some cells failed), interrupted, cancelled")
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
    from simulator.sweep import DONE

    done = sum(sweep["runs"].get(status, 0) for status in DONE)
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
    """Run the sweep's missing cells from a background thread (one per sweep) on the server's run pool."""
    from api.worker import SweepExecutor
    from simulator.sweep import execute_sweep

    threads: dict[str, threading.Thread] | None = getattr(request.app.state, "sweep_threads", None)
    if threads is None:
        threads = request.app.state.sweep_threads = {}
    if sweep_id in threads and threads[sweep_id].is_alive():
        raise ProblemException(409, "sweep-running", f"sweep {sweep_id!r} is running already", title="Sweep running")
    executor = SweepExecutor(request.app.state.pool, sweep_id, cap=workers)

    def work() -> None:
        with Store(settings.db, recover=False) as store:
            try:
                execute_sweep(sweep_id, store=store, executor=executor)
            except Exception as exc:  # recorded on the sweep; the server goes on
                if store.get_sweep(sweep_id)["status"] not in ("cancelled",):
                    store.set_sweep_status(sweep_id, "interrupted", f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=work, name=f"sweep-{sweep_id}", daemon=True)
    threads[sweep_id] = thread
    thread.start()


def _check_workers(workers: int | None, settings: Any, field: str) -> None:
    if workers is not None and workers > settings.api_workers:
        raise services.untrusted_problem(Untrusted([Refusal(
            field, f"{workers} workers; allowed: at most {settings.api_workers} (the server's run workers, shared by runs and sweeps)",
            "AGORA_API_WORKERS")]))


def _cell_count(data: Any, overrides: list[tuple[str, Any]]) -> int:
    """Cells of a sweep from its parsed document, before any cell is validated (0 if the block is not valid yet)."""
    from simulator.scenario import apply_overrides
    from simulator.sweep_spec import SweepSpec

    if not isinstance(data, dict):
        return 0
    try:
        data = apply_overrides(data, overrides)
        spec = SweepSpec.model_validate(data.get("sweep"))
    except (ValueError, ScenarioError):
        return 0
    return spec.n_points() * spec.seeds


@router.post(
    "", status_code=202, response_model=Sweep, summary="Submit a sweep",
    responses={503: {"model": Problem, "description": "the run queue has no room for the sweep's cells; retry after Retry-After seconds"}},
)
def submit_sweep(body: SweepCreate, request: Request, response: Response, store: StoreDep, settings: SettingsDep) -> dict:
    """Validate the scenario and its ``sweep:`` block (422 with lines if wrong) and check it against the
    server's trust settings and limits, store the sweep and queue its cells on the server's run workers.
    Follow ``Location``; each finished cell is a run with this ``sweep_id``."""
    from simulator.parsing import parse_document
    from simulator.scenario import LoadedScenario, apply_overrides
    from simulator.sweep import create_sweep, plan_loaded

    _check_workers(body.workers, settings, "body.workers")
    overrides = services.parse_overrides(body.overrides, settings)
    text, source, folder = services.input_text(body, settings.scenarios)
    data, positions = parse_document(text, source, max_nodes=services.yaml_node_limit(settings))  # the one parse
    cells = _cell_count(data, overrides)
    if cells > settings.max_cells:  # before validating: every point of the sweep is validated
        raise services.untrusted_problem(Untrusted([Refusal(
            "sweep", f"{cells:,} cells (points x seeds); allowed: at most {settings.max_cells:,}", "AGORA_MAX_CELLS")]))
    context = trust.context(settings, folder)
    try:  # the context's screen refuses a point beyond the limits before validation builds its world
        loaded = LoadedScenario.from_document(text, source, data, positions, overrides, context)
        plan = plan_loaded(loaded, name=body.name, context=context)
    except Untrusted as exc:
        raise services.untrusted_problem(exc) from None
    _check_points(apply_overrides(data, overrides), plan.cells, settings)
    if request.app.state.pool.room() < len(plan.cells):
        raise ProblemException(503, "queue-full", f"the run queue has no room for {len(plan.cells):,} more cells; retry later",
                               title="Run queue full", headers={"Retry-After": "5"})
    sweep_id = create_sweep(plan, store)
    _start(request, settings, sweep_id, body.workers)
    response.headers["Location"] = f"/sweeps/{sweep_id}"
    return _view(store.get_sweep(sweep_id))


def _check_points(data: dict[str, Any], cells: list[dict[str, Any]], settings: Any) -> None:
    """The trust check on the sweep's base scenario (parsed, overrides applied) and on every point of it
    (a point may set any field)."""
    from simulator.scenario import apply_overrides

    base = {k: v for k, v in data.items() if k != "sweep"}
    found = trust.refusals(base, settings)
    for cell in cells:
        if found:
            break
        if cell["seed_index"] == 0:
            found = [Refusal(f"sweep point {json.dumps(cell['params'])[:200]}: {r.path}", r.message, r.setting)
                     for r in trust.refusals(apply_overrides(base, list(cell["params"].items())), settings)]
    if found:
        raise services.untrusted_problem(Untrusted(found))


@router.delete(
    "/{sweep_id}", response_model=Sweep, summary="Cancel a running sweep",
    responses={409: {"model": Problem, "description": "the sweep is not running in this server"}},
)
def cancel_sweep(sweep_id: SweepId, request: Request, store: StoreDep) -> dict:
    """Drop its queued cells, kill the workers running its cells, and mark it ``cancelled``; the cells
    that finished stay stored (``POST /sweeps/{id}/resume`` runs the rest later)."""
    sweep = _sweep(store, sweep_id)
    thread = (getattr(request.app.state, "sweep_threads", None) or {}).get(sweep_id)
    if thread is None or not thread.is_alive():
        raise ProblemException(409, "sweep-not-running", f"sweep {sweep_id!r} is {sweep['status']}, not running in this server",
                               title="Sweep not running")
    store.set_sweep_status(sweep_id, "cancelled", "cancelled by DELETE /sweeps/{id}")
    request.app.state.pool.cancel_tag(sweep_id)
    thread.join(15)
    store.set_sweep_status(sweep_id, "cancelled", "cancelled by DELETE /sweeps/{id}")
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
                 workers: Annotated[int | None, Query(ge=1, le=256)] = None) -> dict:
    sweep = _sweep(store, sweep_id)
    if sweep["status"] == "finished":
        raise ProblemException(409, "sweep-finished", f"sweep {sweep_id!r} has finished every cell", title="Sweep finished")
    if sweep["status"] == "running":
        raise ProblemException(409, "sweep-running", f"sweep {sweep_id!r} is running (process {sweep['pid']})", title="Sweep running")
    _check_workers(workers, settings, "query.workers")
    if len(sweep["cells"]) > settings.max_cells:
        raise services.untrusted_problem(Untrusted([Refusal(
            "sweep", f"{len(sweep['cells']):,} cells; allowed: at most {settings.max_cells:,}", "AGORA_MAX_CELLS")]))
    from simulator.parsing import parse_document

    stored, _ = parse_document(sweep["scenario_text"], sweep["source"])
    _check_points(stored, sweep["cells"], settings)  # it may come from the CLI
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
    from simulator.plots import PlotError, PlotNotFound, plot_sweep, sweep_plot_csv

    _sweep(store, sweep_id)
    try:
        if fmt == "csv":
            return Response(sweep_plot_csv(store, sweep_id, name, level=level, method=ci), media_type="text/csv")
        data = plot_sweep(store, sweep_id, name, fmt, level=level, method=ci)
    except PlotNotFound:
        raise ProblemException(404, "plot-not-found", f"sweep {sweep_id!r} has no figure {name!r} (see GET /sweeps/{sweep_id}/plots)",
                               title="Plot not found") from None
    except PlotError as exc:
        raise ProblemException(409, "plot-unavailable", str(exc), title="Plot unavailable") from None
    return Response(data, media_type="image/png" if fmt == "png" else "image/svg+xml")
