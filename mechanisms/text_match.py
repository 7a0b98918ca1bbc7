"""Which businesses have a text field matching SQL's ``LIKE '%pattern%'``, as Magentic's filtered search asks.

Magentic Marketplace's ``filtered`` search (``marketplace/protocol/search/filtered.py``)
keeps a business when its name OR its description matches
``LIKE '%query%'``: SQLite's ``LIKE`` (case-insensitive for ASCII) or
PostgreSQL's ``ILIKE`` (case-insensitive), in which ``%`` stands for any run
of characters and ``_`` for one character. Here both sides are lower-cased
with Python's ``str.lower`` (PostgreSQL's behaviour: non-ASCII letters fold
too) and ``%`` / ``_`` in a query keep their wildcard meaning.

All fields live in one lower-cased string, separated by NUL characters, so a
pattern is found with the C string search (or one regular expression when it
has wildcards) and each hit is mapped back to its business; after a hit the
search resumes at the next field, so the work is one pass over the text.

A pattern of at least four characters without wildcards is answered from an
index instead: a field that contains the pattern contains each of its
4-character windows, so only the businesses whose fields hold every window
of the pattern (an intersection of postings of the windows, built once with
``mechanisms.shingle_matrix.window_matrix``) are checked with ``in``. The
answer is the scan's, exactly (tested against the scan on random texts).
"""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse

from mechanisms.shingle_matrix import window_matrix

_SEP = "\x00"
WINDOW = 4   # window length of the substring index


def like_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of ``LIKE '%pattern%'`` inside one field (``%`` any run, ``_`` one character)."""
    parts = []
    for ch in pattern:
        parts.append(f"[^{_SEP}]*?" if ch == "%" else f"[^{_SEP}]" if ch == "_" else re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


class SubstringIndex:
    """The lower-cased fields of every business, searchable for ``LIKE '%pattern%'``."""

    def __init__(self, fields: list[list[str]]) -> None:
        lowered = [[f.replace(_SEP, " ").lower() for f in per] for per in fields]
        flat = [f for per in lowered for f in per]
        self.owner = np.repeat(np.arange(len(fields), dtype=np.int64), [len(per) for per in lowered])
        lengths = np.fromiter((len(f) + 1 for f in flat), dtype=np.int64, count=len(flat))
        self.starts = np.zeros(len(flat), dtype=np.int64)
        np.cumsum(lengths[:-1], out=self.starts[1:])
        self.ends = self.starts + lengths - 1      # position of each field's separator
        self.text = _SEP.join(flat) + _SEP
        self.n_businesses = len(fields)
        self.fields = lowered
        self._windows: tuple[sparse.csc_matrix, np.ndarray] | None = None

    def windows(self) -> tuple[sparse.csc_matrix, np.ndarray]:
        """``(business x window)`` postings (CSC: a column lists the businesses holding that window) and the sorted window codes."""
        if self._windows is None:
            joined = [(_SEP.join(per) + _SEP * WINDOW) for per in self.fields]   # separator runs: never inside a pattern
            docs, vocab = window_matrix(joined, WINDOW)
            self._windows = (sparse.csc_matrix(docs), vocab)
        return self._windows

    def candidates(self, pattern: str) -> np.ndarray:
        """The businesses whose fields hold every 4-character window of ``pattern`` (a superset of the matches)."""
        post, vocab = self.windows()
        chars = [min(ord(ch), 0xFFFF) for ch in pattern]
        codes = np.unique(np.asarray([sum(c << (16 * (WINDOW - 1 - i)) for i, c in enumerate(chars[p : p + WINDOW]))
                                      for p in range(len(chars) - WINDOW + 1)], dtype=np.uint64))
        pos = np.searchsorted(vocab, codes)
        if np.any(pos >= vocab.shape[0]) or np.any(vocab[np.minimum(pos, vocab.shape[0] - 1)] != codes):
            return np.empty(0, dtype=np.int64)   # a window no field has
        lists = sorted((post.indices[post.indptr[c] : post.indptr[c + 1]] for c in pos.tolist()), key=len)
        found = lists[0]
        for other in lists[1:]:
            found = np.intersect1d(found, other, assume_unique=True)
            if not found.shape[0]:
                break
        return found.astype(np.int64)

    def matches(self, pattern: str) -> np.ndarray:
        """Sorted indices of the businesses with a field matching ``LIKE '%pattern%'``."""
        pattern = pattern.lower()
        if _SEP in pattern:
            return np.empty(0, dtype=np.int64)
        if not pattern:   # LIKE '%%' matches every field (and find("") would not advance past the text's end)
            return np.unique(self.owner)
        if len(pattern) >= WINDOW and "%" not in pattern and "_" not in pattern:
            cand = self.candidates(pattern)
            return cand[[any(pattern in f for f in self.fields[b]) for b in cand.tolist()]] if cand.shape[0] else cand
        text, hits, pos = self.text, [], 0
        if "%" in pattern or "_" in pattern:
            regex = like_regex(pattern)
            while (found := regex.search(text, pos)) is not None:
                field = int(np.searchsorted(self.starts, found.start(), side="right")) - 1
                hits.append(field)
                pos = int(self.ends[field]) + 1
        else:
            while (at := text.find(pattern, pos)) >= 0:
                field = int(np.searchsorted(self.starts, at, side="right")) - 1
                hits.append(field)
                pos = int(self.ends[field]) + 1
        return np.unique(self.owner[np.asarray(hits, dtype=np.int64)])
