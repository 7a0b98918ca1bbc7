"""What the routes do, as plain functions over a ``Store`` (the routes stay thin).

Scenario handling is the CLI's own: a request's scenario is parsed and validated
once into a ``simulator.scenario.LoadedScenario`` (``parse_scenario``), as
``agora run`` reads a file; runs execute through
``simulator.run.stored_run`` in the worker pool; everything is stored in the
same SQLite store as ``agora run``.
"""

from __future__ import annotations

import base64
import copy
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from api import trust
from api.errors import ProblemException, scenario_errors
from api.schemas import RunCreate, ScenarioInput
from api.settings import Settings
from api.trust import Untrusted
from api.worker import QueueFull, RunPool
from simulator.comparison import comparison_for
from simulator.parsing import MAX_NODES, parse_document, parse_value
from simulator.scenario import LoadedScenario, ScenarioError, parse_override, parse_scenario
from simulator.store import FINAL, Store

STORE_MAX_SEED = 2**63 - 1
MAX_YAML_NODES = 100_000  # after alias expansion (AGORA_MAX_YAML_NODES): refuses "billion laughs" documents

_local = threading.local()


def thread_store(path: Path) -> Store:
    """One store connection per thread and file (sqlite3 connections are not shared across threads)."""
    stores = _local.__dict__.setdefault("stores", {})
    key = str(path)
    if key not in stores:
        stores[key] = Store(path, recover=False)
    return stores[key]


