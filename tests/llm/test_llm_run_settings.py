"""The LLM and remote policies' shared run-wide piece (``agents/run_settings.py``): one set of
concurrency and failure-policy fields, one failure policy, both blocks keeping their key order."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.llm.config import LLMRunSettings, LLMSettings
from agents.llm.session import LLMRun
from agents.remote.config import RemoteRunSettings
from agents.remote.policy import RemoteRun
from agents.run_settings import RunPolicySettings
from simulator.errors import Stopped

SHARED = ["max_concurrency", "batch_window", "on_error", "max_fallback_share"]


def made(run_class, **fields):
    """A run's shared state outside a run (the LLM's without a cache: nothing is written)."""
    extra = {"cache": "off"} if run_class is LLMRun else {}
    return run_class(run_class.settings_class(**fields, **extra))


def test_llm_block_keeps_its_key_order_seat_fields_then_shared_then_its_own():
    keys = list(LLMRunSettings.model_fields)
    seat = list(LLMSettings.model_fields)
    assert keys[: len(seat)] == seat  # error messages and docs/reference.md list the block in this order
    assert keys[len(seat): len(seat) + len(SHARED)] == SHARED
    assert keys[len(seat) + len(SHARED):] == ["budget", "cache", "cache_path", "prices"]
    assert list(RemoteRunSettings.model_fields) == SHARED


@pytest.mark.parametrize("block", [LLMRunSettings, RemoteRunSettings])
def test_both_blocks_validate_the_shared_fields_alike(block):
    assert issubclass(block, RunPolicySettings)
    assert block().max_concurrency == 8 and block().on_error == "fallback" and block().max_fallback_share == 0.0
    for bad in ({"max_concurrency": 0}, {"max_concurrency": 1025}, {"batch_window": -1}, {"on_error": "ignore"},
                {"max_fallback_share": 1.5}, {"no_such_key": 1}):
        with pytest.raises(ValidationError):
            block.model_validate(bad)


@pytest.mark.parametrize("run_class, prefix, label", [(LLMRun, "llm", "LLM"), (RemoteRun, "remote", "remote")])
def test_one_failure_policy_counts_causes_and_degrades_above_the_share(run_class, prefix, label):
    run = made(run_class, max_fallback_share=0.25)
    run.counters[f"{prefix}_decisions"] = 4
    error = ValueError("bad reply")
    error.kind = "schema"
    requests = [("a", {}, None), ("b", {}, None)]
    assert run.settle(requests, [error, "ok"]) == [error, "ok"]  # on_error fallback: the run goes on
    assert run.counters[f"{prefix}_failed"] == 1 and run.counters[f"{prefix}_failed_schema"] == 1
    metrics: dict = {}
    assert run.finish("finished", None, metrics) == ("finished", None)  # 1 of 4 = 0.25: allowed
    assert metrics[prefix]["own_share"] == 0.75 and metrics[prefix]["failures"] == {"schema": 1}
    run.count_failures("timeout", 1)
    status, reason = run.finish("finished", None, metrics)
    assert status == "degraded"
    assert reason.startswith(f"2 of 4 {label} decisions (50.0%)") and f"{prefix}.max_fallback_share 0.25" in reason
    assert "schema 1, timeout 1" in reason
    assert run.finish("interrupted", "stopped", {}) == ("interrupted", "stopped")  # only a finished run is judged


@pytest.mark.parametrize("run_class, prefix", [(LLMRun, "llm"), (RemoteRun, "remote")])
def test_on_error_fail_ends_the_run_at_the_first_failed_decision(run_class, prefix):
    run = made(run_class, on_error="fail")
    error = ValueError("no answer")
    error.kind = "timeout"
    with pytest.raises(Stopped) as stopped:
        run.settle([("ann", {}, None)], [error])
    assert stopped.value.status == "failed"
    assert "agent 'ann': no answer" in stopped.value.reason and f"{prefix}.on_error is 'fail'" in stopped.value.reason
    assert run.counters[f"{prefix}_failed_timeout"] == 1


def test_decision_numbers_count_per_agent():
    run = made(RemoteRun)
    assert run.next_numbers([("a", {}, None), ("b", {}, None)]) == [0, 0]
    assert run.next_numbers([("a", {}, None)]) == [1]
