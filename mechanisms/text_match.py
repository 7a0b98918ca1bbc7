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
"""

from __future__ import annotations

import re

import numpy as np

_SEP = "\x00"


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

    def matches(self, pattern: str) -> np.ndarray:
        """Sorted indices of the businesses with a field matching ``LIKE '%pattern%'``."""
        pattern = pattern.lower()
        if _SEP in pattern:
            return np.empty(0, dtype=np.int64)
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
