"""A per-run budget of LLM calls, tokens and US dollars.

Calls are checked *before* a batch is sent: a batch that would go past the
call limit is not sent and the run stops (``Stopped("budget_exhausted")``, ``simulator/errors.py``),
so a run never makes more calls than its budget. Tokens are only known after a
call returns, so the token and dollar limits are checked before each batch
against what was spent so far: a run may pass them by at most one batch. Cache hits count like
network calls, so a replayed run stops at the same point as the recorded one.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.errors import Stopped


@dataclass
class Budget:
    calls: int | None = None
    tokens: int | None = None
    usd: float | None = None
    calls_used: int = 0
    tokens_used: int = 0
    usd_used: float = 0.0

    def reserve(self, n_calls: int) -> None:
        """Claim ``n_calls`` calls, or stop the run if the budget cannot pay for all of them."""
        if self.tokens is not None and self.tokens_used >= self.tokens:
            raise Stopped(
                "budget_exhausted",
                f"LLM token budget exhausted: {self.tokens_used} of {self.tokens} tokens used",
            )
        if self.usd is not None and self.usd_used >= self.usd:
            raise Stopped(
                "budget_exhausted", f"LLM cost budget exhausted: ${self.usd_used:.6f} of ${self.usd:g} spent",
            )
        if self.calls is not None and self.calls_used + n_calls > self.calls:
            raise Stopped(
                "budget_exhausted",
                f"LLM call budget exhausted: {self.calls_used} of {self.calls} calls used, "
                f"the next decision point needs {n_calls} more",
            )
        self.calls_used += n_calls

    def release(self, n_calls: int) -> None:
        """Give back calls claimed but not made (decisions whose prompt did not fit the context)."""
        self.calls_used -= n_calls

    def spend_tokens(self, n_tokens: int, usd: float = 0.0) -> None:
        self.tokens_used += int(n_tokens)
        self.usd_used += usd
