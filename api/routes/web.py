"""The run browser: a web page served by ``agora serve`` itself (no front-end server, no build step).

``/`` and ``/ui/...`` answer with one small HTML shell (``api/web/index.html``)
that loads ``api/web/app.js`` and ``api/web/style.css``; the script reads the
path and draws the page from the REST API (``/runs``, ``/sweeps``,
``/scenarios``) with ``fetch``:

==================================  =============================================
``/``                               runs and sweeps, filterable and paginated
``/ui/new``                         start a run from a shipped scenario
``/ui/runs/{id}``                   one run: live progress (SSE), scenario,
                                    parameters, theory beside simulation, plots
``/ui/runs/{id}/conversations``     marketplace runs: one customer's searches,
                                    messages, proposals and payments
``/ui/sweeps/{id}``                 a sweep's figures and tidy table (CSV)
==================================  =============================================

The shell and the static files are public (they hold no data); every data
call, including the two helpers below, needs the API key when
``AGORA_API_KEY`` is set: the page asks for it once, keeps it in the browser's
storage and sends it as ``Authorization: Bearer``.

* ``GET /ui/api/runs/{id}/details``: the run's validated parameters (the world
  config with its defaults filled in, the agents, the run options, the
  overrides), as ``agora run`` saw them.
* ``GET /ui/api/runs/{id}/series``: welfare over simulated time and its theory line (``simulator/welfare_series.py``).
* ``GET /ui/api/compare?ids=A&ids=B``: runs side by side, parameters diffed (``api/web/compare.py``).
* ``GET /ui/api/worlds`` and ``/ui/api/worlds/{world}``: the editor's field help (``simulator.reference``)
  and a blank scenario per world (``api/web/templates.py``).
* ``GET /ui/api/runs/{id}/market``: for a marketplace run, the customers
  (name, request, items with willingness to pay, required amenities) and the
  businesses (name, rating, amenities) behind the ids in its event log, rebuilt
  from the run's own scenario exactly as the world built them.

These routes are left out of the OpenAPI schema: they serve the page, not API
clients.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path as PathParam, Query
from fastapi.responses import FileResponse, HTMLResponse

from api.deps import SettingsDep, StoreDep, require_api_key
from api.errors import ProblemException
from api.schemas import RUN_ID

router = APIRouter(include_in_schema=False, tags=["web"])
public = True  # the shell and static files; data routes below depend on require_api_key themselves

WEB = Path(__file__).resolve().parent.parent / "web"
STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
# The page loads nothing from elsewhere; plots arrive as blobs fetched with the bearer key.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
RunId = Annotated[str, PathParam(pattern=RUN_ID)]
Auth = [Depends(require_api_key)]


@cache
def _asset_version() -> str:
    digest = hashlib.sha256()
    for name in sorted(STATIC):
        digest.update((WEB / name).read_bytes())
    return digest.hexdigest()[:10]


def _shell() -> HTMLResponse:
    html = (WEB / "index.html").read_text().replace("{{v}}", _asset_version())
    return HTMLResponse(html, headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin", "Cache-Control": "no-cache",
    })


@router.get("/ui/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC:
        raise ProblemException(404, "not-found", f"no static file {name!r}", title="Not found")
    return FileResponse(WEB / name, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=86400",
                                                                      "X-Content-Type-Options": "nosniff"})


# --------------------------------------------------------------------------- data helpers (need the key)


@router.get("/ui/api/runs/{run_id}/details", dependencies=Auth)
def run_details(run_id: RunId, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    run = store.get_run(run_id)
    out: dict[str, Any] = {"parameters": None, "problem": None, "events_logged": store.count_events(run_id)}
    try:
        scenario = _scenario(run, settings)
    except Exception as exc:  # a run stored by an older version may no longer validate: say so, show the text
        out["problem"] = f"the stored scenario does not validate with this version: {exc}"
        return out
    world = scenario.world_config.model_dump(mode="json") if scenario.world_config is not None else scenario.world
    agents = {k: (v if isinstance(v, str) else v.model_dump(mode="json")) for k, v in scenario.agents.items()}
    out["parameters"] = {"seed": run["seed"], "world": world, "agents": agents,
                         "run": scenario.run.model_dump(mode="json"), "overrides": run["overrides"]}
    return out


@router.get("/ui/api/runs/{run_id}/series", dependencies=Auth)
def run_series(run_id: RunId, store: StoreDep) -> dict[str, Any]:
    from simulator.welfare_series import cached_welfare_series

    return cached_welfare_series(store, store.get_run(run_id))


MAX_COMPARED = 50


@router.get("/ui/api/compare", dependencies=Auth)
def compare_runs(store: StoreDep, ids: Annotated[list[str], Query(max_length=MAX_COMPARED)]) -> dict[str, Any]:
    from api import services
    from api.web.compare import compare

    runs = []
    for run_id in dict.fromkeys(ids):
        if not re.fullmatch(RUN_ID, run_id):
            raise ProblemException(422, "invalid-request", f"ids: {run_id[:80]!r} is not a run id", title="Invalid request",
                                   errors=[{"path": "query.ids", "message": "letters, digits, _ and -, at most 64"}])
        runs.append(services.run_view(store.get_run(run_id), with_text=True))
    if len(runs) < 2:
        raise ProblemException(422, "invalid-request", "compare needs at least two different runs (?ids=A&ids=B)", title="Invalid request",
                               errors=[{"path": "query.ids", "message": "at least two run ids"}])
    return compare(runs)


@router.get("/ui/api/worlds", dependencies=Auth)
def worlds() -> list[dict[str, Any]]:
    from simulator import reference

    return reference.worlds()


@router.get("/ui/api/worlds/{world}", dependencies=Auth)
def world_help(world: Annotated[str, PathParam(pattern=r"^[a-z0-9_]{1,64}$")], settings: SettingsDep) -> dict[str, Any]:
    """The world's field reference (``agora schema WORLD --json``) and a blank scenario to start from."""
    from api import services
    from api.web.templates import blank
    from simulator import reference

    if world not in reference.world_names():
        raise ProblemException(404, "world-not-found", f"no world {world!r}; allowed: {', '.join(reference.world_names())}",
                               title="World not found")
    schema = reference.schema(world)
    from api.schemas import ScenarioInput

    def valid(text: str) -> bool:
        return bool(services.validate(ScenarioInput(scenario=text), settings)["valid"])

    return {**schema, "blank": blank(world, settings.scenarios, valid)}


