"""The marketplace's search service: the world's data as a search index, a batch of queries as ranked pages.

The world schedules searches (they complete after ``latency.search``) and
shows the hits; this module owns what is searched and how the mechanism
(``mechanisms.search``) is called, so ranking can change without touching the
world's protocol code.

A ``Search`` action's constraints (``amenities``, ``rating_threshold``,
``menu_items``: Magentic's ``SearchConstraints``) are read by the mechanisms
that use them (``filtered``, ``lexical_filtered``). Ties that Magentic leaves
to the order in which businesses registered follow ``search.ties``:
``index`` (data-file order) or ``seeded`` (a random registration order,
drawn once per run from the run's generator at the first search).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechanisms import search as search_mech
from simulator.worlds.marketplace.actions import Search
from simulator.worlds.marketplace.config import SearchConfig

CONSTRAINED = ("filtered", "lexical_filtered")   # the mechanisms that read a search's constraints


@dataclass(frozen=True)
class Hits:
    """One query's answer: business indices on the requested page, and the page count when it is known."""

    businesses: np.ndarray
    total_pages: int | None


class MarketSearch:
    """A search index over the businesses' texts, ratings, amenities, menus and the customers' candidate sets.

    ``names`` and ``descriptions`` are the fields Magentic's ``filtered`` matches
    (the description as customers see it); without them ``filtered`` matches
    the whole search text.
    """

    def __init__(self, config: SearchConfig, texts: list[str], arrays, *, names: list[str] | None = None,
                 descriptions: list[str] | None = None) -> None:
        self.config = config
        self.index = search_mech.build_index(
            texts, arrays.rating, arrays.has_amenity,
            cand_indptr=arrays.cand_indptr, cand_business=arrays.cand_business,
            cand_utility=arrays.cand_utility, cand_qualifies=arrays.cand_qualifies,
            carried=getattr(arrays, "carried", None),
            names=list(names) if names is not None else list(texts),
            descriptions=list(descriptions) if descriptions is not None else [""] * len(texts),
        )
        self.amenity_index = {name: k for k, name in enumerate(arrays.amenities)}
        self.item_index = {name: k for k, name in enumerate(getattr(arrays, "items", []))}
        self._order_drawn = getattr(config, "ties", "index") == "index"
        if config.mechanism == "lexical":
            self.index.lexical   # the inverted index is part of building the market, not of its first search

    @property
    def n_businesses(self) -> int:
        return self.index.n_businesses

    def constraints(self, actions: list[Search]) -> search_mech.Constraints:
        """The batch's constraints as arrays (an amenity or item no business has makes a query impossible)."""
        n = len(actions)
        amenities = np.zeros((n, len(self.amenity_index)), dtype=bool)
        threshold = np.full(n, np.nan)
        items: list[np.ndarray] = []
        impossible = np.zeros(n, dtype=bool)
        for r, a in enumerate(actions):
            for name in a.amenities:
                k = self.amenity_index.get(name)
                if k is None:
                    impossible[r] = True   # an amenity nobody has: no business passes the filter
                else:
                    amenities[r, k] = True
            if getattr(a, "rating_threshold", None) is not None:
                threshold[r] = a.rating_threshold
            wanted = []
            for name in getattr(a, "menu_items", None) or []:
                k = self.item_index.get(name)
                if k is None:
                    impossible[r] = True   # an item no menu holds
                else:
                    wanted.append(k)
            items.append(np.asarray(wanted, dtype=np.int64))
        return search_mech.Constraints(threshold, amenities, items, impossible)

    def run(self, customers: list[int], actions: list[Search], rng: np.random.Generator) -> list[Hits]:
        """Answer one batch of searches (one per customer index, in order)."""
        cfg = self.config
        if not self._order_drawn:   # seeded ties: one registration order per run, at the first search
            self.index.set_order(np.argsort(rng.permutation(self.n_businesses)))
            self._order_drawn = True
        constraints = self.constraints(actions) if cfg.mechanism in CONSTRAINED else None
        results, totals = search_mech.search_pages(
            cfg.mechanism, self.index, [a.query for a in actions], page=[a.page for a in actions],
            page_size=cfg.page_size, customers=np.asarray(customers, dtype=np.int64),
            constraints=constraints, rng=rng, noise=cfg.noise,
        )
        return [Hits(found, total) for found, total in zip(results, totals)]
