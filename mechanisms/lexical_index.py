"""Exact top-k shingle-overlap retrieval from an index of the shingle vocabulary, for batches of queries.

The lexical score of a business ``d`` for a query ``q`` is the number of the
query's (known) shingles that ``d`` contains, ``|S(q) ∩ S(d)|`` (Magentic's
score times ``|S(q)|``: the same order within a query); ties go to the larger
``tiebreak`` key (rating, then registration order). ``LexicalIndex.top``
returns exactly the ``depth`` best businesses of that order; the brute-force
ranking (``mechanisms.search.rank_lexical_brute``: one sparse product, int64
keys over every business) is its test oracle.

The index holds, per *distinct holder set* of the shingle vocabulary, one byte
per business (``holders``, ``(V', B)`` uint8): shingles held by exactly the
same businesses (the four shingles of a word that occurs nowhere else, say)
share one row, and a query's count is a weighted sum of rows (weight = how
many of its shingles have that row). On Agora's generated markets this halves
the rows summed per query (43 shingles, 19 rows at 3,000 businesses). A page
is found per query in three steps: the counts (a sparse x dense product in
bytes for a block of 64 queries), the page's threshold (the largest count
that at least ``depth`` businesses reach, from the row's histogram), and one
sort of the businesses at or above it by (count, tie-break).

Why every business is still counted: pruning by score bounds (prefix
filtering, max-score/WAND: skip businesses that cannot reach the page's
threshold) needs a threshold near the query's size. On markets whose item
names come from small word lists (Agora's generator, Magentic's data) a
page's 10th business shares only about 60% of the query's shingles (median
25 of 43 at 3,000 businesses) while even the rarest query shingles occur in
3-15% of businesses, so the bound ``held among the R rarest + (m - R)``
reaches the threshold for every business: measured on the 10,000 x 3,000
market with R = 8, the candidate set was all 3,000 businesses for the median
query (and 15x slower than the byte sum). A linear scan in bytes with a
small constant is what is left; its cost per query grows with the number of
businesses.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

def postings_of(docs: sparse.csr_matrix) -> sparse.csr_matrix:
    """``(V, B)``: row ``v`` lists the businesses holding shingle ``v``, sorted."""
    postings = sparse.csr_matrix(docs.T)
    postings.sort_indices()
    return postings


BLOCK = 64   # queries whose byte counts are computed in one sparse x dense product


def distinct_rows(postings: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``(row_of, representatives)``: shingle ``v``'s holders equal those of shingle ``representatives[row_of[v]]``.

    Exact grouping of identical postings (dictionary keys are the full sorted
    business lists, so two shingles share a row only if every holder is the same).
    """
    groups: dict[bytes, int] = {}
    row_of = np.empty(postings.shape[0], dtype=np.int64)
    representatives: list[int] = []
    indptr, indices = postings.indptr, postings.indices
    for v in range(postings.shape[0]):
        key = indices[indptr[v] : indptr[v + 1]].tobytes()
        row = groups.setdefault(key, len(groups))
        if row == len(representatives):
            representatives.append(v)
        row_of[v] = row
    return row_of, np.asarray(representatives, dtype=np.int64)


class LexicalIndex:
    """Which businesses hold each shingle, as bytes (one row per distinct holder set), and the tie-break keys ``(B,)`` (larger first)."""

    def __init__(self, docs: sparse.csr_matrix, tiebreak: np.ndarray, postings: sparse.csr_matrix | None = None) -> None:
        self.n_docs = docs.shape[0]
        self.tiebreak = np.asarray(tiebreak, dtype=np.int64)
        postings = postings_of(docs) if postings is None else postings
        self.row_of, representatives = distinct_rows(postings)
        kept = postings[representatives]
        holders = np.zeros((representatives.shape[0], self.n_docs), dtype=np.uint8)
        holders[np.repeat(np.arange(kept.shape[0]), np.diff(kept.indptr)), kept.indices] = 1
        self.holders = holders

    def weights(self, query: sparse.csr_matrix, dtype: type) -> sparse.csr_matrix:
        """The query matrix over distinct holder rows: entry = how many of the query's shingles have that row."""
        owner = np.repeat(np.arange(query.shape[0]), np.diff(query.indptr))
        w = sparse.csr_matrix((np.ones(query.nnz, dtype=dtype), (owner, self.row_of[query.indices])),
                              shape=(query.shape[0], self.holders.shape[0]))
        w.sum_duplicates()
        return w

    def top(self, query: sparse.csr_matrix, depth: int) -> list[np.ndarray]:
        """Per row of the 0/1 ``(Q, V)`` query matrix, its ``depth`` best businesses in order."""
        nq = query.shape[0]
        depth = min(int(depth), self.n_docs)
        if depth <= 0:
            return [np.empty(0, dtype=np.int64) for _ in range(nq)]
        n = np.diff(query.indptr)
        # Byte counts straight from a sparse x dense product (no copy of the shingle rows); queries with 256 or more
        # known shingles would overflow a byte and are counted in 16 bits instead.
        wide = n >= 256
        out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * nq
        for rows, dtype in ((np.flatnonzero(~wide), np.uint8), (np.flatnonzero(wide), np.uint16)):
            if not rows.shape[0]:
                continue
            w = self.weights(query[rows], dtype)
            holders = self.holders if dtype is np.uint8 else self.holders.astype(np.uint16)
            for lo in range(0, rows.shape[0], BLOCK):
                pages = self.best(w[lo : lo + BLOCK] @ holders, depth)
                for r, page in zip(rows[lo : lo + BLOCK].tolist(), pages):
                    out[r] = page
        return out

    def best(self, counts: np.ndarray, depth: int) -> list[np.ndarray]:
        """Per row of ``(Q, B)`` counts, the ``depth`` best businesses by (count, tie-break).

        Any bound ``g`` that at least ``depth`` businesses reach holds the page (its ``depth`` best all count at
        least the ``depth``-th largest count, which is at least ``g``), so only the businesses at or above ``g`` are
        sorted. ``g`` is first guessed from every 16th business (the count that four of them reach per 16 places of
        the page: about 64 candidates) and checked; when it fails, the exact threshold comes from the row's
        histogram (``np.partition`` past a byte).
        """
        out = []
        n = counts.shape[1]
        sampled = n >= 64 * max(depth, 1)
        for row in counts:
            cand = None
            if sampled:
                sample = np.ascontiguousarray(row[::16])
                k = 4 * ((depth + 15) // 16)
                guess = sample[np.argpartition(sample, sample.shape[0] - k)[sample.shape[0] - k]]
                cand = np.flatnonzero(row >= guess)
                if cand.shape[0] < depth:
                    cand = None
            if cand is None:
                if row.dtype == np.uint8:
                    at_least = np.cumsum(np.bincount(row, minlength=256)[::-1])
                    threshold = 255 - int(np.argmax(at_least >= depth))
                else:
                    threshold = int(np.partition(row, n - depth)[n - depth])
                cand = np.flatnonzero(row >= threshold)
            out.append(cand[np.lexsort((-self.tiebreak[cand], -row[cand].astype(np.int64)))[:depth]])
        return out
