"""What the LLM and remote policies share per run: the failure-policy settings and the seats' set-up.

Both policies send each decision over HTTP and hand the host all their
decisions of a decision point (or of a decision window) at once
(``agents.policy.BatchPolicy``). Their run-wide blocks (the scenario's
``llm:`` and ``remote:``) therefore hold the same four fields
(``RunPolicySettings``): how many requests may be in flight, the decision
window, and the failure policy (``on_error``, ``max_fallback_share``). And
their seats join one shared object per run (``PolicyRun``, a resource of the
run, ``SeatContext.resource``) that is the seats' ``batch_key``, counts failed
decisions by cause, ends the run at the first failure under ``on_error:
fail`` and, as the run ends, reports the policy's own share of decisions and
turns ``finished`` into ``degraded`` above ``max_fallback_share``.

Each policy keeps what is its own: the LLM's cache, budget and prompts
(``agents.llm.session.LLMRun``), the remote wire format
(``agents.remote.policy.RemoteRun``).
"""

from __future__ import annotations

import weakref
from collections import Counter
from typing import Any, ClassVar, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from agents.policy import Request, SeatContext
from simulator.errors import Stopped

OnError = Literal["fail", "fallback"]


class RunPolicySettings(BaseModel):
    """The fields every run-wide block of an HTTP policy has (``llm:``, ``remote:``): concurrency and failure policy."""

    model_config = ConfigDict(extra="forbid")

    max_concurrency: int = Field(8, ge=1, le=1024, description="requests of this policy in flight at once in this run")
    batch_window: float = Field(
        0.0, ge=0,
        description="simulated time: this policy's decisions due within one window go out together when it closes and "
        "are applied then (agents act up to this much later); 0 = each decision point on its own",
    )
    on_error: OnError = Field(
        "fallback",
        description="a decision the model or agent could not make (bad reply, HTTP error, timeout): fallback = play the "
        "world's default action and count it; fail = end the run as failed at the first one",
    )
    max_fallback_share: float = Field(
        0.0, ge=0, le=1,
        description="largest share of this policy's decisions that may fall back; above it the run ends 'degraded', "
        "not 'finished'",
    )


def failure_counts(counters: Mapping[str, Any], prefix: str, kinds: tuple[str, ...]) -> dict[str, int]:
    """``{kind: n}`` of the failed decisions in a run's counters (``<prefix>_failed_<kind>``; kinds with none left out)."""
    return {kind: int(counters[f"{prefix}_failed_{kind}"]) for kind in kinds if counters.get(f"{prefix}_failed_{kind}")}


def describe_failures(counts: Mapping[str, int]) -> str:
    """``timeout 3, parse 1``: the most frequent cause first."""
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


