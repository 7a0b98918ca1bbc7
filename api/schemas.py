"""Request and response bodies of the API (their JSON Schemas are the OpenAPI components)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

RUN_ID = r"^[A-Za-z0-9_-]{1,64}$"
SCENARIO_FILE = r"^[A-Za-z0-9_.-]{1,100}$"


# --------------------------------------------------------------------------- problems


class FieldProblem(BaseModel):
    """One thing wrong with the input: a field path and, for scenario text, its line and column."""

    path: str = Field(description="dotted field path, e.g. world.rounds or body.seed")
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    text: str | None = Field(None, description="the same line `agora validate` prints")
    type: str | None = None
    setting: str | None = Field(None, description="for a refusal of the trust boundary: the server setting that would allow it")


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(description="URN naming the kind of problem, or about:blank")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None


# --------------------------------------------------------------------------- scenarios


class ScenarioInput(BaseModel):
    """A scenario: YAML text, a JSON object, or the name of a shipped scenario file."""

    model_config = ConfigDict(extra="forbid")
    scenario: str | dict[str, Any] | None = Field(
        None, description="scenario as YAML text or as a JSON object (the same fields as a scenario file)"
    )
    file: str | None = Field(None, pattern=SCENARIO_FILE, description="a shipped scenario (see GET /scenarios), e.g. prisoners_dilemma")
    name: str | None = Field(None, max_length=200, description="scenario name if the scenario does not set one")
    overrides: list[str] = Field(
        default_factory=list, max_length=100,
        description="field overrides as in `agora run --set`, e.g. world.rounds=20 (value parsed as YAML)",
    )

    @model_validator(mode="after")
    def _one_source(self) -> "ScenarioInput":
        if (self.scenario is None) == (self.file is None):
            raise ValueError("give exactly one of 'scenario' (YAML text or object) or 'file' (a shipped scenario)")
        return self


class RunCreate(ScenarioInput):
    seed: int | None = Field(None, ge=0, le=2**53, description="random seed (default: the scenario's seed)")


class ValidationResult(BaseModel):
    valid: bool
    name: str | None = None
    world: str | None = None
    problems: list[FieldProblem] = Field(default_factory=list, description="what `agora validate` reports, one per line")
    warnings: list[FieldProblem] = Field(default_factory=list, description="allowed but perhaps unintended (players on a "
                                         "world default policy, a one-round game): `agora validate`'s warning: lines")


class ScenarioInfo(BaseModel):
    name: str = Field(description="file name without .yaml; usable as `file` in POST /runs")
    file: str
    world: str | None = None
    description: str = ""
    valid: bool
    problems: list[FieldProblem] = Field(default_factory=list)


class ScenarioDetail(ScenarioInfo):
    text: str


# --------------------------------------------------------------------------- runs


class ComparisonRow(BaseModel):
    """One row of a run's theory-versus-simulation table (simulator/comparison.py)."""

    quantity: str
    theory: Any = Field(description="what theory predicts (mechanisms/), rounded to 6 significant digits")
    simulated: Any = Field(description="the run's measure of the same quantity")
    gap: float | None = Field(None, description="simulated - theory (None when either is not a number)")
    note: str = Field("", description="how the two relate (per round, expected value, ...)")


class Run(BaseModel):
    """A stored run: status, progress, timings and (once finished) metrics."""

    id: str
    scenario_name: str
    world: str
    seed: int
    status: str = Field(description="queued, running, finished, failed, interrupted, cancelled, budget_exhausted, "
                        "limit_exceeded (a per-run limit of the server; results so far kept)")
    progress: float = Field(description="fraction done, 0..1")
    overrides: list[list[Any]] = Field(description="[field, value] pairs applied to the scenario")
    created_at: float = Field(description="Unix time the run was submitted")
    started_at: float | None = None
    finished_at: float | None = None
    queued_seconds: float | None = Field(None, description="started_at - created_at")
    duration: float | None = Field(None, description="finished_at - started_at, seconds")
    error: str | None = None
    version: str
    sweep_id: str | None = None
    summary: dict[str, Any] | None = Field(None, description="events, simulated time, wall seconds, counters")
    metrics: dict[str, Any] = Field(default_factory=dict, description="welfare, payoffs, measures, theory")
    scenario_text: str | None = Field(None, description="the scenario as submitted (GET /runs/{id} only)")
    comparison: list[ComparisonRow] | None = Field(
        None, description="theory beside simulation, one row per paired quantity of the world (GET /runs/{id} only)")
    links: dict[str, str] = Field(default_factory=dict)


class RunPage(BaseModel):
    items: list[Run]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next (older) page; null on the last page")


class Event(BaseModel):
    seq: int
    t: float = Field(description="simulated time")
    agent: str | None = None
    kind: str
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[Event]
    next_after: int | None = Field(None, description="pass as ?after= for the next page; null when no more events are stored now")


class PlotList(BaseModel):
    items: list[str] = Field(description="plot names for GET /runs/{id}/plots/{name}.png|svg")


class Health(BaseModel):
    status: str
    version: str
    workers: int
    queued: int
    running: int
