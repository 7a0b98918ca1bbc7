"""``GET /scenarios``, ``GET /scenarios/{name}``, ``POST /scenarios/validate``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api import services
from api.deps import SettingsDep
from api.schemas import SCENARIO_FILE, ScenarioDetail, ScenarioInfo, ScenarioInput, ValidationResult

router = APIRouter(prefix="/scenarios", tags=["scenarios"])


@router.get("", response_model=list[ScenarioInfo], summary="List the shipped scenario files")
def list_scenarios(settings: SettingsDep) -> list[dict]:
    return [services.scenario_info(path) for path in services.shipped_scenarios(settings.scenarios)]


@router.get("/{name}", response_model=ScenarioDetail, summary="One shipped scenario, with its text")
def get_scenario(name: Annotated[str, Path(pattern=SCENARIO_FILE)], settings: SettingsDep) -> dict:
    return services.scenario_info(services.shipped_scenario(settings.scenarios, name), with_text=True)


@router.post("/validate", response_model=ValidationResult, summary="Check a scenario as `agora validate` does")
def validate_scenario(body: ScenarioInput, settings: SettingsDep) -> dict:
    """200 either way; ``valid`` is false and ``problems`` lists file, line, column and field of each problem."""
    return services.validate(body, settings)
