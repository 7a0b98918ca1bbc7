"""The public goods world (MAC-SPGG; direct and third-party punishment), one module per job:

* ``config``   the scenario's ``world:`` block (``PublicGoodsConfig``) and the institutions' blocks;
* ``actions``  the action model factories (contribution, punishment, partner selection);
* ``world``    the World itself (``PublicGoodsGame``), registered as ``public_goods``: rounds,
               groups, institutions, measures and the stage game's theory.

``from simulator.worlds.public_goods import X`` loads only the module that defines ``X``
(``simulator.worlds.lazy_exports``).
"""

from simulator.worlds import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "config": ["PublicGoodsConfig", "PunishmentConfig", "ReputationConfig", "PartnerSelectionConfig", "Institutions"],
    "actions": ["contribution_model", "punish_model", "select_model"],
    "world": ["PublicGoodsGame", "THEORY_MAX_PROFILES"],
})
