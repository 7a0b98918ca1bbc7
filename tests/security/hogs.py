"""Jobs for the run pool's limit tests, in a module with no heavy imports (the worker imports it to run them)."""

from __future__ import annotations

import time


def hold_memory(mib: int, seconds: float, **_: object) -> dict:
    """Touch ``mib`` MiB and keep them for ``seconds``; the dispatcher should kill the worker first."""
    block = bytearray(b"x") * (mib << 20)
    time.sleep(seconds)
    return {"status": "finished", "metrics": {"held": len(block)}, "summary": {}}


def quick(**_: object) -> dict:
    return {"status": "finished", "metrics": {}, "summary": {}}


def environment(**kwargs: object) -> dict:
    """The worker's environment, and the names of the keyword arguments the worker passed."""
    import os

    return {"env": dict(os.environ), "kwargs": sorted(kwargs)}
