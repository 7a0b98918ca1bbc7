"""The ``(texts x shingles)`` 0/1 matrix of many documents in a few passes over one character array.

The same matrix as shingling each text with ``mechanisms.shingles.batch_codes``
and collecting the distinct codes (the test oracle), built for hundreds of
thousands of long business texts:

* normalisation (``mechanisms.shingles.normalize_text``: lower-case, drop
  ``[^\\w\\s]``, collapse whitespace) takes a ``bytes.translate`` + ``split``
  path for ASCII texts, with byte tables derived from the same regular
  expressions (so it is the same function), and the regular expressions
  otherwise;
* characters are replaced by their rank in the corpus' sorted alphabet, so a
  4-shingle is a small integer (``rank_0 * A^3 + ... + rank_3``) whose order is
  the order of ``batch_codes``' 16-bit codes; the vocabulary is found with one
  presence table over ``A^k`` codes (a sort of the codes when that table
  would be large);
* duplicate shingles within a text are merged with a presence table of
  (text, shingle) per block of texts, whose nonzero positions are already in
  CSR order (no sort).
"""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse

from mechanisms.shingles import normalize_text

__all__ = ["normalize_many", "shingle_matrix", "window_matrix"]

# Byte tables of normalize_text for ASCII, derived from its own classes: the bytes its first regex deletes (neither
# \w nor \s), and the \s bytes that bytes.split does not split on (\x1c-\x1f), turned into spaces first.
_ASCII_PUNCTUATION = bytes(c for c in range(128) if not re.match(r"[\w\s]", chr(c)))
_OTHER_SPACES = bytes(c for c in range(128) if re.match(r"\s", chr(c)) and c not in b" \t\n\r\x0b\x0c")
_ASCII_SPACES = bytes.maketrans(_OTHER_SPACES, b" " * len(_OTHER_SPACES))
TABLE_LIMIT = 1 << 26      # the largest presence table (codes A^k) used instead of a sort


def normalize_many(texts: list[str]) -> list[str]:
    """``normalize_text`` of every text (a faster identical path for ASCII texts, in bytes)."""
    out = []
    for t in texts:
        if t.isascii():
            out.append(b" ".join(t.encode("ascii").translate(_ASCII_SPACES, _ASCII_PUNCTUATION).lower().split()).decode("ascii"))
        else:
            out.append(normalize_text(t))
    return out


def _padded(texts: list[str], k: int) -> list[str]:
    out = []
    for t in normalize_many(texts):
        s = " " + t + " "
        out.append(s + " " * (k - len(s)) if len(s) < k else s)
    return out


def shingle_matrix(texts: list[str], k: int = 4) -> tuple[sparse.csr_matrix, np.ndarray]:
    """``(docs, vocab)``: ``docs[r, v] = 1`` iff text ``r`` has shingle ``vocab[v]`` (sorted uint64 codes of ``batch_codes``).

    ``docs`` is 0/1 CSR with sorted column indices and at least one column, one byte per (text, shingle) pair
    (``uint8``: its readers use the pattern, or cast it; float32 was 50 MB more at 30,000 businesses).
    """
    return window_matrix(_padded(texts, k), k)


def window_matrix(strings: list[str], k: int = 4) -> tuple[sparse.csr_matrix, np.ndarray]:
    """``(docs, vocab)`` of the distinct ``k``-character windows of strings taken as they are (each at least ``k`` long)."""
    if k > 4:
        raise ValueError("integer shingle codes support k <= 4")
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    joined = "".join(strings)
    if joined.isascii():   # the usual case, read as bytes: a quarter of the memory traffic of UTF-32
        chars = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    else:
        chars = np.minimum(np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32), 0xFFFF).astype(np.uint16)
    del joined
    present_chars = np.zeros(1 << 16, dtype=bool)
    present_chars[chars] = True
    alphabet = np.flatnonzero(present_chars).astype(np.uint16)
    size = max(1, alphabet.shape[0])
    dtype = np.int32 if size**k < 2**31 else np.int64
    ranks = (np.cumsum(present_chars, dtype=np.int64) - 1).astype(dtype)[chars]
    del chars
    windows = lengths - k + 1                          # every padded text has at least one window
    ends = np.cumsum(lengths)

    # Each window's small code; a window starting in the last k - 1 characters of a text crosses into the next one.
    n = ranks.shape[0] - k + 1
    codes = ranks[:n].copy() if n > 0 else np.empty(0, dtype=dtype)
    for offset in range(1, k):
        codes *= size
        codes += ranks[offset : offset + n]
    del ranks
    valid = np.ones(max(n, 0), dtype=bool)
    crossing = (ends[:-1, None] - np.arange(1, k)[None, :]).ravel()
    valid[crossing[(crossing >= 0) & (crossing < n)]] = False
    codes = codes[valid]
    del valid

    # The vocabulary (sorted small codes = sorted 16-bit codes) and each window's column.
    if size**k <= TABLE_LIMIT:
        present = np.zeros(size**k, dtype=bool)
        present[codes] = True
        small_vocab = np.flatnonzero(present)
        del present
        column_of = np.zeros(size**k, dtype=np.int32)
        column_of[small_vocab] = np.arange(small_vocab.shape[0], dtype=np.int32)
        columns = column_of[codes]
        del column_of
    else:
        small_vocab, columns = np.unique(codes, return_inverse=True)
        columns = columns.ravel().astype(np.int32)
    del codes
    vocab = np.zeros(small_vocab.shape[0], dtype=np.uint64)
    for d in range(k):
        vocab = (vocab << np.uint64(16)) | alphabet[(small_vocab // size ** (k - 1 - d)) % size].astype(np.uint64)
    width = max(1, vocab.shape[0])

    # Distinct (text, shingle) pairs, already in CSR order: a presence table of (text, column) per block of texts.
    per_block = max(1, TABLE_LIMIT // width)
    first_window = np.concatenate(([0], np.cumsum(windows)))
    pair_rows, pair_cols = [], []
    for lo in range(0, len(strings), per_block):
        hi = min(len(strings), lo + per_block)
        # Block positions in 32 bits when they fit (they do unless one text's row alone exceeds TABLE_LIMIT): half
        # the memory traffic of int64.
        position = np.int32 if (hi - lo) * width < 2**31 else np.int64
        local = np.repeat(np.arange(hi - lo, dtype=position) * position(width), windows[lo:hi])
        seen = np.zeros((hi - lo) * width, dtype=bool)
        seen[local + columns[first_window[lo] : first_window[hi]]] = True
        row, col = np.divmod(np.flatnonzero(seen), width)
        pair_rows.append(row + lo)
        pair_cols.append(col.astype(np.int32))
    rows = np.concatenate(pair_rows) if pair_rows else np.empty(0, dtype=np.int64)
    indptr = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(strings)), out=indptr[1:])
    cols = np.concatenate(pair_cols) if pair_cols else np.empty(0, dtype=np.int32)
    docs = sparse.csr_matrix((np.ones(cols.shape[0], dtype=np.uint8), cols, indptr), shape=(len(strings), width))
    docs.has_sorted_indices = True
    return docs, vocab
