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
* duplicate shingles within a text are merged by scipy's CSR construction
  (``sum_duplicates``: a per-row sort of short rows), not by a global sort.
"""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse

from mechanisms.shingles import normalize_text

__all__ = ["normalize_many", "shingle_matrix"]

# Byte tables of normalize_text for ASCII, derived from its own classes: the bytes its first regex deletes (neither
# \w nor \s), and the \s bytes that bytes.split does not split on (\x1c-\x1f), turned into spaces first.
_ASCII_PUNCTUATION = bytes(c for c in range(128) if not re.match(r"[\w\s]", chr(c)))
_OTHER_SPACES = bytes(c for c in range(128) if re.match(r"\s", chr(c)) and c not in b" \t\n\r\x0b\x0c")
_ASCII_SPACES = bytes.maketrans(_OTHER_SPACES, b" " * len(_OTHER_SPACES))
TABLE_LIMIT = 1 << 26      # the largest presence table (codes A^k) used instead of a sort
BLOCK_CHARS = 32_000_000   # characters shingled per pass (bounds the int64 working arrays to a few hundred MB)


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

    ``docs`` is float32 CSR with sorted column indices and at least one column.
    """
    if k > 4:
        raise ValueError("integer shingle codes support k <= 4")
    strings = _padded(texts, k)
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    chars = np.minimum(np.frombuffer("".join(strings).encode("utf-32-le"), dtype=np.uint32), 0xFFFF).astype(np.uint16)
    present_chars = np.bincount(chars, minlength=1 << 16) > 0
    alphabet = np.flatnonzero(present_chars).astype(np.uint16)
    ranks = (np.cumsum(present_chars, dtype=np.int64) - 1)[chars]
    size = max(1, alphabet.shape[0])
    starts = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    windows = lengths - k + 1                          # every padded text has at least one window

    # Pass 1: each window's small code; texts are taken in blocks so the working arrays stay bounded.
    blocks: list[tuple[int, int]] = []
    lo = 0
    while lo < len(strings):
        hi = int(np.searchsorted(starts, starts[lo] + BLOCK_CHARS, side="right")) - 1
        hi = max(hi, lo + 1)
        blocks.append((lo, min(hi, len(strings))))
        lo = blocks[-1][1]
    small_codes = []
    for lo, hi in blocks:
        seg = ranks[starts[lo] : starts[hi]]
        n = seg.shape[0] - k + 1
        code = np.zeros(max(n, 0), dtype=np.int64)
        for offset in range(k):
            code = code * size + seg[offset : offset + n]
        # Keep the windows that start inside one text: position p of text r for p <= length_r - k.
        w = windows[lo:hi]
        first = starts[lo:hi] - starts[lo]
        keep = np.repeat(first - np.concatenate(([0], np.cumsum(w)[:-1])), w) + np.arange(int(w.sum()), dtype=np.int64)
        small_codes.append(code[keep])
    codes = np.concatenate(small_codes) if small_codes else np.empty(0, dtype=np.int64)

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
        columns = columns.ravel()
    digits = [(small_vocab // size ** (k - 1 - d)) % size for d in range(k)]
    vocab = np.zeros(small_vocab.shape[0], dtype=np.uint64)
    for d in digits:
        vocab = (vocab << np.uint64(16)) | alphabet[d].astype(np.uint64)

    indptr = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(windows, out=indptr[1:])
    docs = sparse.csr_matrix(
        (np.ones(columns.shape[0], dtype=np.float32), columns.astype(np.int32), indptr), shape=(len(strings), max(1, vocab.shape[0]))
    )
    docs.sum_duplicates()            # sorts each row and merges repeated shingles
    docs.data[:] = 1.0
    return docs, vocab