class ThreadStore:
    """A ``Store`` stand-in that uses the calling thread's connection for every call.

    FastAPI may resolve a dependency in one worker thread and run the endpoint
    in another, so the dependency hands out this proxy, never a connection.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(thread_store(self.path), name)


# --------------------------------------------------------------------------- scenarios


def shipped_scenarios(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.is_file()) if folder.is_dir() else []


def shipped_scenario(folder: Path, name: str) -> Path:
    stem = name[:-5] if name.endswith(".yaml") else name
    for path in shipped_scenarios(folder):
        if path.stem == stem:
            return path
    available = ", ".join(p.stem for p in shipped_scenarios(folder)) or "none"
    raise ProblemException(404, "scenario-not-found", f"no shipped scenario {name!r}; available: {available}", title="Scenario not found")


def check_yaml_size(text: str, source: str, max_nodes: int = MAX_YAML_NODES) -> None:
    """Refuse YAML whose alias expansion, nesting or node count passes the server's limit
    (``simulator.parsing``, the CLI's parser, with ``AGORA_MAX_YAML_NODES``); for game files."""
    parse_document(text, source, max_nodes=max_nodes)


def untrusted_problem(exc: Untrusted) -> ProblemException:
    count = len(exc.refusals)
    detail = (f"the server's settings refuse {count} field{'s' if count != 1 else ''} of this scenario: "
              + "; ".join(f"{r.path}: {r.message} (setting: {r.setting})" for r in exc.refusals[:5]))
    return ProblemException(422, "untrusted-scenario", detail, title="Refused by the server's trust settings",
                            errors=[r.to_dict() for r in exc.refusals])


def parse_overrides(items: list[str], settings: Settings) -> list[tuple[str, Any]]:
    """``key=value`` overrides under the server's size and YAML-node limits."""
    size = trust.size_of_overrides(items)
    if size > settings.max_overrides:
        raise untrusted_problem(Untrusted([trust.Refusal(
            "overrides", f"{size:,} bytes of overrides; allowed: at most {settings.max_overrides:,}", "AGORA_MAX_OVERRIDES")]))
    overrides = []
    for item in items:
        key, _, raw = item.partition("=")
        if raw.strip():
            parse_value(raw, key.strip(), max_nodes=settings.max_yaml_nodes)
        overrides.append(parse_override(item))
    return overrides


def input_text(body: ScenarioInput, scenarios: Path) -> tuple[str, str, Path | None]:
    """The scenario text of a request, its source name, and (for a shipped file) its folder."""
    if body.file is not None:
        path = shipped_scenario(scenarios, body.file)
        return path.read_text(), path.name, path.parent
    if isinstance(body.scenario, str):
        return body.scenario, "<scenario>", None
    return yaml.safe_dump(body.scenario, sort_keys=False, allow_unicode=True), "<scenario>", None


def yaml_node_limit(settings: Settings) -> int:
    """The server's YAML node limit, never above the parser's own (``simulator.parsing.MAX_NODES``)."""
    return min(settings.max_yaml_nodes, MAX_NODES)


def load_input(body: ScenarioInput, settings: Settings) -> LoadedScenario:
    """The scenario of a request (text, object or shipped file), parsed and validated once as `agora run`
    does, then checked against the server's trust settings and limits (``api/trust.py``): an untrusted scenario."""
    overrides = parse_overrides(body.overrides, settings)
    text, source, folder = input_text(body, settings.scenarios)
    try:  # the trust check runs inside validation (the context's screen, before the world is built) and on the result
        loaded = parse_scenario(text, source, overrides, trust.context(settings, folder), max_nodes=yaml_node_limit(settings))
        trust.check(trust.scenario_data(loaded.scenario), settings)
    except Untrusted as exc:
        raise untrusted_problem(exc) from None
    if body.name:
        loaded.scenario.name = body.name
    return loaded


def validate(body: ScenarioInput, settings: Settings) -> dict[str, Any]:
    try:
        scenario = load_input(body, settings).scenario
    except ScenarioError as exc:
        return {"valid": False, "problems": scenario_errors(exc)}
    except ProblemException as exc:
        if exc.kind != "untrusted-scenario":
            raise
        return {"valid": False, "problems": exc.errors or []}
    warnings = [p.to_dict() | {"text": str(p)} for p in scenario.warnings]
    return {"valid": True, "name": scenario.name, "world": scenario.world_type, "problems": [], "warnings": warnings}


# Checked shipped files by (path, mtime in ns, size): validating every file imports every world and
# builds each one's settings (seconds), and GET /scenarios lists them all on each call.
# One entry per path (an edited file replaces its entry).
_checked: dict[str, tuple[tuple[int, int], dict[str, Any], str]] = {}   # path -> (mtime and size, info, text)
_checked_lock = threading.Lock()


def scenario_info(path: Path, with_text: bool = False) -> dict[str, Any]:
    """A shipped scenario's name, description and world (read even from an invalid file) and its problems.

    Cached by the file's path, modification time and size, so an edited file is checked again; a file the
    scenario names (a game or data file) is not watched: its change shows after the server restarts.
    """
    stat = path.stat()
    where, version = str(path.absolute()), (stat.st_mtime_ns, stat.st_size)
    with _checked_lock:
        seen, known, text = _checked.get(where, (None, None, ""))
    if known is None or seen != version:
        text = path.read_text()   # read once: checked now, shown later from the cache
        known = check_scenario_file(path, text)
        with _checked_lock:
            _checked[where] = (version, known, text)
    info = copy.deepcopy(known)  # the caller may change its copy
    if with_text:
        info["text"] = text
    return info


def check_scenario_file(path: Path, text: str) -> dict[str, Any]:
    """``scenario_info`` without the cache and the text."""
    info: dict[str, Any] = {"name": path.stem, "file": path.name, "valid": True, "problems": []}
    try:
        data, positions = parse_document(text, path.name)
        if isinstance(data, dict):
            info["description"] = str(data.get("description") or "")
            if isinstance(data.get("world"), dict):
                info["world"] = data["world"].get("type")
        LoadedScenario.from_document(text, path.name, data, positions)
    except ScenarioError as exc:
        info["valid"], info["problems"] = False, scenario_errors(exc)
    return info


# --------------------------------------------------------------------------- runs


def run_view(run: dict[str, Any], *, with_text: bool = False) -> dict[str, Any]:
    view = {k: v for k, v in run.items() if k not in ("order", "scenario_text", "host", "pid", "rowid_order")}
    started, created = run.get("started_at"), run.get("created_at")
    view["queued_seconds"] = (started - created) if started and created else None
    view.setdefault("metrics", {})
    if with_text:  # the run detail: also theory beside simulation, as the CLI and the notebook API show it
        view["scenario_text"] = run["scenario_text"]
        view["comparison"] = [row.to_dict() for row in comparison_for(run["world"], view["metrics"] or {})]
    base = f"/runs/{run['id']}"
    view["links"] = {"self": base, "events": f"{base}/events", "stream": f"{base}/stream", "plots": f"{base}/plots"}
    return view


def submit(store: Store, pool: RunPool, body: RunCreate, settings: Settings) -> dict[str, Any]:
    loaded = load_input(body, settings)
    scenario = loaded.scenario
    if pool.full():
        raise _queue_full(pool)
    seed = scenario.seed if body.seed is None else body.seed
    if seed > STORE_MAX_SEED:  # a 64-bit seed validates, but the store's INTEGER column holds 63 bits
        raise ProblemException(422, "invalid-scenario", f"seed: {seed} is too large; allowed: 0 .. {STORE_MAX_SEED} (2**63 - 1)",
                               title="Invalid scenario", errors=[{"path": "seed", "message": f"allowed: 0 .. {STORE_MAX_SEED}"}])
    run_id = store.create_run(
        scenario_name=scenario.name, world=scenario.world_type, scenario_text=loaded.text, seed=seed,
        overrides=list(loaded.overrides), status="queued",
    )
    view = run_view(store.get_run(run_id))  # as submitted: 'queued'
    try:
        pool.submit(run_id)
    except QueueFull:
        store.delete_run(run_id)
        raise _queue_full(pool) from None
    return view


def _queue_full(pool: RunPool) -> ProblemException:
    return ProblemException(
        503, "queue-full", f"the run queue is full ({pool.max_queue} runs waiting); retry later",
        title="Run queue full", headers={"Retry-After": "5"},
    )


def encode_cursor(order: int) -> str:
    return base64.urlsafe_b64encode(f"o{order}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("o"):
            raise ValueError
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError):
        raise ProblemException(
            422, "invalid-request", "cursor is not one this API returned; pass next_cursor from the previous page",
            title="Invalid request", errors=[{"path": "query.cursor", "message": "not a cursor from a previous page"}],
        ) from None


def list_runs(store: Store, *, limit: int, cursor: str | None, world: str | None, status: str | None, scenario: str | None) -> dict[str, Any]:
    before = decode_cursor(cursor) if cursor else None
    rows = store.list_runs(limit=limit + 1, before=before, world=world, status=status, scenario=scenario, metrics=True)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [run_view(row) for row in rows]  # metrics came with the page: no query per row
    return {"items": items, "next_cursor": encode_cursor(rows[-1]["order"]) if more and rows else None}


def events_page(store: Store, run_id: str, *, after: int, limit: int) -> dict[str, Any]:
    store.get_run(run_id)  # 404 for an unknown run
    items = store.events(run_id, after=after, limit=limit)
    return {"items": items, "next_after": items[-1]["seq"] if len(items) == limit else None}


def cancel(store: Store, pool: RunPool, run_id: str, wait: float = 2.0) -> tuple[dict[str, Any], bool]:
    """Cancel a queued or running run; returns the run and whether it has already ended."""
    run = store.get_run(run_id)
    if run["status"] in FINAL:
        raise ProblemException(409, "run-ended", f"run {run_id!r} is already {run['status']}; there is nothing to cancel", title="Run already ended")
    outcome = pool.cancel(run_id)
    if outcome is None:
        raise ProblemException(
            409, "run-not-owned",
            f"run {run_id!r} is {run['status']} in another process (pid {run['pid']} on {run['host']}), "
            "not in this server's pool; stop it there",
            title="Run not executed by this server",
        )
    if outcome == "dequeued":
        store.fail_run(run_id, "cancelled", "cancelled before it started")
    deadline = time.monotonic() + wait
    while True:
        run = store.get_run(run_id)
        if run["status"] in FINAL or time.monotonic() > deadline:
            return run_view(run), run["status"] in FINAL
        time.sleep(0.05)
