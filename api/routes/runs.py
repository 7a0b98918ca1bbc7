"""``/runs``: submit (202 + Location), list, show, events, live stream (SSE), cancel, plots."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from api import services
from api.deps import PoolDep, SettingsDep, StoreDep
from api.errors import ProblemException
from api.schemas import RUN_ID, EventPage, PlotList, Problem, Run, RunCreate, RunPage
from simulator.store import FINAL, Store

router = APIRouter(prefix="/runs", tags=["runs"])

RunId = Annotated[str, Path(pattern=RUN_ID, description="run id, as in Location of POST /runs")]
STREAM_POLL = 0.25  # seconds between looks at the store while streaming
STREAM_PING = 15.0  # seconds of silence before a keep-alive comment
_plot_lock = threading.Lock()  # matplotlib's state is not thread-safe


@router.post(
    "", status_code=202, response_model=Run, summary="Submit a run",
    responses={202: {"description": "queued", "headers": {"Location": {"description": "the run: /runs/{id}", "schema": {"type": "string"}}}},
               503: {"model": Problem, "description": "the run queue is full (AGORA_API_MAX_QUEUE); retry after Retry-After seconds"}},
)
def submit_run(body: RunCreate, response: Response, store: StoreDep, pool: PoolDep, settings: SettingsDep) -> dict:
    """Validate the scenario (422 with field paths and line numbers if it is wrong), store the run as
    ``queued`` and queue it for a worker. Follow ``Location`` or ``GET /runs/{id}/stream``."""
    run = services.submit(store, pool, body, settings)
    response.headers["Location"] = f"/runs/{run['id']}"
    return run


@router.get("", response_model=RunPage, summary="List runs, newest first")
def list_runs(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page")] = None,
    world: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    scenario: Annotated[str | None, Query(max_length=200, description="scenario name")] = None,
    include_sweep_cells: Annotated[bool, Query(description="also list the runs of sweeps (left out by default; "
                                               "GET /sweeps/{id} and its table list them)")] = False,
) -> dict:
    if include_sweep_cells:
        return services.list_runs(store, limit=limit, cursor=cursor, world=world, status=status, scenario=scenario)
    before = services.decode_cursor(cursor) if cursor else None
    rows = store.list_runs(limit=limit + 1, before=before, world=world, status=status, scenario=scenario, sweep_cells=False, metrics=True)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [services.run_view(row) for row in rows], "next_cursor": services.encode_cursor(rows[-1]["order"]) if more and rows else None}


@router.get("/{run_id}", response_model=Run, summary="One run: status, progress, timings, metrics")
def get_run(run_id: RunId, store: StoreDep) -> dict:
    return services.run_view(store.get_run(run_id), with_text=True)


class FilteredEventPage(EventPage):
    matched: int | None = Field(None, description="with ?count=true: events that pass the filters in the whole log")


def event_filters(
    kind: Annotated[list[str] | None, Query(max_length=50, description="only events of these kinds (repeat the parameter)")] = None,
    agent: Annotated[list[str] | None, Query(max_length=200, description="only these agents' events (repeat the parameter)")] = None,
    t_min: Annotated[float | None, Query(allow_inf_nan=False, description="only events at simulated time >= t_min")] = None,
    t_max: Annotated[float | None, Query(allow_inf_nan=False, description="only events at simulated time <= t_max")] = None,
) -> dict[str, Any]:
    for name, values in (("kind", kind), ("agent", agent)):
        if values and any(len(v) > 200 for v in values):
            raise ProblemException(422, "invalid-request", f"{name}: a value longer than 200 characters", title="Invalid request",
                                   errors=[{"path": f"query.{name}", "message": "at most 200 characters"}])
    return {"kinds": kind or None, "agents": agent or None, "t_min": t_min, "t_max": t_max}


EventFilters = Annotated[dict[str, Any], Depends(event_filters)]


@router.get("/{run_id}/events", response_model=FilteredEventPage, summary="The run's event log, a page at a time")
def get_events(
    run_id: RunId,
    store: StoreDep,
    filters: EventFilters,
    after: Annotated[int, Query(ge=-1, le=2**53, description="return events with seq > after")] = -1,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    count: Annotated[bool, Query(description="also count the events that pass the filters (one more query)")] = False,
) -> dict:
    """Keyset paging over the whole log: pass ``next_after`` as ``?after=`` until it is null. With filters
    (``kind``, ``agent``: repeatable; ``t_min``/``t_max``: simulated time) only matching events are returned."""
    store.get_run(run_id)  # 404 for an unknown run
    items = store.events(run_id, after=after, limit=limit, **filters)
    page = {"items": items, "next_after": items[-1]["seq"] if len(items) == limit else None}
    if count:
        page["matched"] = store.count_events(run_id, **filters)
    return page


class EventSummary(BaseModel):
    events: int = Field(description="events in the stored log (0 when the run had record_events: false)")
    agents: int = Field(description="distinct agents in the log")
    t_min: float | None = None
    t_max: float | None = None
    kinds: dict[str, int] = Field(description="events per kind, most frequent first")


@router.get("/{run_id}/events/summary", response_model=EventSummary, summary="What the run's event log holds")
def get_event_summary(run_id: RunId, store: StoreDep) -> dict:
    store.get_run(run_id)
    return {**store.event_span(run_id), "kinds": store.event_kinds(run_id)}


CSV_COLUMNS = ("seq", "t", "agent", "kind", "data")


@router.get(
    "/{run_id}/events.csv", response_class=StreamingResponse, summary="The run's event log as CSV (streamed; same filters)",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "seq, t, agent, kind, data (JSON)"}},
)
def get_events_csv(run_id: RunId, settings: SettingsDep, store: StoreDep, filters: EventFilters) -> StreamingResponse:
    """Every event that passes the filters, read from the store a page at a time while the response is
    written (no cap, constant memory); ``data`` is the event's JSON."""
    import csv
    import io

    store.get_run(run_id)

    def rows() -> Any:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        # Each step of the generator may run on another thread of the server's pool: its own connection,
        # closed when the response ends (or the client goes away).
        with Store(settings.db, recover=False) as own:
            for n, event in enumerate(own.iter_events(run_id, **filters), 1):
                writer.writerow((event["seq"], repr(event["t"]), event["agent"] or "", event["kind"],
                                 to_json(event["data"], inf_nan_mode="null").decode()))
                if n % 2000 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(rows(), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="run-{run_id}-events.csv"'})


class Exchange(BaseModel):
    """One LLM call of a run (agents/llm): what was sent, what came back, what it cost."""

    model_config = ConfigDict(extra="allow")  # messages, params, reply, action, error, retry_errors, ...
    seq: int
    agent: str
    decision: int = Field(description="the agent's n-th decision, from 0")
    attempt: int = Field(description="0: first ask; 1: the re-ask after an invalid reply")
    t: float = Field(description="simulated time")
    error_kind: str | None = Field(None, description="parse, schema, timeout, http_4xx, http_5xx, connection, context_length")
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cached: bool


class TranscriptPage(BaseModel):
    items: list[Exchange]
    agents: dict[str, int] = Field(description="every agent with exchanges in this run, and how many")
    next_after: int | None = Field(None, description="pass as ?after= for the next page; null when no more are stored now")


@router.get("/{run_id}/transcript", response_model=TranscriptPage, summary="The run's LLM exchanges, a page at a time")
def get_transcript(
    run_id: RunId,
    store: StoreDep,
    agent: Annotated[str | None, Query(max_length=200, description="only this agent's exchanges")] = None,
    after: Annotated[int, Query(ge=-1, le=2**53, description="return exchanges with seq > after")] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict:
    """Stored with the run whatever the cache setting: messages sent, reply, parsed action or error,
    tokens, latency, HTTP attempts and whether the reply came from the cache."""
    store.get_run(run_id)  # 404 for an unknown run
    items = store.transcript(run_id, agent=agent, after=after, limit=limit)
    return {"items": items, "agents": store.transcript_agents(run_id), "next_after": items[-1]["seq"] if len(items) == limit else None}


def _existing_run(run_id: RunId, store: StoreDep) -> str:
    store.get_run(run_id)  # RunNotFound -> 404 before the stream starts
    return run_id


def _sse(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One Server-Sent Events message (``event:``, optional ``id:``, one ``data:`` line of JSON).

    The JSON is the API's own (pydantic's): a non-finite number is ``null``, as in ``GET /runs/{id}``."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head.encode() + b"data: " + to_json(data, inf_nan_mode="null", fallback=str) + b"\n\n"


@router.get(
    "/{run_id}/stream", response_class=StreamingResponse, summary="Live progress and events (Server-Sent Events)",
    responses={200: {"content": {"text/event-stream": {"schema": {
        "type": "object", "description": "one Server-Sent Event: progress, event or end; data is JSON text",
        "properties": {"event": {"type": "string"}, "id": {"type": "string"}, "data": {"type": "string"}, "retry": {"type": "integer"}},
    }}}, "description": "the event stream"}},
)
async def stream_run(
    run_id: Annotated[str, Depends(_existing_run)],
    settings: SettingsDep,
    request: Request,
    after: Annotated[int, Query(ge=-1, le=2**53, description="send events with seq > after (resume)")] = -1,
    last_event_id: Annotated[str | None, Header(max_length=20, description="sent by a reconnecting EventSource; like ?after=")] = None,
) -> StreamingResponse:
    """``event: progress`` (status, progress, events so far) whenever it changes, ``event: event`` per
    logged event (``id`` = its seq, so a client can resume with ``?after=``), and a last
    ``event: end`` carrying the finished run; then the stream closes. A comment line every
    ``STREAM_PING`` seconds of silence keeps proxies from dropping the connection.

    A plain ``StreamingResponse`` whose generator stops as soon as the client has gone away:
    a disconnect is not an error and is not logged as one."""

    def look(after: int) -> tuple[dict, list[dict]]:
        store = services.thread_store(settings.db)
        return store.get_run(run_id), store.events(run_id, after=after, limit=1000)

    if last_event_id is not None and last_event_id.strip().isdigit():
        after = max(after, int(last_event_id.strip()))

    async def messages(after: int) -> AsyncIterator[bytes]:
        last: tuple | None = None
        quiet_since = asyncio.get_running_loop().time()
        while True:
            if await request.is_disconnected():
                return  # the client went away: stop quietly, nothing to log
            run, events = await run_in_threadpool(look, after)
            # One write per look: a write to a socket the client has closed does not yield to the
            # event loop, so event-by-event writes would pile up on the dead transport (asyncio then
            # logs "socket.send() raised exception") before uvicorn sees the disconnect.
            chunk = b"".join(_sse("event", event, str(event["seq"])) for event in events)
            sent = bool(events)
            if events:
                after = events[-1]["seq"]
            state = (run["status"], run["progress"], after)
            if state != last:
                last, sent = state, True
                chunk += _sse("progress", {"status": run["status"], "progress": run["progress"], "last_seq": after})
            if chunk:
                yield chunk
            if len(events) == 1000:
                await asyncio.sleep(0)  # let a disconnect be noticed before the next page
                continue  # more stored events to send right away
            if run["status"] in FINAL:
                yield _sse("end", services.run_view(run))
                return
            now = asyncio.get_running_loop().time()
            if sent:
                quiet_since = now
            elif now - quiet_since > STREAM_PING:
                quiet_since = now
                yield b": ping\n\n"
            await asyncio.sleep(STREAM_POLL)

    return StreamingResponse(messages(after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.delete(
    "/{run_id}", response_model=Run, summary="Cancel a queued or running run",
    responses={202: {"model": Run, "description": "cancel sent; the run has not stopped yet"},
               409: {"model": Problem, "description": "the run has already ended, or another process runs it"}},
)
def cancel_run(run_id: RunId, response: Response, store: StoreDep, pool: PoolDep) -> dict:
    """A queued run is cancelled at once; a running one stops at its next progress report (within
    about 0.2 s) or has its worker killed after ``AGORA_API_CANCEL_GRACE`` seconds. 200 with the
    cancelled run, or 202 if it has not stopped within 2 s."""
    run, ended = services.cancel(store, pool, run_id)
    response.status_code = 200 if ended else 202
    return run


def _plots_module():
    try:
        from simulator import plots
    except ImportError:
        raise ProblemException(501, "plots-unavailable", "plots are not available in this installation (simulator.plots is missing)") from None
    return plots


@router.get("/{run_id}/plots", response_model=PlotList, summary="The plots a run has")
def list_plots(run_id: RunId, store: StoreDep) -> dict:
    """Names for ``GET /runs/{id}/plots/{name}.png|svg`` (none until the run has metrics)."""
    return {"items": _plots_module().available_plots(store.get_run(run_id))}


@router.get(
    "/{run_id}/plots/{name}.{fmt}",
    response_class=Response,
    summary="A plot of the run (PNG or SVG)",
    responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}},
                                 "image/svg+xml": {"schema": {"type": "string"}}},
                     "description": "the image"},
               501: {"model": Problem, "description": "simulator.plots is not installed"}},
)
def get_plot(
    run_id: RunId,
    name: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="plot name, see GET /runs/{id}/plots")],
    fmt: Literal["png", "svg"],
    store: StoreDep,
) -> Response:
    """Drawn by ``simulator.plots.plot_run`` (the code `agora plot` uses); 404 for a plot the run does not have."""
    plots = _plots_module()
    run = store.get_run(run_id)
    try:
        with _plot_lock:
            data = plots.plot_run(store, run_id, name, fmt)
    except plots.PlotNotFound:
        available = plots.available_plots(run)
        detail = (f"run {run_id!r} has no plot {name!r}; available: {', '.join(available)}" if available
                  else f"run {run_id!r} has no plots yet (it is {run['status']} and has no metrics)")
        raise ProblemException(404, "plot-not-found", detail, title="Plot not found") from None
    return Response(content=data, media_type="image/png" if fmt == "png" else "image/svg+xml")
