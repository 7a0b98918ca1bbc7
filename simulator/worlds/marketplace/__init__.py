"""The agentic marketplace world (Magentic Marketplace), one module per job:

* ``config``   the scenario's ``world:`` block (``MarketplaceConfig``) and data-folder lookup;
* ``actions``  the action models policies fill (``CustomerAction``, ``BusinessAction``, messages);
* ``styles``   the persuasion styles (``MANIPULATION_TEXTS``);
* ``data``     Magentic's data layout: load, check, write, generate, compile to arrays;
* ``measures`` search quality, first-proposal bias, manipulation;
* ``analytics`` a stored run as Magentic's analytics report it (``agora market analyze``);
* ``world``    the World itself (``Marketplace``), registered as ``marketplace``.

Importing this package imports none of them: ``from simulator.worlds.marketplace import X``
loads only the module that defines ``X`` (PEP 562 ``__getattr__``), so a policy that
imports the action models does not import the world, its data loader or its search index.
``simulator.worlds.load_all`` imports ``world`` to register the world.
"""

from simulator.worlds import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "config": ["MarketplaceConfig", "SyntheticConfig", "SearchConfig", "LatencyConfig", "ManipulationConfig",
               "resolve_data_dir", "resolve_untrusted_data_dir"],
    "actions": ["TextMessage", "OrderItem", "OrderProposal", "Payment", "Message", "Search", "SendMessage",
                "FetchMessages", "Wait", "Finish", "CustomerAction", "CustomerInquiry", "BusinessAction"],
    "styles": ["MANIPULATION_TEXTS", "STYLES"],
    "world": ["Marketplace"],
})
