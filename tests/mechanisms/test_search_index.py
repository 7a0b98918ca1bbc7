"""The search index's building blocks against independent oracles.

* ``mechanisms.shingle_matrix`` against ``batch_codes`` (per-block numpy
  shingling) and Magentic's per-text shingle sets written out with Python sets;
  its ASCII normalisation against ``normalize_text``'s regular expressions on
  random ASCII strings (every control character included);
* ``LexicalIndex``'s distinct holder rows against the postings themselves;
* the lexical page against the brute-force ranking (one sparse product, int64
  keys over every business) on a generated 3,000-customer market, pages 1-3,
  and on markets with many ties;
* ``LexicalIndex``'s layout (frequent rows as byte tiles, rare rows as
  postings) against the postings it was built from, and its pages against the
  brute-force ranking with every row dense, every row rare, or a mix, with
  ragged tiles and many blocks: random markets with rating ties, queries of
  more than 255 shingles, empty and unknown queries, depths past ``B``.
"""

import re

import numpy as np
import pytest

from mechanisms import search as S
from mechanisms import lexical_index as L
from mechanisms.lexical_index import distinct_rows
from mechanisms.shingle_matrix import normalize_many, shingle_matrix
from mechanisms.shingles import batch_codes, normalize_text
from mechanisms.text_match import SubstringIndex
from simulator.worlds.marketplace import data as market_data


def python_shingles(text: str, k: int = 4) -> set[str]:
    """Magentic's lexical_algo shingles, with Python's re and sets."""
    s = re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", text.lower())).strip()
    s = " " + s + " "
    s = s + " " * (k - len(s)) if len(s) < k else s
    return {s[i : i + k] for i in range(len(s) - k + 1)}


def decode(code: int) -> str:
    return "".join(chr((int(code) >> (16 * (3 - i))) & 0xFFFF) for i in range(4))


def test_ascii_normalisation_is_normalize_text_on_random_strings():
    rng = np.random.default_rng(0)
    texts = ["".join(map(chr, rng.integers(0, 128, size=rng.integers(0, 40)))) for _ in range(20_000)]
    texts += ["\x1c\x1dA  b\x1e\x1fc", "Tacos, Burrito!", "  ", "", "a_b-c"]
    assert normalize_many(texts) == [normalize_text(t) for t in texts]


@pytest.mark.parametrize("seed", range(4))
def test_shingle_matrix_equals_per_text_shingle_sets(seed):
    rng = np.random.default_rng(seed)
    alphabet = list("abcdefgh ,.!-_'") + (["é", "ß", "日", "Σ", "\t"] if seed % 2 else [])
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 60))) for _ in range(int(rng.integers(1, 300)))]
    texts += ["", "ab", "Crème brûlée, Tacos!", "  Spaced   out  "]
    docs, vocab = shingle_matrix(texts)
    assert np.all(vocab[1:] > vocab[:-1])                               # sorted, distinct codes
    rows, codes = batch_codes(texts)
    for r, text in enumerate(texts):
        got = vocab[docs.indices[docs.indptr[r] : docs.indptr[r + 1]]]
        assert np.array_equal(got, np.sort(codes[rows == r]))          # the same codes as batch_codes, sorted
        assert {decode(c) for c in got} == python_shingles(text), text
    assert np.all(docs.data == 1)


def test_shingle_matrix_of_a_generated_market_equals_batch_codes():
    data = market_data.generate("restaurants", 600, 200, seed=2)
    texts = [b.searchable_text() for b in data.businesses]
    docs, vocab = shingle_matrix(texts)
    rows, codes = batch_codes(texts)
    expected_vocab, columns = np.unique(codes, return_inverse=True)
    assert np.array_equal(vocab, expected_vocab)
    coo = docs.tocoo()
    assert np.array_equal(np.sort(rows * vocab.shape[0] + columns.ravel()), coo.row.astype(np.int64) * vocab.shape[0] + coo.col)


def test_distinct_rows_group_exactly_the_shingles_with_the_same_holders():
    data = market_data.generate("restaurants", 300, 100, seed=4)
    index = S.build_index([b.searchable_text() for b in data.businesses], np.ones(100), np.zeros((100, 0), dtype=bool))
    post = index.postings
    row_of, representatives = distinct_rows(post)
    holders = [tuple(post.indices[post.indptr[v] : post.indptr[v + 1]]) for v in range(post.shape[0])]
    for v in range(post.shape[0]):
        assert holders[v] == holders[representatives[row_of[v]]]
    assert len(set(holders)) == representatives.shape[0] < post.shape[0]   # identical rows exist and are merged


