"""The public goods world's scenario block (``world: {type: public_goods, ...}``) and its institutions.

``PublicGoodsConfig`` is the world's ``Config``: players, groups, endowment,
multiplier, the reward rule (``mechanisms.public_goods``; checked by name and
parameters), sequential or simultaneous play, and the switchable
institutions (punishment, reputation, partner selection).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mechanisms import public_goods as pg


class PunishmentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, description="false: the block is kept but the institution is off")
    cost: float = Field(1.0, ge=0, description="cost to the punisher per point")
    fine: float = Field(3.0, ge=0, description="fine to the target per point")
    max_points: int = Field(3, ge=1, le=100, description="most points one player may give one target per round")
    third_party: bool = Field(False, description="players may also punish members of other groups")


class ReputationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, description="false: the block is kept but the institution is off")
    threshold: float = Field(0.5, ge=0, le=1, description="contributing at least threshold * endowment counts as cooperating")
    bound: int = Field(5, ge=1, description="image scores are clipped to [-bound, bound]")
    memory: int = Field(5, ge=1, le=1000, description="rounds of public record shown")


class PartnerSelectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, description="false: the block is kept but the institution is off")
    quorum: float = Field(0.5, ge=0, lt=1, description="left out next round if refused by more than this fraction of the others")


class Institutions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    punishment: PunishmentConfig | None = Field(None, description="after contributing, players may pay to fine others")
    reputation: ReputationConfig | None = Field(None, description="players see each other's image scores and recent record")
    partner_selection: PartnerSelectionConfig | None = Field(None, description="players may refuse partners for the next round")


class PublicGoodsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["public_goods"] = Field(description="the world type")
    players: int | list[str] = Field(4, description="number of players, or their agent ids")
    group_size: int | None = Field(None, ge=1, description="players per group (default: everyone in one group)")
    regroup: Literal["random", "fixed"] = Field("random", description="groups drawn anew each round, or kept")
    endowment: float = Field(10.0, gt=0, allow_inf_nan=False, description="what each player has to contribute from, every round")
    multiplier: float = Field(1.6, ge=0, allow_inf_nan=False, description="r: the group's contributions are multiplied by r and shared")
    step: float | None = Field(1.0, gt=0, description="contribution grid step (null: any amount in [0, endowment])")
    mode: Literal["simultaneous", "sequential"] = Field(
        "simultaneous", description="contributions all at once, or one player after another, each seeing those before")
    reward: str = Field("standard", description="reward rule: " + ", ".join(pg.reward_names()))
    reward_params: dict[str, float] = Field(default_factory=dict, description="parameters of the reward rule")
    rounds: int = Field(1, ge=1, le=1_000_000, description="rounds played (omitted: ONE round, a one-shot game)")
    institutions: Institutions = Field(default_factory=Institutions, description="switchable institutions; each is off unless its block is given")

    @field_validator("players")
    @classmethod
    def _players(cls, players: int | list[str]) -> int | list[str]:
        if isinstance(players, int) and players < 1:
            raise ValueError("need at least one player")
        if isinstance(players, list):
            if not players:
                raise ValueError("need at least one player")
            if len(set(players)) != len(players):
                raise ValueError("player ids must be distinct")
        return players

    @field_validator("reward")
    @classmethod
    def _reward(cls, reward: str) -> str:
        pg.get_reward(reward)
        return reward

    @field_validator("group_size")
    @classmethod
    def _group_size(cls, size: int | None, info: ValidationInfo) -> int | None:
        players = info.data.get("players")
        count = len(players) if isinstance(players, list) else players
        if size is not None and isinstance(count, int) and size > count:
            raise ValueError(f"group_size {size} exceeds the {count} players")
        return size

    @field_validator("step")
    @classmethod
    def _step(cls, step: float | None, info: ValidationInfo) -> float | None:
        if step is not None and info.data.get("endowment") is not None:
            pg.contribution_grid(info.data["endowment"], step)
        return step

    @field_validator("reward_params")
    @classmethod
    def _reward_params(cls, params: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        if info.data.get("reward") is not None:
            pg.reward_params_ok(info.data["reward"], params)
        return params

    def ids(self) -> list[str]:
        return list(self.players) if isinstance(self.players, list) else [f"p{i}" for i in range(self.players)]

    def institution(self, name: str) -> Any:
        block = getattr(self.institutions, name)
        return block if block is not None and block.enabled else None
