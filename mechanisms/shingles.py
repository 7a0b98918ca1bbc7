"""Character shingles of marketplace texts, as Magentic Marketplace computes them, and as integer codes.

Magentic Marketplace's lexical search (``marketplace/protocol/search/lexical_algo.py``)
compares sets of ``k``-character shingles (k = 4) of the normalised text
``" " + normalize_text(s) + " "`` (lower-cased, punctuation dropped, whitespace
collapsed), padded with spaces to length ``k``.

For vectorised scoring a shingle becomes one integer: each character is its
code point clipped to 16 bits, so for ``k <= 4`` a shingle is one exact
64-bit code (characters outside the Basic Multilingual Plane, which
normalisation almost never keeps, share a code). ``batch_codes`` shingles many
texts with a handful of numpy operations (no Python loop over characters).
"""

from __future__ import annotations

import re

import numpy as np

BLOCK = 32   # texts shingled together by batch_codes (measured fastest: larger blocks sort out of cache)
_NON_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lower-case, drop punctuation, collapse whitespace (as Magentic's ``normalize_text``)."""
    return _SPACES.sub(" ", _NON_WORD.sub("", text.lower())).strip()


def padded(text: str, k: int = 4) -> str:
    """``" " + normalize_text(text) + " "``, padded with spaces to at least ``k`` characters."""
    s = " " + normalize_text(text) + " "
    return s + " " * (k - len(s)) if len(s) < k else s


def shingles(text: str, k: int = 4) -> set[str]:
    """The set of ``k``-character shingles of ``padded(text)``."""
    s = padded(text, k)
    return {s[i : i + k] for i in range(len(s) - k + 1)}


def shingle_overlap_score(query: str, doc: str, k: int = 4) -> float:
    """Share of the query's shingles that also occur in the document (scalar reference version)."""
    q = shingles(query, k)
    return len(q & shingles(doc, k)) / len(q) if q else 0.0


def shingle_codes(text: str, k: int = 4) -> np.ndarray:
    """The distinct shingles of ``text`` (as ``shingles``) encoded as sorted uint64 codes."""
    return batch_codes([text], k)[1]


def batch_codes(texts: list[str], k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Every text's distinct shingle codes: ``(rows, codes)``, sorted by row then code.

    The padded texts are concatenated into one array of 16-bit characters;
    the code of every window is built with ``k`` shifted ORs, windows that
    cross from one text into the next are dropped, and duplicates within a
    text are removed by sorting one int64 key per (text, shingle rank).
    """
    if k > 4:
        raise ValueError("integer shingle codes support k <= 4")
    if not texts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    if len(texts) > BLOCK:   # blocks keep the per-character arrays small (memory, cache)
        parts = [batch_codes(texts[lo : lo + BLOCK], k) for lo in range(0, len(texts), BLOCK)]
        return (np.concatenate([rows + lo for (rows, _), lo in zip(parts, range(0, len(texts), BLOCK))]),
                np.concatenate([codes for _, codes in parts]))
    strings = [padded(t, k) for t in texts]
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    chars = np.minimum(np.frombuffer("".join(strings).encode("utf-32-le"), dtype=np.uint32), 0xFFFF).astype(np.uint64)
    n = chars.shape[0] - k + 1
    codes = np.zeros(n, dtype=np.uint64)
    for offset in range(k):
        codes = (codes << np.uint64(16)) | chars[offset : offset + n]
    # Windows starting at position p of text r are valid for p <= length_r - k.
    windows = lengths - k + 1
    starts = np.zeros(len(strings), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    rows = np.repeat(np.arange(len(strings), dtype=np.int64), windows)
    positions = np.arange(rows.shape[0], dtype=np.int64) - np.repeat(np.cumsum(windows) - windows, windows) + starts[rows]
    # Distinct (text, shingle) pairs, sorted: shingles as ranks in the block's sorted vocabulary, one int64 key per pair.
    vocab, rank = np.unique(codes[positions], return_inverse=True)
    pairs = np.unique(rows * vocab.shape[0] + rank.ravel())
    return pairs // vocab.shape[0], vocab[pairs % vocab.shape[0]]