_market_cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
_market_lock = threading.Lock()


@router.get("/ui/api/runs/{run_id}/market", dependencies=Auth)
def run_market(run_id: RunId, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    with _market_lock:
        if run_id in _market_cache:
            _market_cache.move_to_end(run_id)
            return _market_cache[run_id]
    run = store.get_run(run_id)
    if run["world"] != "marketplace":
        raise ProblemException(409, "not-a-marketplace", f"run {run_id!r} is a {run['world']} run; conversations exist for marketplace runs",
                               title="Not a marketplace run")
    try:
        market = _scenario(run, settings).world_config.market()
    except Exception as exc:
        raise ProblemException(409, "market-unavailable", f"cannot rebuild the market of run {run_id!r}: {exc}",
                               title="Market unavailable") from None
    body = {
        "customers": [{"id": c.id, "name": c.name, "request": c.request, "items": dict(c.menu_features),
                       "amenities": list(c.amenity_features)} for c in market.customers],
        "businesses": [{"id": b.id, "name": b.name, "rating": b.rating,
                        "amenities": [name for name, on in b.amenity_features.items() if on]} for b in market.businesses],
    }
    with _market_lock:
        _market_cache[run_id] = body
        while len(_market_cache) > 16:
            _market_cache.popitem(last=False)
    return body


def _scenario(run: dict[str, Any], settings: Any):
    """The run's scenario, validated as an untrusted one (api/trust.py): its market data only from the data roots."""
    from api import trust
    from simulator.scenario import load_scenario_text

    overrides = [tuple(item) for item in run.get("overrides") or []]
    return load_scenario_text(run["scenario_text"], f"run {run['id']}", overrides, trust.context(settings))


# --------------------------------------------------------------------------- the pages (public shell)


@router.get("/")
def home() -> HTMLResponse:
    return _shell()


@router.get("/ui")
def ui_root() -> HTMLResponse:
    return _shell()


@router.get("/ui/{page:path}")
def ui_page(page: str) -> HTMLResponse:
    if page.startswith(("api/", "static/")):
        raise ProblemException(404, "not-found", f"no route '/ui/{page}'", title="Not found")
    return _shell()