def test_lexical_pages_equal_brute_force_on_a_generated_market():
    data = market_data.generate("restaurants", 3000, 900, seed=7)
    arrays = market_data.compile_arrays(data)
    index = S.build_index([b.searchable_text() for b in data.businesses], arrays.rating, arrays.has_amenity)
    queries = [", ".join(c.menu_features) for c in data.customers[:700]] + [c.request for c in data.customers[:100]]
    pages = [1 + i % 3 for i in range(len(queries))]
    got, totals = S.search_pages("lexical", index, queries, page=pages, page_size=10)
    brute = S.rank_lexical_brute(index, queries, 30).rows
    assert [g.tolist() for g in got] == [b[(p - 1) * 10 : p * 10].tolist() for b, p in zip(brute, pages)]
    assert set(totals) == {90}


@pytest.mark.parametrize("n", [500, 3000])   # 3,000: the page bound is first guessed from a sample of the counts
def test_lexical_pages_equal_brute_force_with_massive_ties(n):
    rng = np.random.default_rng(3)
    words = ["taco", "soup", "bowl", "salsa verde", "churro"]
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 4))) for _ in range(n)]
    rating = rng.choice([1.0, 5.0], size=n)
    index = S.build_index(texts, rating, np.zeros((n, 0), dtype=bool), order=np.argsort(rng.permutation(n)))
    queries = ["taco", "soup bowl", "zzz", "", "taco soup bowl", "salsa churro", "verde taco bowl soup"]
    for depth in (1, 10, 33, n - 1, n, n + 100):
        got = S.MECHANISMS["lexical"].rank(index, queries, depth).rows
        assert [g.tolist() for g in got] == [e.tolist() for e in S.rank_lexical_brute(index, queries, depth).rows]


@pytest.mark.parametrize("share", [0.0, 0.05, 0.3, 2.0])   # every row dense, a mix, mostly rare, every row rare
def test_layout_holds_exactly_the_postings(monkeypatch, share):
    monkeypatch.setattr(L, "DENSE_SHARE", share)
    monkeypatch.setattr(L, "TILE", 37)   # ragged: the last tile is narrower
    data = market_data.generate("restaurants", 300, 100, seed=5)
    index = S.build_index([b.searchable_text() for b in data.businesses], np.ones(100), np.zeros((100, 0), dtype=bool))
    post = index.postings
    lex = L.LexicalIndex(index.docs, index.tiebreak, post)
    dense = np.concatenate(lex.tiles, axis=1) if lex.tiles else np.zeros((0, 100), dtype=np.uint8)
    assert dense.shape == (lex.n_dense, 100) and lex.n_dense + lex.rare.shape[0] == distinct_rows(post)[1].shape[0]
    assert set(np.unique(dense)) <= {0, 1} and np.all(lex.rare.data == 1)
    for v in range(post.shape[0]):
        holders = post.indices[post.indptr[v] : post.indptr[v + 1]]
        row = lex.row_of[v]
        if row < lex.n_dense:
            assert np.array_equal(np.flatnonzero(dense[row]), holders) and holders.shape[0] >= share * 100
        else:
            r = row - lex.n_dense
            assert np.array_equal(lex.rare.indices[lex.rare.indptr[r] : lex.rare.indptr[r + 1]], holders)
            assert holders.shape[0] < share * 100


@pytest.mark.parametrize("seed", range(8))
def test_lexical_pages_equal_brute_force_for_every_layout(monkeypatch, seed):
    rng = np.random.default_rng(100 + seed)
    monkeypatch.setattr(L, "DENSE_SHARE", [0.0, 2.0, 0.1, 1 / 64][seed % 4])
    monkeypatch.setattr(L, "TILE", int(rng.integers(5, 200)))
    monkeypatch.setattr(L, "BLOCK", int(rng.integers(1, 40)))
    n = int(rng.integers(1, 1500)) if seed < 6 else 2000   # 2,000: the sampled page bound at depths 1-31
    words = ["".join(rng.choice(list("abcdef"), size=rng.integers(2, 6))) for _ in range(30)]
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 10))) for _ in range(n)]
    rating = rng.choice([1.0, 4.5, 5.0], size=n)   # few values: rating ties, broken by registration order
    index = S.build_index(texts, rating, np.zeros((n, 0), dtype=bool), order=np.argsort(rng.permutation(n)))
    long_query = "".join(rng.choice(list("abcdefghij "), size=2000))   # >= 256 known shingles: the 16-bit path
    queries = [" ".join(rng.choice(words, size=rng.integers(0, 8))) for _ in range(90)] + ["", "zzzz qqqq", long_query, words[0]]
    if seed % 2:
        texts[0] = long_query   # a business that holds the long query's shingles
        index = S.build_index(texts, rating, np.zeros((n, 0), dtype=bool), order=np.argsort(rng.permutation(n)))
    assert np.diff(S.query_matrix([long_query], index)[0].indptr)[0] >= 256 or seed % 2 == 0
    for depth in (0, 1, 10, 31, n - 1, n, n + 7):
        got = S.MECHANISMS["lexical"].rank(index, queries, depth).rows
        assert [g.tolist() for g in got] == [e.tolist() for e in S.rank_lexical_brute(index, queries, depth).rows], depth