class PolicyRun:
    """The shared state of one policy's seats in one run: settings, counters, seats, decision numbers, clients.

    A subclass names its ``resource_key`` (its slot among the run's resources),
    its ``settings_class`` (the validated run-wide block; the defaults if the
    seat has none), its ``counter_names`` and ``prefix`` (``llm`` /
    ``remote``: counters ``<prefix>_decisions``, ``<prefix>_failed``,
    ``<prefix>_failed_<kind>``), the ``failure_kinds`` and the ``label`` used
    in messages (``LLM``, ``remote``).
    """

    resource_key: ClassVar[str]
    settings_class: ClassVar[type[RunPolicySettings]]
    counter_names: ClassVar[tuple[str, ...]]
    failure_kinds: ClassVar[tuple[str, ...]]
    prefix: ClassVar[str]
    label: ClassVar[str]

    def __init__(self, settings: RunPolicySettings, seat: SeatContext | None = None) -> None:
        self.settings: Any = settings
        # Weakly: the run's resource registry holds this object until the run is discarded, and must not keep it alive.
        self._seat = weakref.ref(seat) if seat is not None else (lambda: None)
        self.counters: Any = seat.counters if seat is not None else {}
        for name in self.counter_names:
            self.counters.setdefault(name, 0)
        self.seats: dict[str, Any] = {}
        self.decisions: Counter[str] = Counter()  # per agent: the number of its next decision
        self._clients: dict[tuple, Any] = {}

    @classmethod
    def for_seat(cls, seat: SeatContext) -> Any:
        """The run's shared state, created by the first seat of this policy that binds (from its validated block)."""

        def create() -> PolicyRun:
            settings = seat.settings if isinstance(seat.settings, cls.settings_class) else cls.settings_class()
            run = cls(settings, seat)
            seat.on_finish(run.finish)
            return run

        return seat.resource(cls.resource_key, create)

    def seat_context(self) -> SeatContext | None:
        """The context of the seat that created this object (None outside a run, or once the run is gone)."""
        return self._seat()

    def now(self) -> float:
        seat = self._seat()
        return seat.now() if seat is not None else 0.0

    def log(self, kind: str, agent: str | None, **data: Any) -> None:
        seat = self._seat()
        if seat is not None:
            seat.log(kind, agent, **data)

    def next_numbers(self, requests: list[Request]) -> list[int]:
        """Each request's decision number for its agent (0, 1, ...), counting these decisions."""
        numbers = []
        for agent_id, _, _ in requests:
            numbers.append(self.decisions[agent_id])
            self.decisions[agent_id] += 1
        return numbers

    # ------------------------------------------------------------------ the failure policy
    def count_failures(self, kind: str, n: int) -> None:
        self.counters[f"{self.prefix}_failed"] += n
        key = f"{self.prefix}_failed_{kind}"
        self.counters[key] = self.counters.get(key, 0) + n

    def settle(self, requests: list[Request], results: list[Any]) -> list[Any]:
        """Count the failed decisions (exceptions in ``results``) by cause; under ``on_error: fail`` end the run at one."""
        failed = [(agent_id, result) for (agent_id, _, _), result in zip(requests, results) if isinstance(result, Exception)]
        for _, error in failed:
            self.count_failures(getattr(error, "kind", "parse"), 1)
        if failed and self.settings.on_error == "fail":
            agent_id, error = failed[0]
            counts = Counter(getattr(e, "kind", "parse") for _, e in failed)
            raise Stopped(
                "failed",
                f"{len(failed)} {self.label} decision(s) failed at t={self.now():g} ({describe_failures(counts)}); "
                f"first: agent {agent_id!r}: {error}. {self.prefix}.on_error is 'fail'; set it to 'fallback' to play the "
                "world's default action instead",
            )
        return results

    def judge(self, status: str, reason: str | None) -> tuple[dict[str, Any], str, str | None]:
        """As the run ends: the share of decisions that were the policy's own, and ``degraded`` if too few were.

        Returns the ``metrics[prefix]`` block (decisions, own decisions and share, fallback share, failures by
        cause) and the run's status and reason.
        """
        c = self.counters
        decisions, failed = int(c[f"{self.prefix}_decisions"]), int(c[f"{self.prefix}_failed"])
        counts = failure_counts(c, self.prefix, self.failure_kinds)
        share = failed / decisions if decisions else 0.0
        block = {
            "decisions": decisions, "own_decisions": decisions - failed,
            "own_share": round(1.0 - share, 6) if decisions else None, "fallback_share": round(share, 6), "failures": counts,
        }
        limit = self.settings.max_fallback_share
        if status == "finished" and share > limit:
            status = "degraded"
            reason = (
                f"{failed} of {decisions} {self.label} decisions ({share:.1%}) fell back to the world's default action "
                f"({describe_failures(counts)}), more than {self.prefix}.max_fallback_share {limit:g} allows"
            )
        return block, status, reason

    def finish(self, status: str, reason: str | None, metrics: dict[str, Any]) -> tuple[str, str | None]:
        """The run's finish hook: ``metrics[prefix]`` and the status (a subclass adds its own figures)."""
        metrics[self.prefix], status, reason = self.judge(status, reason)
        return status, reason


class SeatOfRun:
    """The policy side of a ``PolicyRun``: a seated policy's ``batch_key`` and ``batch_window`` (``agents.policy.BatchPolicy``)."""

    run: PolicyRun | None

    @property
    def batch_key(self) -> Any:
        """Policies with the same key are asked together: all seats of this policy in one run."""
        return self.run

    @property
    def batch_window(self) -> float:
        """The run-wide block's ``batch_window``: the simulated time over which the host gathers these decisions."""
        return self.run.settings.batch_window if self.run is not None else 0.0
