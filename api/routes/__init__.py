"""One module per resource; every module here that defines ``router`` is mounted by ``api.app``.

A module sets ``public = True`` to skip the API-key check (only ``health``).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules() -> list[ModuleType]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__, __name__ + "."), key=lambda i: i.name):
        module = importlib.import_module(info.name)
        if hasattr(module, "router"):
            found.append(module)
    return found
