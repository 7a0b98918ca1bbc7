"""The agentic marketplace world (Magentic Marketplace), one module per job:

* ``config``   the scenario's ``world:`` block (``MarketplaceConfig``) and data-folder lookup;
* ``actions``  the action models policies fill (``CustomerAction``, ``BusinessAction``, messages);
* ``styles``   the persuasion styles (``MANIPULATION_TEXTS``);
* ``data``     Magentic's data layout: load, check, write, generate, compile to arrays;
* ``measures`` search quality, first-proposal bias, manipulation;
* ``world``    the World itself (``Marketplace``), registered as ``marketplace``.

Importing this package imports none of them: ``from simulator.worlds.marketplace import X``
loads only the module that defines ``X`` (PEP 562 ``__getattr__``), so a policy that
imports the action models does not import the world, its data loader or its search index.
``simulator.worlds.load_all`` imports ``world`` to register the world.
"""

from __future__ import annotations

import importlib
from typing import Any

# Where each public name lives.
_HOME = {
    **dict.fromkeys(["MarketplaceConfig", "SyntheticConfig", "SearchConfig", "LatencyConfig", "ManipulationConfig",
                     "resolve_data_dir", "resolve_untrusted_data_dir"], "config"),
    **dict.fromkeys(["TextMessage", "OrderItem", "OrderProposal", "Payment", "Message", "Search", "SendMessage",
                     "FetchMessages", "Wait", "Finish", "CustomerAction", "BusinessAction"], "actions"),
    **dict.fromkeys(["MANIPULATION_TEXTS", "STYLES"], "styles"),
    **dict.fromkeys(["Marketplace"], "world"),
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
