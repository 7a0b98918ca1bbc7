"""Search mechanisms of an agentic marketplace: who a customer gets to see, in what order.

A search mechanism maps a batch of queries to a ranked page of businesses per
query. The mechanisms follow Magentic Marketplace ("Magentic Marketplace: An
Open-Source Environment for Studying Agentic Markets", its search-mechanism
study; code in microsoft/multi-agent-marketplace,
``marketplace/protocol/search/``):

* ``simple``   : every business, in a uniformly random order per query;
* ``filtered`` : only businesses with every amenity named in the query's
  filter, ranked lexically;
* ``lexical``  : every business, ranked by character-shingle overlap between the
  query and the business text (``lexical_algo.shingle_overlap_score``):
  ``score(q, d) = |S_4(q) ∩ S_4(d)| / |S_4(q)|`` where ``S_4`` is the set of
  4-character shingles of the normalised, space-padded text; ties by rating
  (higher first), then business index (``lexical_algo.lexical_rank``);
* ``ranked`` (alias ``noisy``): a noisy oracle: relevance level (2 = carries every requested
  item and has every required amenity, 1 = carries the items, 0 = neither)
  plus ``noise * N(0, 1)``, ties by the customer's utility then index;
* ``optimal``  : the oracle: only businesses that carry every requested item,
  by the customer's true utility (ties: lowest index). (Magentic's own
  "optimal" keeps the same businesses but orders them by rating.)

The page size is the search *bandwidth*. Everything is vectorised: business
texts become a sparse 0/1 matrix over the shingle vocabulary once, and a batch
of queries is scored with one sparse product per chunk of queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import sparse

_NON_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lower-case, drop punctuation, collapse whitespace (as Magentic's ``normalize_text``)."""
    return _SPACES.sub(" ", _NON_WORD.sub("", text.lower())).strip()


def shingles(text: str, k: int = 4) -> set[str]:
    """The set of ``k``-character shingles of ``" " + normalize_text(text) + " "``."""
    s = " " + normalize_text(text) + " "
    if len(s) < k:
        s = s + " " * (k - len(s))
    return {s[i : i + k] for i in range(len(s) - k + 1)}


def shingle_overlap_score(query: str, doc: str, k: int = 4) -> float:
    """Share of the query's shingles that also occur in the document (scalar reference version)."""
    q = shingles(query, k)
    return len(q & shingles(doc, k)) / len(q) if q else 0.0


def shingle_codes(text: str, k: int = 4) -> np.ndarray:
    """The distinct shingles of ``text`` (as ``shingles``) encoded as sorted uint64 codes.

    Each character is its code point clipped to 16 bits, so for ``k <= 4``
    a shingle is one exact 64-bit integer (characters outside the Basic
    Multilingual Plane, which normalisation almost never keeps, share a code).
    """
    if k > 4:
        raise ValueError("integer shingle codes support k <= 4")
    s = " " + normalize_text(text) + " "
    if len(s) < k:
        s = s + " " * (k - len(s))
    chars = np.minimum(np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32), 0xFFFF).astype(np.uint64)
    n = chars.shape[0] - k + 1
    codes = np.zeros(n, dtype=np.uint64)
    for offset in range(k):
        codes = (codes << np.uint64(16)) | chars[offset : offset + n]
    return np.unique(codes)


@dataclass
class SearchIndex:
    """Everything a search mechanism may use, as arrays.

    ``docs`` is the ``(B, V)`` 0/1 shingle matrix of the business texts over
    the sorted shingle codes ``vocab``; ``rating`` ``(B,)``; ``amenities``
    ``(B, A)`` bool. The oracle mechanisms also read each customer's candidate
    pairs in CSR form: businesses ``cand_business[cand_indptr[c]:cand_indptr[c+1]]``
    carry every item customer ``c`` requests, with utility ``cand_utility`` and
    ``cand_qualifies`` (has every required amenity).
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
    tiebreak: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = self.n_businesses
        # Higher rating first, then lower index: one int64 per business, larger = better.
        _, rating_rank = np.unique(np.asarray(self.rating, dtype=float), return_inverse=True)
        self.tiebreak = rating_rank.astype(np.int64) * n + (n - 1 - np.arange(n, dtype=np.int64))

    @property
    def n_businesses(self) -> int:
        return self.docs.shape[0]


def build_index(texts: list[str], rating: np.ndarray, amenities: np.ndarray, k: int = 4, **candidates: np.ndarray) -> SearchIndex:
    """Shingle the business texts into a sparse 0/1 matrix and wrap the arrays in a ``SearchIndex``."""
    per_doc = [shingle_codes(text, k) for text in texts]
    sizes = np.fromiter((c.shape[0] for c in per_doc), dtype=np.int64, count=len(per_doc))
    all_codes = np.concatenate(per_doc) if per_doc else np.empty(0, dtype=np.uint64)
    vocab, columns = np.unique(all_codes, return_inverse=True)
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    docs = sparse.csr_matrix(
        (np.ones(all_codes.shape[0], dtype=np.float32), columns.astype(np.int32), indptr), shape=(len(texts), max(1, vocab.shape[0]))
    )
    return SearchIndex(docs=docs, vocab=vocab, rating=np.asarray(rating, dtype=float), amenities=np.asarray(amenities, dtype=bool), k=k, **candidates)


def query_matrix(queries: list[str], index: SearchIndex) -> tuple[sparse.csr_matrix, np.ndarray]:
    """``(Q, n)``: the 0/1 matrix of each query's known shingles and each query's total shingle count."""
    per_query = [shingle_codes(q, index.k) for q in queries]
    sizes = np.fromiter((c.shape[0] for c in per_query), dtype=np.int64, count=len(per_query))
    codes = np.concatenate(per_query) if per_query else np.empty(0, dtype=np.uint64)
    rows = np.repeat(np.arange(len(queries)), sizes)
    vocab = index.vocab
    pos = np.searchsorted(vocab, codes)
    pos_clipped = np.minimum(pos, max(0, vocab.shape[0] - 1))
    known = (pos < vocab.shape[0]) & (vocab[pos_clipped] == codes) if vocab.shape[0] else np.zeros(codes.shape[0], dtype=bool)
    q = sparse.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.float32), (rows[known], pos_clipped[known])), shape=(len(queries), index.docs.shape[1])
    )
    return q, sizes


def lexical_counts(queries: list[str], index: SearchIndex) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``(nq, B)`` shingle-intersection counts and the query sizes (score = counts / sizes)."""
    q, sizes = query_matrix(queries, index)
    counts = (q @ index.docs.T).toarray()
    return np.rint(counts).astype(np.int64), sizes


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


