"""BM25 ranking of business texts with ``bm25s`` (Lù, "BM25S: Orders of magnitude faster lexical search via eager sparse scoring", 2024).

Okapi BM25 (Robertson & Zaragoza, "The probabilistic relevance framework:
BM25 and beyond", 2009) in bm25s' default Lucene variant (k1 = 1.5, b = 0.75):
``score(q, d) = sum over query terms t of idf(t) * tf(t, d) * (k1 + 1) /
(tf(t, d) + k1 * (1 - b + b * |d| / avgdl))``. Terms are bm25s' tokens (lower-cased
words of two or more characters, English stop words removed, no stemming).
Equal scores are broken by the caller's tie-break keys (rating, then
registration order), as every ranking of ``mechanisms.search``.
"""

from __future__ import annotations

import numpy as np


class BM25Index:
    """A bm25s index over the business texts and the tie-break keys ``(B,)`` (larger first)."""

    def __init__(self, texts: list[str], tiebreak: np.ndarray) -> None:
        import bm25s  # imported here: only the 'bm25' mechanism needs it

        self._bm25s = bm25s
        self.tiebreak = np.asarray(tiebreak, dtype=np.int64)
        self.retriever = bm25s.BM25()
        self.retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every business for ``query`` (``(B,)`` float32; zeros when no term is known)."""
        tokens = self._bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)[0]
        known = [t for t in tokens if t in self.retriever.vocab_dict]
        if not known:
            return np.zeros(self.tiebreak.shape[0], dtype=np.float32)
        return self.retriever.get_scores(known)

    def top(self, queries: list[str], depth: int) -> list[np.ndarray]:
        """Per query, the ``depth`` best businesses: higher score first, then the larger tie-break key."""
        out = []
        for q in queries:
            order = np.lexsort((-self.tiebreak, -self.scores(q).astype(np.float64)))
            out.append(order[:depth])
        return out
