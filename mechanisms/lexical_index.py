"""Exact top-k shingle-overlap retrieval from an index of the shingle vocabulary, for batches of queries.

The lexical score of a business ``d`` for a query ``q`` is the number of the
query's (known) shingles that ``d`` contains, ``|S(q) ∩ S(d)|`` (Magentic's
score times ``|S(q)|``: the same order within a query); ties go to the larger
``tiebreak`` key (rating, then registration order). ``LexicalIndex.top``
returns exactly the ``depth`` best businesses of that order; the brute-force
ranking (``mechanisms.search.rank_lexical_brute``: one sparse product, int64
keys over every business) is its test oracle.

Layout. Shingles held by exactly the same businesses (the four shingles of a
word that occurs nowhere else, say) share one *holder row*, and a query's
count is a weighted sum of rows (weight = how many of its shingles have that
row): on Agora's generated markets 55-70 known shingles per query make about
25 rows. A row held by at least ``DENSE_SHARE`` of the businesses is stored as
one byte per business, in column tiles of ``TILE`` businesses; a rarer row as
its posting list. Memory is therefore linear in the number of (shingle,
business) pairs: a dense row costs at most ``1 / DENSE_SHARE`` bytes per pair
(at 100,000 businesses: 182 MB instead of 488 MB for every distinct row as
bytes, 4,875 rows x 100,000).

Counting is term-at-a-time accumulation (TAAT) in bytes, exact because the
dense and the rare rows partition the query's rows: per block of ``BLOCK``
queries, one sparse x dense product per tile (the block's counts of one tile
stay in cache while the tile's rows are added: 1.5x faster than one product
over all businesses at 100,000, measured in CSR order), the block's weights in CSC form so
that the product adds one tile row into every query of the block that has it
before moving to the next (each row is read once per block, not once per
query: on the captured queries of the 100,000 x 30,000 run, 86 -> 64 us per
query with 1,024 queries a block instead of 256 in CSR order, the same pages),
and a scatter-add of the rare rows'
postings (a posting list costs its length, but a scattered pair costs as much
as some 64 byte adds: measured, rows rarer than 1/64 are the ones worth it).
Queries with 256 or more known shingles are counted in 16 bits. A page is
then found per block: a bound that at least ``depth`` businesses reach
(guessed from every 32nd business, else the exact threshold from the row's
histogram), and one sort of every row's businesses at or above it by (count,
tie-break): one ``np.sort`` of int64 keys (query, count, tie-break place), not a
three-key ``lexsort`` (measured on the captured queries of the 10,000 x 3,000
and 100,000 x 30,000 runs, with the depth-10 guess from two max passes: ``best``
8.7 -> 6.9 and 25 -> 20 us per query, the same pages).

Why every business is still counted: pruning by score bounds (prefix
filtering, MaxScore -- Turtle & Flood 1995 -- and WAND: skip businesses that
cannot reach the page's threshold) needs rare rows. On markets whose item
names come from small word lists (Agora's generator, Magentic's data) even the
rarest rows of a query are held by 3-15% of the businesses. Measured on the
100,000 x 30,000 market with each query's *exact* 10th-best count (slack below
the query's weight: median 5, 90th percentile 11): MaxScore's essential rows
still hold a median 33% of the businesses; requiring a business to miss at
most the slack among the query's k rarest rows leaves a mean 37% at k = 8 and
2% only at k = 16 (of 25 rows, so the saving is small and the threshold must
first be bounded); block-max bounds over 8 consecutive businesses keep a
median 77% of the blocks (at 3,000 businesses, too, the candidate set was every
business). A byte scan with a small constant is what is left; its cost per
query grows with the number of businesses.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


def postings_of(docs: sparse.csr_matrix) -> sparse.csr_matrix:
    """``(V, B)``: row ``v`` lists the businesses holding shingle ``v``, sorted."""
    postings = sparse.csr_matrix(docs.T)
    postings.sort_indices()
    return postings


BLOCK = 1024          # queries whose counts are computed together (each row of a tile is read once per block)
TILE = 4096           # businesses per column tile of the dense rows: the block's counts of one tile stay in cache
DENSE_SHARE = 1 / 64  # a holder row held by at least this share of the businesses is stored as bytes, a rarer one as postings


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
    """Which businesses hold each distinct holder row, and the tie-break keys ``(B,)`` (larger first).

    Rows ``0 .. n_dense - 1`` are bytes, ``tiles[t]`` holding businesses ``t * TILE ..`` of them; the others are
    the posting lists ``rare`` (CSR, row ``r`` = holder row ``n_dense + r``); ``row_of[v]`` is shingle ``v``'s row.
    """

    def __init__(self, docs: sparse.csr_matrix, tiebreak: np.ndarray, postings: sparse.csr_matrix | None = None) -> None:
        self.n_docs = docs.shape[0]
        self.set_tiebreak(tiebreak)
        postings = postings_of(docs) if postings is None else postings
        row_of, representatives = distinct_rows(postings)
        frequent = np.diff(postings.indptr)[representatives] >= DENSE_SHARE * self.n_docs
        order = np.concatenate((np.flatnonzero(frequent), np.flatnonzero(~frequent)))   # dense rows first
        renumber = np.empty(order.shape[0], dtype=np.int64)
        renumber[order] = np.arange(order.shape[0])
        self.row_of = renumber[row_of]
        self.n_dense = int(frequent.sum())
        kept = postings[representatives[order]]
        dense = kept[: self.n_dense]
        holders = np.zeros((self.n_dense, self.n_docs), dtype=np.uint8)
        holders[np.repeat(np.arange(self.n_dense), np.diff(dense.indptr)), dense.indices] = 1
        self.tiles = [np.ascontiguousarray(holders[:, a : a + TILE]) for a in range(0, self.n_docs, TILE)]
        rare = kept[self.n_dense :]
        self.rare = sparse.csr_matrix((np.ones(rare.nnz, dtype=np.uint8), rare.indices.astype(np.int32), rare.indptr.astype(np.int32)),
                                      shape=rare.shape)

    def set_tiebreak(self, tiebreak: np.ndarray) -> None:
        """New tie-break keys ``(B,)`` (larger first); the holder rows do not depend on them, so they are kept."""
        self.tiebreak = np.asarray(tiebreak, dtype=np.int64)
        # The tie-break as places 0 .. B-1 (0 = best; equal keys by business index, as a stable sort would have them):
        # a page's sort key then packs (query, count, place) into one int64, sorted once by value (no lexsort).
        self.by_place = np.argsort(-self.tiebreak, kind="stable")
        self.place = np.empty(self.n_docs, dtype=np.int64)
        self.place[self.by_place] = np.arange(self.n_docs)

    def nbytes(self) -> int:
        """Bytes held by the index's arrays."""
        return (sum(t.nbytes for t in self.tiles) + self.rare.data.nbytes + self.rare.indices.nbytes + self.rare.indptr.nbytes
                + self.row_of.nbytes + self.tiebreak.nbytes + self.by_place.nbytes + self.place.nbytes)

    def weights(self, query: sparse.csr_matrix, dtype: type) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """The query matrix over the dense and over the rare holder rows: entry = how many of the query's shingles have that row."""
        owner = np.repeat(np.arange(query.shape[0]), np.diff(query.indptr))
        row = self.row_of[query.indices]
        out = []
        for keep, shift, width in ((row < self.n_dense, 0, self.n_dense), (row >= self.n_dense, self.n_dense, self.rare.shape[0])):
            w = sparse.csr_matrix((np.ones(int(keep.sum()), dtype=dtype), (owner[keep], row[keep] - shift)), shape=(query.shape[0], width))
            w.sum_duplicates()
            out.append(w)
        return out[0], out[1]

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
            w_dense, w_rare = self.weights(query[rows], dtype)
            rare = self.rare if dtype is np.uint8 else self.rare.astype(np.uint16)
            for lo in range(0, rows.shape[0], BLOCK):
                w = w_dense[lo : lo + BLOCK].tocsc()   # row by row: a tile row is read once for the whole block
                counts = np.empty((w.shape[0], self.n_docs), dtype=dtype)
                for a, tile in zip(range(0, self.n_docs, TILE), self.tiles):
                    counts[:, a : a + TILE] = w @ tile.astype(dtype, copy=False)
                extra = (w_rare[lo : lo + BLOCK] @ rare).tocsr()   # the rare rows: a scatter-add over their postings
                at = np.repeat(np.arange(extra.shape[0]) * self.n_docs, np.diff(extra.indptr)) + extra.indices
                counts.reshape(-1)[at] += extra.data   # (row, business) pairs of a product are distinct
                for r, page in zip(rows[lo : lo + BLOCK].tolist(), self.best(counts, depth)):
                    out[r] = page
        return out

    def best(self, counts: np.ndarray, depth: int) -> list[np.ndarray]:
        """Per row of ``(Q, B)`` counts, the ``depth`` best businesses by (count, tie-break).

        Any bound ``g`` that at least ``depth`` businesses reach holds the page (its ``depth`` best all count at
        least the ``depth``-th largest count, which is at least ``g``), so only the businesses at or above ``g`` are
        sorted. ``g`` is first guessed from every 32nd business (the count that two of them reach per 16 places of
        the page: about 64 candidates; for pages of up to 16, the sample's largest count if it occurs twice, else
        its second largest) and checked; where it fails (or the market is too small to sample), the
        exact threshold comes from the row's histogram (``np.partition`` past a byte). In bytes, the candidates'
        histograms then give every row's exact threshold (a guess reached by thousands of tied businesses is
        common), and the rest are sorted at once, as int64 keys ``(q * levels + top - count) * B + place`` (``place``:
        the business's rank by tie-break, equal keys in business order as a stable sort would leave them).
        """
        nq, n = counts.shape
        q = b = np.empty(0, dtype=np.int64)
        short = np.ones(nq, dtype=bool)
        if n >= 64 * depth:
            sample = counts[:, ::32]
            k = 2 * ((depth + 15) // 16)
            if k == 2:   # depth <= 16: the second largest sampled count (with repeats) from two max passes, 2x cheaper than a partition
                first = sample.max(axis=1)
                at_first = sample == first[:, None]
                guess = np.where(at_first.sum(axis=1) >= 2, first, np.where(at_first, 0, sample).max(axis=1))
            else:
                guess = np.partition(sample, sample.shape[1] - k, axis=1)[:, sample.shape[1] - k]
            q, b = np.divmod(np.flatnonzero(counts >= guess[:, None]), n)   # flat positions: one pass for the block
            short = np.bincount(q, minlength=nq) < depth
        if short.any():
            keep = ~short[q]
            q, b = [q[keep]], [b[keep]]
            for r in np.flatnonzero(short).tolist():
                row = counts[r]
                if row.dtype == np.uint8:
                    at_least = np.cumsum(np.bincount(row, minlength=256)[::-1])
                    threshold = 255 - int(np.argmax(at_least >= depth))
                else:
                    threshold = int(np.partition(row, n - depth)[n - depth])
                b.append(np.flatnonzero(row >= threshold))
                q.append(np.full(b[-1].shape[0], r, dtype=np.int64))
            q, b = np.concatenate(q), np.concatenate(b)
        value = counts[q, b]
        if counts.dtype == np.uint8:   # the exact threshold of every row from its candidates' histogram: fewer to sort
            at_least = np.cumsum(np.bincount(q * 256 + value, minlength=nq * 256).reshape(nq, 256)[:, ::-1], axis=1)
            keep = value >= (255 - np.argmax(at_least >= depth, axis=1))[q]
            q, b, value = q[keep], b[keep], value[keep]
        # One int64 key per candidate, ((q * levels) + (top - count)) * B + place: sorting the keys sorts by query, then
        # count (larger first), then tie-break; the business is read back from the place (< 2**63 for any block of
        # up to 2**20 queries of 16-bit counts at 10**8 businesses).
        top = np.iinfo(counts.dtype).max
        span = (top + 1) * n
        key = np.sort((q * (top + 1) + (top - value.astype(np.int64))) * n + self.place[b])
        start = np.searchsorted(key, np.arange(nq) * span)
        # Every row has at least ``depth`` candidates (``depth <= B``): the pages as rows of one (nq, depth) array, not
        # views of every candidate's array (a block's candidates, thousands a query where the counts tie, would stay
        # alive as long as any of its pages: 4 GB during a 1,000,000 x 100,000 run's search).
        return list(self.by_place[key[start[:, None] + np.arange(depth)] % n])
