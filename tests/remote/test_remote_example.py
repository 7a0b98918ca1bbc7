"""The documented example agent (docs/examples/remote_agent.py) runs as its own process and plays through the CLI,
and the wire module's shapes match the action-model contract of every kind of world."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Literal, Union

import pytest
import yaml
from pydantic import BaseModel, Field

from agents.remote.wire import InvalidReply, action_description, parse_reply
from tests.serve import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "remote_agent.py"
AGORA = str(Path(sys.executable).with_name("agora"))


@pytest.fixture
def example_agent():
    port = free_port()
    process = subprocess.Popen([sys.executable, str(EXAMPLE), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/act"
    process.terminate()
    process.wait(10)


def test_the_example_agent_is_about_30_lines_and_conditionally_cooperates(example_agent, tmp_path):
    assert len(EXAMPLE.read_text().splitlines()) <= 35
    scenario = {
        "name": "example_agent", "seed": 1,
        "world": {"type": "public_goods", "players": ["ann", "ben", "cat"], "endowment": 10, "step": 1, "multiplier": 1.6, "rounds": 3},
        "agents": {"ann": "free_rider", "default": {"policy": "remote", "params": {"url": example_agent}}},
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario))
    done = subprocess.run([AGORA, "run", str(path), "--db", str(tmp_path / "agora.db"), "--json"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "finished" and run["metrics"]["remote"]["own_share"] == 1.0
    transcript = subprocess.run([AGORA, "runs", "transcript", run["run_id"], "--db", str(tmp_path / "agora.db"), "--json"],
                                capture_output=True, text=True, timeout=120)
    given = [row["action"]["contribution"] for row in json.loads(transcript.stdout) if row["agent"] == "ben"]
    # Half the endowment first; then the mean of the others' last contributions (ann 0, cat 5 -> 2.5 -> 2; then 0, 2 -> 1).
    assert given == [5.0, 2.0, 1.0]


class Search(BaseModel):
    kind: Literal["search"] = "search"
    query: str


class Wait(BaseModel):
    kind: Literal["wait"] = "wait"


Union_ = Annotated[Union[Search, Wait], Field(discriminator="kind")]


class Choice(BaseModel):
    action: Union_


class Several(BaseModel):
    actions: list[Union_] = Field(min_length=1, max_length=4)


class Plain(BaseModel):
    contribution: float = Field(ge=0, le=10)


def test_shapes_kinds_and_required_kind_in_the_schema_sent():
    def shape(model):
        described = action_description(model)
        return described["shape"], described["kinds"], described["max_actions"]

    assert shape(Choice) == ("choice", ["search", "wait"], None)
    assert shape(Several) == ("several", ["search", "wait"], 4)
    assert shape(Plain) == ("plain", [], None)
    schema = action_description(Choice)["schema"]
    assert all("kind" in schema["$defs"][name]["required"] for name in ("Search", "Wait"))


def test_the_marketplace_models_have_a_declared_shape():
    from simulator.worlds.marketplace.actions import BusinessAction, CustomerAction

    for model in (CustomerAction, BusinessAction):
        described = action_description(model)
        assert described["shape"] in ("choice", "several") and {"fetch_messages", "wait"} <= set(described["kinds"])


@pytest.mark.parametrize("body, kind, says", [
    (b"not json", "parse", "not JSON"),
    (b"[1, 2]", "parse", "JSON object"),
    (b'{"v": 2, "action": {}}', "parse", "'v' is 2"),
    (b'{"v": 1}', "parse", "no 'action'"),
    (b'{"v": 1, "action": {"action": {"query": "tacos"}}}', "schema", "action.kind"),
    (b'{"v": 1, "action": {"action": {"kind": "fly"}}}', "schema", "action"),
])
def test_invalid_replies_are_classified(body, kind, says):
    with pytest.raises(InvalidReply) as caught:
        parse_reply(body, Choice)
    assert caught.value.kind == kind and says in str(caught.value)


def test_a_valid_reply_and_its_reason():
    action, reason = parse_reply(b'{"v": 1, "action": {"actions": [{"kind": "search", "query": "tacos"}, {"kind": "wait"}]}, "reason": "hungry"}', Several)
    assert [a.kind for a in action.actions] == ["search", "wait"] and reason == "hungry"
    with pytest.raises(InvalidReply):
        parse_reply(b'{"v": 1, "action": {"actions": [{"kind": "wait"}, {"kind": "wait"}, {"kind": "wait"}, {"kind": "wait"}, {"kind": "wait"}]}}', Several)
