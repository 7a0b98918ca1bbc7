"""A new world written from the protocol's docstrings alone (simulator/world.py), for tests/test_conformance.py.

Two players say heads or tails each round and both score 1 when they say the
same; ``rounds`` rounds, one decision point per simulated time unit. It lives
in its own module so that a child process can import it through an
``agora.worlds`` entry point (``tests.toy_world:ToyCoordination``) without
importing the test module that lists the registered worlds. The "Writing a
world" section of docs/worlds.md walks through it.
"""

from typing import Any, Literal, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from simulator.world import Host, Metrics, WorldBase


class ToyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["toy_coordination"]
    rounds: int = Field(5, ge=1)


class Say(BaseModel):
    model_config = ConfigDict(extra="forbid")
    word: Literal["heads", "tails"] = "heads"


class ToyCoordination(WorldBase[ToyConfig]):
    """Two players say heads or tails each round; both score 1 when they say the same."""

    default_policies = {"*": "random_legal"}  # WorldBase gives Config, from_config, default_policy, default_action

    def __init__(self, config: ToyConfig, rng: np.random.Generator) -> None:
        super().__init__(config, rng)
        self.ids = ["a", "b"]  # WorldBase's agent_ids(); role() is "player" for all
        self.round, self.scores = 0, {"a": 0.0, "b": 0.0}

    def rules(self, agent_id: str) -> str:
        return "Say heads or tails; you both score 1 when you say the same."

    def start(self, host: Host) -> None:
        self.host = host
        host.wake(at=0.0)

    def acting(self) -> list[str]:
        return ["a", "b"]

    def observe(self, agent_id: str) -> dict[str, Any]:
        return {"round": self.round, "score": self.scores[agent_id]}

    def action_model(self, agent_id: str) -> type[BaseModel]:
        return Say

    def apply(self, actions: Mapping[str, BaseModel]) -> None:
        same = float(actions["a"].word == actions["b"].word)
        self.scores = {agent: score + same for agent, score in self.scores.items()}
        self.round += 1
        if not self.done():
            self.host.wake(after=1.0)

    def done(self) -> bool:
        return self.round >= self.config.rounds

    def progress(self) -> float:
        return self.round / self.config.rounds

    def metrics(self) -> Metrics:
        # Theory beside the run: uniformly random players match half the time.
        return Metrics(payoffs=dict(self.scores), measures={"rounds": self.round},
                       theory={"expected_score_uniform_random": 0.5 * self.config.rounds})