def test_like_matches_from_the_window_index_equal_a_scan_of_every_field():
    rng = np.random.default_rng(0)
    alphabet = list("abcdeé日 ,") + ["AB"]
    fields = [["".join(rng.choice(alphabet, size=rng.integers(0, 30))) for _ in range(2)] for _ in range(300)]
    index = SubstringIndex(fields)
    patterns = ["".join(rng.choice(alphabet, size=rng.integers(0, 8))) for _ in range(400)]
    patterns += [f[0][2:9] for f in fields[:100]] + ["abab", "日日日日", "zzzz", "ABab", ""]
    for pattern in patterns:
        expected = [b for b, per in enumerate(fields) if any(pattern.lower() in f.lower() for f in per)]
        assert index.matches(pattern).tolist() == expected, pattern


@pytest.mark.parametrize("n", [300, 2000])   # 2,000: the page bound is first guessed from a sample of the counts
def test_lexical_pages_with_equal_tiebreak_keys_list_lower_businesses_first(n):
    """The page sort packs (query, count, tie-break place) into one key; equal tie-break keys keep business order."""
    rng = np.random.default_rng(11)
    words = ["taco", "soup", "bowl", "salsa", "churro", "verde"]
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 4))) for _ in range(n)]
    index = S.build_index(texts, np.ones(n), np.zeros((n, 0), dtype=bool))
    tiebreak = rng.integers(0, 3, size=n)   # three keys among n businesses: massive ties in the tie-break itself
    lex = L.LexicalIndex(index.docs, tiebreak)
    queries = ["taco", "soup bowl", "zzz", "", "salsa verde churro", "taco soup bowl verde"]
    q, _ = S.query_matrix(queries, index)
    counts = (q.astype(np.int64) @ index.docs.T.astype(np.int64)).toarray()
    for depth in (1, 10, 33, n, n + 5):
        expected = [np.lexsort((np.arange(n), -tiebreak, -c))[:depth].tolist() for c in counts]
        assert [p.tolist() for p in lex.top(q, depth)] == expected


def test_a_new_order_after_the_lexical_index_is_built_reorders_its_ties():
    """``set_order`` (a seeded registration order, drawn at the first search) keeps the built index, with new ties."""
    rng = np.random.default_rng(12)
    n = 2000
    words = ["taco", "soup", "bowl", "salsa", "churro", "verde"]
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 4))) for _ in range(n)]
    index = S.build_index(texts, rng.choice([1.0, 5.0], size=n), np.zeros((n, 0), dtype=bool))
    queries = ["taco", "soup bowl", "salsa verde churro", "taco soup bowl verde"]
    built = index.lexical
    before = S.MECHANISMS["lexical"].rank(index, queries, 40).rows
    index.set_order(np.argsort(rng.permutation(n)))
    after = S.MECHANISMS["lexical"].rank(index, queries, 40).rows
    assert index.lexical is built
    assert [a.tolist() for a in after] == [e.tolist() for e in S.rank_lexical_brute(index, queries, 40).rows]
    assert [a.tolist() for a in after] != [b.tolist() for b in before]   # the ties really moved


def test_pages_do_not_keep_the_candidates_alive():
    """A block's pages hold depth entries each, not views of every tied candidate (memory at 1,000,000 customers)."""
    rng = np.random.default_rng(13)
    n = 3000
    texts = [" ".join(rng.choice(["taco", "soup", "bowl"], size=2)) for _ in range(n)]   # thousands tie on each count
    index = S.build_index(texts, np.ones(n), np.zeros((n, 0), dtype=bool))
    queries = ["taco soup", "bowl", "soup bowl taco"] * 50
    q, _ = S.query_matrix(queries, index)
    pages = index.lexical.top(q, 10)
    held = {id(p.base if p.base is not None else p): (p.base if p.base is not None else p).nbytes for p in pages}
    assert sum(held.values()) <= len(queries) * 10 * 8
    assert [p.tolist() for p in pages] == [e.tolist() for e in S.rank_lexical_brute(index, queries, 10).rows]
