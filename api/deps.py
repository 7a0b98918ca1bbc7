"""Shared dependencies: settings, the store, the run pool, and the API-key check."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ProblemException
from api.services import ThreadStore
from api.settings import Settings
from api.worker import RunPool
from simulator.store import Store

_bearer = HTTPBearer(auto_error=False, description="the value of AGORA_API_KEY (only when it is set)")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(settings: Annotated[Settings, Depends(get_settings)]) -> Store:
    return ThreadStore(settings.db)  # type: ignore[return-value]  # each call uses its thread's connection


def get_pool(request: Request) -> RunPool:
    return request.app.state.pool


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def require_api_key(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless ``Authorization: Bearer <AGORA_API_KEY>``; compared in constant time (digests of equal length)."""
    if settings.api_key is None:
        return
    expected = _digest(settings.api_key.get_secret_value())
    given = _digest(credentials.credentials) if credentials is not None else b""
    if credentials is None or not secrets.compare_digest(given, expected):
        detail = (
            "this API needs 'Authorization: Bearer <key>' (the server's AGORA_API_KEY)"
            if credentials is None else "the bearer key is not the server's AGORA_API_KEY"
        )
        raise ProblemException(401, "unauthorized", detail, title="Unauthorized", headers={"WWW-Authenticate": "Bearer"})


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
PoolDep = Annotated[RunPool, Depends(get_pool)]