Ranker = Callable[..., list[np.ndarray]]
MECHANISMS: dict[str, Ranker] = {}


def register_search(name: str) -> Callable[[Ranker], Ranker]:
    def decorate(fn: Ranker) -> Ranker:
        MECHANISMS[name] = fn
        return fn

    return decorate


def _lexical_keys(queries: list[str], index: SearchIndex) -> np.ndarray:
    counts, _ = lexical_counts(queries, index)
    # count/size has the same order as count within a row; break ties by rating, then index.
    return counts * (int(index.tiebreak.max(initial=0)) + 1) + index.tiebreak[None, :]


@register_search("lexical")
def rank_lexical(index: SearchIndex, queries: list[str], depth: int, **_: object) -> list[np.ndarray]:
    """Shingle-overlap ranking of every business (Magentic's ``lexical_rank``)."""
    return _top(_lexical_keys(queries, index), depth)


@register_search("filtered")
def rank_filtered(index: SearchIndex, queries: list[str], depth: int, amenity_filters: np.ndarray | None = None, **_: object) -> list[np.ndarray]:
    """Lexical ranking restricted to businesses with every amenity in the query's filter."""
    keys = _lexical_keys(queries, index)
    if amenity_filters is None:
        return _top(keys, depth)
    filters = np.asarray(amenity_filters, dtype=bool)
    # business b passes query r iff it has every required amenity: no (required & ~has) pair.
    missing = filters.astype(np.int32) @ (~index.amenities).astype(np.int32).T
    return _top(keys, depth, allowed=missing == 0)


@register_search("simple")
def rank_simple(index: SearchIndex, queries: list[str], depth: int, rng: np.random.Generator, **_: object) -> list[np.ndarray]:
    """Every business in a fresh uniformly random order per query."""
    n = index.n_businesses
    return [rng.permutation(n)[:depth] for _ in queries]


def _candidates(index: SearchIndex, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if index.cand_indptr is None:
        raise ValueError("the oracle search mechanisms need the customers' candidate pairs in the index")
    lo, hi = index.cand_indptr[c], index.cand_indptr[c + 1]
    return index.cand_business[lo:hi], index.cand_utility[lo:hi], index.cand_qualifies[lo:hi]


@register_search("optimal")
def rank_optimal(index: SearchIndex, queries: list[str], depth: int, customers: np.ndarray, **_: object) -> list[np.ndarray]:
    """Oracle: the businesses carrying every requested item, best utility first (ties: lowest index)."""
    out = []
    for c in customers:
        b, u, _q = _candidates(index, int(c))
        out.append(b[np.lexsort((b, -u))][:depth])
    return out


@register_search("noisy")
@register_search("ranked")
def rank_noisy(
    index: SearchIndex, queries: list[str], depth: int, customers: np.ndarray, rng: np.random.Generator, noise: float = 0.0, **_: object
) -> list[np.ndarray]:
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
    return out


def search(
    mechanism: str,
    index: SearchIndex,
    queries: list[str],
    *,
    page: np.ndarray | list[int],
    page_size: int,
    customers: np.ndarray | None = None,
    amenity_filters: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    noise: float = 0.0,
    chunk: int = 512,
) -> list[np.ndarray]:
    """Run one batch of queries; returns, per query, the business indices on its (1-based) page.

    Queries are processed in chunks of ``chunk`` so the dense score block stays
    small (``chunk x B`` int64).
    """
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown search mechanism {mechanism!r}; allowed: {', '.join(sorted(MECHANISMS))}")
    page = np.asarray(page, dtype=np.int64)
    if np.any(page < 1):
        raise ValueError("pages are numbered from 1")
    rank = MECHANISMS[mechanism]
    rng = rng if rng is not None else np.random.default_rng(0)
    results: list[np.ndarray] = []
    for lo in range(0, len(queries), chunk):
        hi = min(len(queries), lo + chunk)
        depth = int(page[lo:hi].max()) * page_size
        ranked = rank(
            index, queries[lo:hi], depth,
            customers=None if customers is None else np.asarray(customers)[lo:hi],
            amenity_filters=None if amenity_filters is None else np.asarray(amenity_filters)[lo:hi],
            rng=rng, noise=noise,
        )
        for row, p in zip(ranked, page[lo:hi]):
            results.append(np.asarray(row[(p - 1) * page_size : p * page_size], dtype=np.int64))
    return results
