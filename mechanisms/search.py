"""Search mechanisms of an agentic marketplace: who a customer gets to see, in what order.

A search mechanism maps a batch of queries to a ranked page of businesses per
query; the page size is the search *bandwidth*. The first four are Magentic
Marketplace's, with its meanings ("Magentic Marketplace: An Open-Source
Environment for Studying Agentic Markets", 2025; code in
microsoft/multi-agent-marketplace, ``marketplace/protocol/search/``):

* ``simple``   : every business, by rating (highest first) (``simple.py``);
* ``filtered`` : the businesses whose name or description matches the query
  as SQL ``LIKE '%query%'`` (case-insensitive; no text filter for an empty
  query) and that meet the query's constraints: rating at least
  ``rating_threshold``, every amenity in ``amenities``, every item of
  ``menu_items`` on the menu; by rating (``filtered.py``);
* ``lexical``  : every business, ranked by character-shingle overlap between the
  query and the business text (``lexical_algo.shingle_overlap_score``):
  ``score(q, d) = |S_4(q) ∩ S_4(d)| / |S_4(q)|`` where ``S_4`` is the set of
  4-character shingles of the normalised, space-padded text
  (``mechanisms.shingles``); ties by rating (``lexical.py`` sorts by rating
  before its stable sort by score);
* ``optimal``  : the businesses whose menu holds every item the customer wants
  (Magentic's ``is_subset``), by rating (``optimal.py``).

Where Magentic's order leaves ties (equal ratings, equal scores), its database
returns businesses in the order they registered (SQLite ``ORDER BY rowid``),
and Python's stable sorts keep it. That order is ``SearchIndex.order``:
business index by default (agents registered in data-file order), or any
permutation, e.g. a seeded one (``SearchIndex.set_order``).

Agora's own variants:

* ``shuffled`` : every business, in a fresh uniformly random order per query
  (Agora's ``simple`` before the Magentic meanings);
* ``oracle``   : only the businesses carrying every requested item, by the
  customer's true utility (ties: lowest index) (Agora's former ``optimal``);
* ``ranked`` (alias ``noisy``): a noisy oracle: relevance level (2 = carries
  every requested item and has every required amenity, 1 = carries the items,
  0 = neither) plus ``noise * N(0, 1)``, ties by the customer's utility then index;
* ``lexical_filtered`` : lexical ranking restricted to the businesses that meet
  the query's constraints (Agora's former ``filtered``);
* ``bm25``     : Okapi BM25 over word tokens (``mechanisms.bm25``, with bm25s),
  ties by rating then registration order.

Scale: ``lexical`` answers from a byte index over the distinct holder sets of
the shingle vocabulary (``mechanisms.lexical_index``; the business x shingle
matrix from ``mechanisms.shingle_matrix``), and the page equals the
brute-force ranking (``rank_lexical_brute``, kept as the oracle). ``simple`` and
``optimal`` read precomputed orders; ``filtered`` intersects item postings,
the substring matches (``mechanisms.text_match``) and the amenity and rating
columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
from scipy import sparse

from mechanisms.lexical_index import LexicalIndex, postings_of
from mechanisms.shingle_matrix import shingle_matrix
from mechanisms.shingles import batch_codes, normalize_text, shingle_codes, shingle_overlap_score, shingles
from mechanisms.text_match import SubstringIndex

__all__ = [
    "MECHANISMS", "Constraints", "Mechanism", "SearchIndex", "build_index", "lexical_counts", "normalize_text", "query_matrix",
    "rank_lexical_brute", "search", "search_pages", "shingle_codes", "shingle_overlap_score", "shingles",
]


@dataclass
class SearchIndex:
    """Everything a search mechanism may use, as arrays.

    ``docs`` is the ``(B, V)`` 0/1 shingle matrix of the business texts over
    the sorted shingle codes ``vocab``; ``rating`` ``(B,)``; ``amenities``
    ``(B, A)`` bool; ``carried`` ``(B, I)`` the menus' items (explicit entries =
    on the menu), ``names`` / ``descriptions`` the fields ``filtered`` matches.
    The customer mechanisms read each customer's candidate pairs in CSR form:
    businesses ``cand_business[cand_indptr[c]:cand_indptr[c+1]]`` carry every
    item customer ``c`` requests, with utility ``cand_utility`` and
    ``cand_qualifies`` (has every required amenity). ``order`` is each
    business's registration position (ties after rating; default: its index).
    """

    docs: sparse.csr_matrix
    vocab: np.ndarray
    rating: np.ndarray
    amenities: np.ndarray
    k: int = 4
    cand_indptr: np.ndarray | None = None
    cand_business: np.ndarray | None = None
    cand_utility: np.ndarray | None = None
    cand_qualifies: np.ndarray | None = None
    carried: sparse.csr_matrix | None = None
    names: list[str] | None = None
    descriptions: list[str] | None = None
    texts: list[str] | None = None
    order: np.ndarray | None = None
    tiebreak: np.ndarray = field(init=False)
    _cache: dict[str, Any] = field(init=False, default_factory=dict, repr=False)
    _lexical: LexicalIndex | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.set_order(self.order)

    def set_order(self, order: np.ndarray | None) -> None:
        """Set the registration order (``order[b]`` = position of business ``b``) and the tie-break keys from it."""
        n = self.n_businesses
        self.order = np.arange(n, dtype=np.int64) if order is None else np.asarray(order, dtype=np.int64)
        # Higher rating first, then earlier registration: one int64 per business, larger = better.
        _, rating_rank = np.unique(np.asarray(self.rating, dtype=float), return_inverse=True)
        self.tiebreak = rating_rank.astype(np.int64).ravel() * n + (n - 1 - self.order)
        self._cache.clear()
        if self._lexical is not None:   # its holder rows do not depend on the order: only the tie-break is new
            self._lexical.set_tiebreak(self.tiebreak)

    @property
    def n_businesses(self) -> int:
        return self.docs.shape[0]

    def cached(self, name: str, build: Callable[[], Any]) -> Any:
        """A structure built on first use (inverted index, orders, ...), dropped when the order changes."""
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    @property
    def by_rating(self) -> np.ndarray:
        """Every business, best rating first, then registration order (Magentic's ``simple`` order)."""
        return self.cached("by_rating", lambda: np.argsort(-self.tiebreak, kind="stable"))

    @property
    def postings(self) -> sparse.csr_matrix:
        """``(V, B)`` float32: the businesses holding each shingle (the transpose of ``docs``, built once), for the
        sparse products of the brute-force paths (a float32 operand keeps scipy from casting a copy per product)."""
        return self.cached("postings", lambda: postings_of(self.docs).astype(np.float32))

    @property
    def lexical(self) -> LexicalIndex:
        """The inverted index with its bitmap (``mechanisms.lexical_index``), built on first use and kept when the
        order changes (``set_order`` hands it the new tie-break).

        It keeps its own copy of what it needs, so the transpose it is built from is not kept unless a brute-force
        path has asked for it (``postings``: 8 bytes per pair, 126 MB at 30,000 businesses)."""
        if self._lexical is None:
            self._lexical = LexicalIndex(self.docs, self.tiebreak, self._cache.get("postings"))
        return self._lexical


def build_index(
    texts: list[str], rating: np.ndarray, amenities: np.ndarray, k: int = 4, **extra: Any
) -> SearchIndex:
    """Shingle the business texts into a sparse 0/1 matrix (``mechanisms.shingle_matrix``) and wrap the arrays in a ``SearchIndex``."""
    docs, vocab = shingle_matrix(list(texts), k)
    return SearchIndex(docs=docs, vocab=vocab, rating=np.asarray(rating, dtype=float), amenities=np.asarray(amenities, dtype=bool), k=k,
                       texts=list(texts), **extra)


def query_matrix(queries: list[str], index: SearchIndex) -> tuple[sparse.csr_matrix, np.ndarray]:
    """``(Q, V)``: the 0/1 matrix of each query's known shingles, and each query's total shingle count."""
    own, codes = shingle_matrix(list(queries), index.k)   # the queries' own vocabulary, mapped onto the index's
    sizes = np.diff(own.indptr)
    vocab = index.vocab
    pos = np.searchsorted(vocab, codes)
    pos_clipped = np.minimum(pos, max(0, vocab.shape[0] - 1))
    known = (pos < vocab.shape[0]) & (vocab[pos_clipped] == codes) if vocab.shape[0] else np.zeros(codes.shape[0], dtype=bool)
    keep = known[own.indices]
    rows = np.repeat(np.arange(len(queries)), sizes)[keep]
    q = sparse.csr_matrix(
        (np.ones(rows.shape[0], dtype=np.float32), (rows, pos_clipped[own.indices[keep]])), shape=(len(queries), index.docs.shape[1])
    )
    return q, sizes


def lexical_counts(queries: list[str], index: SearchIndex) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``(Q, B)`` shingle-intersection counts and the query sizes (score = counts / sizes)."""
    q, sizes = query_matrix(queries, index)
    counts = (q @ index.postings).toarray()
    return np.rint(counts).astype(np.int64), sizes


# --------------------------------------------------------------------------- constraints


@dataclass
class Constraints:
    """Per-query constraints of a batch (Magentic's ``SearchConstraints``); ``None`` = no such constraint.

    ``rating_threshold`` ``(Q,)`` (NaN: none), ``amenities`` ``(Q, A)`` bool
    (required), ``menu_items`` one array of item columns (of ``carried``) per
    query, ``impossible`` ``(Q,)`` bool: the query names an amenity or item
    that no business has, so nothing passes.
    """

    rating_threshold: np.ndarray | None = None
    amenities: np.ndarray | None = None
    menu_items: list[np.ndarray] | None = None
    impossible: np.ndarray | None = None

    def rows(self, lo: int, hi: int) -> "Constraints":
        return Constraints(
            None if self.rating_threshold is None else self.rating_threshold[lo:hi],
            None if self.amenities is None else self.amenities[lo:hi],
            None if self.menu_items is None else self.menu_items[lo:hi],
            None if self.impossible is None else self.impossible[lo:hi],
        )

    def allowed(self, index: SearchIndex, r: int, businesses: np.ndarray) -> np.ndarray:
        """Which of ``businesses`` meet query ``r``'s constraints (bool mask)."""
        ok = np.ones(businesses.shape[0], dtype=bool)
        if self.impossible is not None and self.impossible[r]:
            return ~ok
        if self.amenities is not None and self.amenities[r].any():
            ok &= index.amenities[np.ix_(businesses, np.flatnonzero(self.amenities[r]))].all(axis=1)
        if self.rating_threshold is not None and not np.isnan(self.rating_threshold[r]):
            ok &= index.rating[businesses] >= self.rating_threshold[r]
        if self.menu_items is not None and len(self.menu_items[r]):
            if index.carried is None:
                raise ValueError("menu-item constraints need the menus (carried) in the index")
            ok &= np.rint(np.asarray(index.carried[businesses][:, self.menu_items[r]].sum(axis=1)).ravel()) == len(self.menu_items[r])
        return ok


# --------------------------------------------------------------------------- mechanisms


@dataclass
class Ranked:
    """One chunk's answer: per query the ranking's first ``depth`` businesses, and how many it returns in all.

    ``matches`` is ``None`` when a ranking lists every business.
    """

    rows: list[np.ndarray]
    matches: np.ndarray | None = None


Ranker = Callable[..., Ranked]


@dataclass(frozen=True)
class Mechanism:
    """A registered mechanism: its ranker and how its page count is known.

    ``pages``: ``"all"`` (a page count over every business), ``"matches"`` (over
    the businesses it returns, as Magentic's filtered/optimal) or ``"unknown"``
    (none reported: Agora's former ``optimal`` and ``filtered`` did not).
    """

    name: str
    rank: Ranker
    pages: Literal["all", "matches", "unknown"]
    summary: str


MECHANISMS: dict[str, Mechanism] = {}


def register_search(name: str, pages: Literal["all", "matches", "unknown"], summary: str) -> Callable[[Ranker], Ranker]:
    def decorate(fn: Ranker) -> Ranker:
        MECHANISMS[name] = Mechanism(name, fn, pages, summary)
        return fn

    return decorate


def _top(keys: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[np.ndarray]:
    """Per row, the indices of the ``n`` largest int64 keys in decreasing order (only ``allowed`` ones)."""
    if allowed is not None:
        keys = np.where(allowed, keys, np.iinfo(np.int64).min + 1)  # (+1: its negation must not overflow)
    n = min(n, keys.shape[1])
    if n <= 0:
        return [np.empty(0, dtype=np.int64) for _ in range(keys.shape[0])]
    part = np.argpartition(-keys, n - 1, axis=1)[:, :n] if n < keys.shape[1] else np.tile(np.arange(keys.shape[1]), (keys.shape[0], 1))
    part_keys = np.take_along_axis(keys, part, axis=1)
    order = np.argsort(-part_keys, axis=1, kind="stable")
    ranked = np.take_along_axis(part, order, axis=1)
    if allowed is None:
        return list(ranked)
    ok = np.take_along_axis(allowed, ranked, axis=1)
    return [row[mask] for row, mask in zip(ranked, ok)]


def lexical_keys(counts: np.ndarray, index: SearchIndex) -> np.ndarray:
    """Sort keys of the lexical order: count first (count/size has the same order within a row), then tie-break."""
    return counts * (int(index.tiebreak.max(initial=0)) + 1) + index.tiebreak[None, :]


def rank_lexical_brute(index: SearchIndex, queries: list[str], depth: int, **_: object) -> Ranked:
    """Lexical ranking by scoring every business for every query (the oracle of the indexed version)."""
    counts, _ = lexical_counts(queries, index)
    return Ranked(_top(lexical_keys(counts, index), depth))


@register_search("lexical", "all", "shingle overlap with the business text (Magentic's lexical_rank), ties by rating")
def rank_lexical(index: SearchIndex, queries: list[str], depth: int, **_: object) -> Ranked:
    """Shingle-overlap ranking (Magentic's ``lexical_rank``) from the shingle index (``mechanisms.lexical_index``)."""
    q, _sizes = query_matrix(queries, index)
    return Ranked(index.lexical.top(q, depth))


@register_search("simple", "all", "every business by rating (Magentic's simple)")
def rank_simple(index: SearchIndex, queries: list[str], depth: int, **_: object) -> Ranked:
    """Every business, highest rating first, ties in registration order (Magentic's ``simple``)."""
    head = index.by_rating[:depth]
    return Ranked([head for _ in queries])


def _item_postings(index: SearchIndex) -> sparse.csc_matrix:
    if index.carried is None:
        raise ValueError("menu-item constraints need the menus (carried) in the index")
    return index.cached("item_postings", lambda: sparse.csc_matrix(index.carried))


def _substrings(index: SearchIndex) -> SubstringIndex:
    if index.names is None or index.descriptions is None:
        raise ValueError("the 'filtered' mechanism needs the businesses' names and descriptions in the index")
    return index.cached("substrings", lambda: SubstringIndex([[n, d] for n, d in zip(index.names, index.descriptions)]))


@register_search("filtered", "matches", "name or description LIKE '%query%' plus rating, amenity and menu-item constraints, by rating (Magentic's filtered)")
def rank_filtered(index: SearchIndex, queries: list[str], depth: int, constraints: Constraints | None = None, **_: object) -> Ranked:
    """Magentic's ``filtered``: text match on name or description and the constraints, by rating."""
    cons = constraints or Constraints()
    rows, matches = [], np.zeros(len(queries), dtype=np.int64)
    for r, query in enumerate(queries):
        if cons.impossible is not None and cons.impossible[r]:
            rows.append(np.empty(0, dtype=np.int64))
            continue
        found: np.ndarray | None = None
        if cons.menu_items is not None and len(cons.menu_items[r]):
            post = _item_postings(index)
            for col in np.unique(cons.menu_items[r]).tolist():
                holders = post.indices[post.indptr[col] : post.indptr[col + 1]].astype(np.int64)
                found = holders if found is None else np.intersect1d(found, holders, assume_unique=True)
        if query:
            text = _substrings(index).matches(query)
            found = text if found is None else np.intersect1d(found, text, assume_unique=True)
        if found is None:
            found = np.arange(index.n_businesses)
        found = found[Constraints(cons.rating_threshold, cons.amenities).allowed(index, r, found)] if found.size else found
        matches[r] = found.shape[0]
        rows.append(found[np.argsort(-index.tiebreak[found], kind="stable")][:depth])
    return Ranked(rows, matches)


def _candidates(index: SearchIndex, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if index.cand_indptr is None:
        raise ValueError("the customer search mechanisms need the customers' candidate pairs in the index")
    lo, hi = index.cand_indptr[c], index.cand_indptr[c + 1]
    return index.cand_business[lo:hi], index.cand_utility[lo:hi], index.cand_qualifies[lo:hi]


def _candidates_by_rating(index: SearchIndex) -> np.ndarray:
    """``cand_business`` re-sorted within each customer by rating, then registration order (computed once)."""
    def build() -> np.ndarray:
        owner = np.repeat(np.arange(index.cand_indptr.shape[0] - 1), np.diff(index.cand_indptr))
        return index.cand_business[np.lexsort((-index.tiebreak[index.cand_business], owner))]

    if index.cand_indptr is None:
        raise ValueError("the customer search mechanisms need the customers' candidate pairs in the index")
    return index.cached("candidates_by_rating", build)


@register_search("optimal", "matches", "the businesses whose menu holds every requested item, by rating (Magentic's optimal)")
def rank_optimal(index: SearchIndex, queries: list[str], depth: int, customers: np.ndarray, **_: object) -> Ranked:
    """Magentic's ``optimal``: every business that carries all the customer's items, highest rating first."""
    ranked = _candidates_by_rating(index)
    ptr = index.cand_indptr
    rows = [ranked[ptr[c] : min(ptr[c + 1], ptr[c] + depth)] for c in np.asarray(customers, dtype=np.int64).tolist()]
    return Ranked(rows, np.asarray([ptr[c + 1] - ptr[c] for c in np.asarray(customers).tolist()], dtype=np.int64))


@register_search("shuffled", "all", "every business in a fresh random order per query")
def rank_shuffled(index: SearchIndex, queries: list[str], depth: int, rng: np.random.Generator, **_: object) -> Ranked:
    """Every business in a fresh uniformly random order per query (Agora's former ``simple``)."""
    n = index.n_businesses
    return Ranked([rng.permutation(n)[:depth] for _ in queries])


@register_search("oracle", "unknown", "the businesses carrying every requested item, by the customer's true utility")
def rank_oracle(index: SearchIndex, queries: list[str], depth: int, customers: np.ndarray, **_: object) -> Ranked:
    """Oracle: the businesses carrying every requested item, best utility first (ties: lowest index)."""
    out = []
    for c in customers:
        b, u, _q = _candidates(index, int(c))
        out.append(b[np.lexsort((b, -u))][:depth])
    return Ranked(out)


def _rank_noisy(
    index: SearchIndex, queries: list[str], depth: int, customers: np.ndarray, rng: np.random.Generator, noise: float = 0.0, **_: object
) -> Ranked:
    """Noisy oracle: relevance level (2 qualifying, 1 carries the items, 0 other) + ``noise * N(0,1)``."""
    n = index.n_businesses
    out = []
    ids = np.arange(n)
    for c in customers:
        b, u, q = _candidates(index, int(c))
        level = np.zeros(n)
        level[b] = np.where(q, 2.0, 1.0)
        utility = np.full(n, -np.inf)
        utility[b] = u
        key = level + (noise * rng.standard_normal(n) if noise > 0 else 0.0)
        out.append(np.lexsort((ids, -utility, -key))[:depth])
    return Ranked(out)


rank_noisy = register_search("ranked", "all", "noisy oracle: relevance level plus noise * N(0, 1)")(_rank_noisy)
register_search("noisy", "all", "alias of 'ranked'")(_rank_noisy)


@register_search("lexical_filtered", "unknown", "lexical ranking of the businesses meeting the constraints")
def rank_lexical_filtered(index: SearchIndex, queries: list[str], depth: int, constraints: Constraints | None = None, **_: object) -> Ranked:
    """Lexical ranking restricted to businesses that meet the query's constraints (Agora's former ``filtered``)."""
    counts, _ = lexical_counts(queries, index)
    keys = lexical_keys(counts, index)
    if constraints is None:
        return Ranked(_top(keys, depth))
    everyone = np.arange(index.n_businesses)
    allowed = np.stack([constraints.allowed(index, r, everyone) for r in range(len(queries))]) if queries else np.zeros((0, index.n_businesses), dtype=bool)
    return Ranked(_top(keys, depth, allowed=allowed))


@register_search("bm25", "all", "Okapi BM25 over word tokens (bm25s), ties by rating")
def rank_bm25(index: SearchIndex, queries: list[str], depth: int, **_: object) -> Ranked:
    """BM25 (``mechanisms.bm25``) over the business texts."""
    from mechanisms.bm25 import BM25Index

    if index.texts is None:
        raise ValueError("the 'bm25' mechanism needs the business texts in the index")
    return Ranked(index.cached("bm25", lambda: BM25Index(index.texts, index.tiebreak)).top(queries, depth))


# --------------------------------------------------------------------------- one batch


def search_pages(
    mechanism: str,
    index: SearchIndex,
    queries: list[str],
    *,
    page: np.ndarray | list[int],
    page_size: int,
    customers: np.ndarray | None = None,
    constraints: Constraints | None = None,
    rng: np.random.Generator | None = None,
    noise: float = 0.0,
    chunk: int = 512,
) -> tuple[list[np.ndarray], list[int | None]]:
    """Run one batch of queries: per query the business indices on its (1-based) page, and its page count.

    Queries are processed in chunks of ``chunk`` (the dense work of the
    brute-force paths stays ``chunk x B``).
    """
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown search mechanism {mechanism!r}; allowed: {', '.join(sorted(MECHANISMS))}")
    page = np.asarray(page, dtype=np.int64)
    if np.any(page < 1):
        raise ValueError("pages are numbered from 1")
    mech = MECHANISMS[mechanism]
    rng = rng if rng is not None else np.random.default_rng(0)
    results: list[np.ndarray] = []
    totals: list[int | None] = []
    n = index.n_businesses
    for lo in range(0, len(queries), chunk):
        hi = min(len(queries), lo + chunk)
        depth = int(page[lo:hi].max()) * page_size
        ranked = mech.rank(
            index, queries[lo:hi], depth,
            customers=None if customers is None else np.asarray(customers)[lo:hi],
            constraints=None if constraints is None else constraints.rows(lo, hi),
            rng=rng, noise=noise,
        )
        for r, (row, p) in enumerate(zip(ranked.rows, page[lo:hi])):
            results.append(np.asarray(row[(p - 1) * page_size : p * page_size], dtype=np.int64))
            if mech.pages == "unknown":
                totals.append(None)
            else:
                count = n if mech.pages == "all" or ranked.matches is None else int(ranked.matches[r])
                totals.append(-(-count // page_size))
    return results, totals


def search(mechanism: str, index: SearchIndex, queries: list[str], **kwargs: Any) -> list[np.ndarray]:
    """``search_pages`` without the page counts: per query, the business indices on its page."""
    return search_pages(mechanism, index, queries, **kwargs)[0]
