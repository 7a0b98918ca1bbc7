"""``POST /solve``: equilibria and welfare of a game, synchronously — the code of ``agora solve``."""

from __future__ import annotations

import math
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api import services
from api.deps import SettingsDep
from api.errors import ProblemException, scenario_errors
from api.schemas import SCENARIO_FILE, Problem
from api.solver import SolverBusy, SolveTimeout
from simulator.scenario import ScenarioError
from simulator.solve import METHODS, load_game_text

router = APIRouter(tags=["solve"])


class SolveRequest(BaseModel):
    """A game as in a game file for `agora solve`: bimatrix ``A``/``B``, N-player ``payoffs`` table, or ``tree``."""

    model_config = ConfigDict(extra="forbid")
    game: str | dict[str, Any] | None = Field(None, description="the game file's YAML/JSON text, or the same as a JSON object")
    file: str | None = Field(None, pattern=SCENARIO_FILE, description="a shipped game in games/, e.g. battle_of_the_sexes")
    method: Literal[tuple(METHODS)] = Field("auto", description="; ".join(f"{k}: {v}" for k, v in METHODS.items()))
    lam: float = Field(1.0, ge=0, le=1e6, description="precision lambda for method logit")

    @model_validator(mode="after")
    def _one_source(self) -> "SolveRequest":
        if (self.game is None) == (self.file is None):
            raise ValueError("give exactly one of 'game' (text or object) or 'file' (a shipped game)")
        return self


class SolveResult(BaseModel):
    name: str
    kind: str = Field(description="bimatrix, table or tree")
    players: list[str]
    actions: list[list[str]] = Field(description="action labels per player (normal form)")
    method: str = Field(description="the method used (auto resolves to one)")
    equilibria: list[dict[str, Any]] = Field(description="as `agora solve --json`: strategies, payoffs, exact fractions, support, welfare")
    welfare: dict[str, Any] = Field(description="optimum, best/worst equilibrium welfare, price of anarchy and stability")
    notes: list[str]


def _game_text(body: SolveRequest, settings: Any) -> tuple[str, str]:
    if body.file is not None:
        stem = body.file[:-5] if body.file.endswith((".yaml", ".json")) else body.file
        found = [p for p in sorted(settings.games.glob("*")) if p.suffix in (".yaml", ".yml", ".json") and p.stem == stem]
        if not found:
            available = ", ".join(sorted({p.stem for p in settings.games.glob("*") if p.suffix in (".yaml", ".yml", ".json")})) or "none"
            raise ProblemException(404, "game-not-found", f"no shipped game {body.file!r}; available: {available}", title="Game not found")
        return found[0].read_text(), found[0].name
    if isinstance(body.game, str):
        return body.game, "<game>"
    import json

    return json.dumps(body.game), "<game>"


@router.post(
    "/solve", response_model=SolveResult, summary="Equilibria and welfare of a game (as `agora solve`)",
    responses={503: {"model": Problem, "description": "every solver process is busy (AGORA_API_SOLVE_WORKERS); retry after Retry-After seconds"}},
)
def solve(body: SolveRequest, request: Request, settings: SettingsDep) -> dict:
    """422 with file/line/field problems for a bad game, or when the method does not fit the game or
    the computation takes longer than ``AGORA_API_SOLVE_TIMEOUT`` seconds (counted from when a solver
    process takes the job); 503 with ``Retry-After`` when every solver process is busy."""
    text, source = _game_text(body, settings)
    try:
        services.check_yaml_size(text, source, settings.max_yaml_nodes)
        game = load_game_text(text, source)  # quick check here: line/field problems without a round trip
    except ScenarioError as exc:
        raise ProblemException(422, "invalid-game", "the game has problems: " + "; ".join(str(p) for p in exc.problems[:5]),
                               title="Invalid game", errors=scenario_errors(exc)) from None
    except (RecursionError, ValueError) as exc:
        message = "the game is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ProblemException(422, "invalid-game", message, title="Invalid game") from None
    actions = getattr(game, "actions", None) or []
    profiles = math.prod(len(a) for a in actions) if actions else None
    if profiles is not None and profiles > settings.max_profiles:
        raise ProblemException(422, "untrusted-scenario", f"the game has {profiles:,} action profiles; allowed: at most "
                               f"{settings.max_profiles:,} (setting: AGORA_MAX_PROFILES)", title="Refused by the server's limits",
                               errors=[{"path": "game", "message": f"{profiles:,} action profiles", "setting": "AGORA_MAX_PROFILES"}])
    try:
        return request.app.state.solver.solve(text, source, body.method, body.lam, profiles=profiles)
    except SolveTimeout as exc:
        raise ProblemException(422, "solve-timeout", f"{exc}; try method 'pure' or a smaller game", title="Game too hard to solve in time") from None
    except SolverBusy as exc:
        raise ProblemException(503, "solver-busy", str(exc), title="Solver busy", headers={"Retry-After": str(exc.retry_after)}) from None
    except (ValueError, RuntimeError) as exc:
        raise ProblemException(422, "cannot-solve", str(exc), title="Cannot solve this game this way") from None
