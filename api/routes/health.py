"""``GET /health``: liveness and the pool's load; never needs the API key."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PoolDep
from api.schemas import Health
from simulator.store import agora_version

router = APIRouter(tags=["health"])
public = True


@router.get("/health", response_model=Health, summary="Is the server up?")
def health(pool: PoolDep) -> dict:
    queued, running = pool.counts()
    return {"status": "ok", "version": agora_version(), "workers": pool.size, "queued": queued, "running": running}
