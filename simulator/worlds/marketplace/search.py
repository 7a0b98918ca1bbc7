"""The marketplace's search service: the world's data as a search index, a batch of queries as ranked pages.

The world schedules searches (they complete after ``latency.search``) and
shows the hits; this module owns what is searched and how the mechanism
(``mechanisms.search``) is called, so ranking can change without touching the
world's protocol code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mechanisms import search as search_mech
from simulator.worlds.marketplace.actions import Search
from simulator.worlds.marketplace.config import SearchConfig


@dataclass(frozen=True)
class Hits:
    """One query's answer: business indices on the requested page, and the page count when it is known."""

    businesses: np.ndarray
    total_pages: int | None


class MarketSearch:
    """A search index over the businesses' texts, ratings, amenities and the customers' candidate sets."""

    def __init__(self, config: SearchConfig, texts: list[str], arrays) -> None:
        self.config = config
        self.index = search_mech.build_index(
            texts, arrays.rating, arrays.has_amenity,
            cand_indptr=arrays.cand_indptr, cand_business=arrays.cand_business,
            cand_utility=arrays.cand_utility, cand_qualifies=arrays.cand_qualifies,
        )
        self.amenity_index = {name: k for k, name in enumerate(arrays.amenities)}

    @property
    def n_businesses(self) -> int:
        return self.index.n_businesses

    def run(self, customers: list[int], actions: list[Search], rng: np.random.Generator) -> list[Hits]:
        """Answer one batch of searches (one per customer index, in order)."""
        cfg = self.config
        filters = None
        impossible = np.zeros(len(actions), dtype=bool)
        if cfg.mechanism == "filtered":
            filters = np.zeros((len(actions), len(self.amenity_index)), dtype=bool)
            for r, a in enumerate(actions):
                for name in a.amenities:
                    k = self.amenity_index.get(name)
                    if k is None:
                        impossible[r] = True  # an amenity nobody has: no business passes the filter
                    else:
                        filters[r, k] = True
        results = search_mech.search(
            cfg.mechanism, self.index, [a.query for a in actions], page=[a.page for a in actions],
            page_size=cfg.page_size, customers=np.asarray(customers, dtype=np.int64),
            amenity_filters=filters, rng=rng, noise=cfg.noise,
        )
        nb = self.index.n_businesses
        total = None if cfg.mechanism in ("optimal", "filtered") else math.ceil(nb / cfg.page_size)
        return [Hits(found[:0] if impossible[r] else found, total) for r, found in enumerate(results)]
