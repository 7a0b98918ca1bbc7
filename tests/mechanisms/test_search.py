"""Search mechanisms (mechanisms.search) against Magentic's lexical ranking, written out independently.

Oracle: ``magentic_score`` / ``magentic_rank`` below transcribe Magentic
Marketplace's ``marketplace/protocol/search/lexical_algo.py``
(``shingle_overlap_score`` and ``lexical_rank``: sort by (-score, -rating, id))
with plain Python sets, and are compared with the vectorised sparse version.
"""

import re
from pathlib import Path

import numpy as np
import pytest

from mechanisms import search as S
from simulator.worlds.marketplace import data as market_data

MEXICAN_10_30 = Path(__file__).resolve().parents[1] / "data" / "magentic" / "mexican_10_30"


def magentic_score(query: str, doc: str, k: int = 4) -> float:
    def normalize(s):
        s = s.lower()
        s = re.sub(r"[^\w\s]", "", s)
        return re.sub(r"\s+", " ", s).strip()

    def sh(s):
        if len(s) < k:
            s = s + " " * (k - len(s))
        return {s[i : i + k] for i in range(len(s) - k + 1)}

    q = sh(" " + normalize(query) + " ")
    d = sh(" " + normalize(doc) + " ")
    return len(q & d) / len(q) if q else 0.0


def magentic_rank(query, texts, rating, ids):
    scored = [(ids[j], magentic_score(query, texts[j]), rating[j], j) for j in range(len(texts))]
    return [j for _, _, _, j in sorted(scored, key=lambda t: (-t[1], -t[2], t[0]))]


@pytest.fixture(scope="module")
def market():
    data = market_data.load(MEXICAN_10_30)
    arrays = market_data.compile_arrays(data)
    texts = [b.searchable_text() for b in data.businesses]
    index = S.build_index(
        texts, arrays.rating, arrays.has_amenity, cand_indptr=arrays.cand_indptr, cand_business=arrays.cand_business,
        cand_utility=arrays.cand_utility, cand_qualifies=arrays.cand_qualifies,
    )
    return data, arrays, texts, index


QUERIES = [
    "Pineapple Salsa Pork Burrito, Spicy Black Bean Quesadilla",
    "smoky chipotle burger with reservations",
    "Herb-Roasted Corn Salad!",
    "",
    "zz",
    "Tequila Sunrise Slushie free wifi wheelchair",
]


def test_scalar_score_on_a_hand_example():
    # " abc " -> {" abc", "abc "}; " xabc " -> {" xab", "xabc", "abc "}: one of two query shingles.
    assert S.shingle_overlap_score("abc", "xabc") == pytest.approx(0.5)
    assert S.shingle_overlap_score("A-B-C!", "abc") == pytest.approx(1.0)   # punctuation dropped, lower-cased
    assert S.shingle_overlap_score("", "abc") == 0.0


def test_vectorised_scores_equal_magentics(market):
    data, _, texts, index = market
    counts, sizes = S.lexical_counts(QUERIES, index)
    for r, query in enumerate(QUERIES):
        expected = np.array([magentic_score(query, t) for t in texts])
        np.testing.assert_allclose(counts[r] / sizes[r], expected, rtol=0, atol=1e-12)


def test_lexical_ranking_equals_magentics_order(market):
    data, _, texts, index = market
    # Give ratings some spread so the rating tie-break matters.
    rating = np.round(np.linspace(1, 5, len(texts))[::-1] % 3, 1)
    idx = S.SearchIndex(index.docs, index.vocab, rating, index.amenities)
    ids = [b.id for b in data.businesses]
    for query in QUERIES:
        expected = magentic_rank(query, texts, rating, ids)
        got = S.search("lexical", idx, [query], page=[1], page_size=len(texts))[0]
        assert got.tolist() == expected, query


def test_pages_partition_the_ranking(market):
    _, _, texts, index = market
    full = S.search("lexical", index, [QUERIES[0]], page=[1], page_size=30)[0]
    pages = [S.search("lexical", index, [QUERIES[0]], page=[p], page_size=7)[0] for p in range(1, 6)]
    assert np.concatenate(pages).tolist() == full.tolist()
    assert pages[-1].size == 2   # 30 = 4 x 7 + 2


def test_filtered_keeps_only_businesses_with_the_amenities(market):
    _, arrays, _, index = market
    need = np.zeros((1, len(arrays.amenities)), dtype=bool)
    need[0, arrays.amenities.index("Live Music")] = True
    need[0, arrays.amenities.index("Large Groups")] = True
    got = S.search("filtered", index, ["Creamy Queso Dip"], page=[1], page_size=30, amenity_filters=need)[0]
    expected = {j for j in range(30) if arrays.has_amenity[j, need[0]].all()}
    assert set(got.tolist()) == expected and len(got) == len(expected)
    lexical = [j for j in S.search("lexical", index, ["Creamy Queso Dip"], page=[1], page_size=30)[0] if j in expected]
    assert got.tolist() == lexical   # same order as lexical, restricted


def test_optimal_ranks_candidates_by_true_utility(market):
    _, arrays, _, index = market
    for c in range(10):
        lo, hi = arrays.cand_indptr[c], arrays.cand_indptr[c + 1]
        got = S.search("optimal", index, ["ignored"], page=[1], page_size=30, customers=[c])[0]
        u = dict(zip(arrays.cand_business[lo:hi].tolist(), arrays.cand_utility[lo:hi].tolist()))
        assert set(got.tolist()) == set(u)
        assert [u[j] for j in got.tolist()] == sorted(u.values(), reverse=True)


def test_ranked_without_noise_puts_qualifying_candidates_first(market):
    _, arrays, _, index = market
    got = S.search("ranked", index, ["x"], page=[1], page_size=30, customers=[0], noise=0.0)[0]
    lo, hi = arrays.cand_indptr[0], arrays.cand_indptr[1]
    q = arrays.cand_business[lo:hi][arrays.cand_qualifies[lo:hi]]
    nq = arrays.cand_business[lo:hi][~arrays.cand_qualifies[lo:hi]]
    assert set(got[: len(q)].tolist()) == set(q.tolist())
    assert set(got[len(q) : len(q) + len(nq)].tolist()) == set(nq.tolist())
    noisy = S.search("ranked", index, ["x"], page=[1], page_size=30, customers=[0], noise=5.0, rng=np.random.default_rng(1))[0]
    assert sorted(noisy.tolist()) == list(range(30))


def test_simple_is_a_seeded_random_permutation(market):
    _, _, _, index = market
    a = S.search("simple", index, ["q", "q"], page=[1, 1], page_size=30, rng=np.random.default_rng(3))
    b = S.search("simple", index, ["q", "q"], page=[1, 1], page_size=30, rng=np.random.default_rng(3))
    assert sorted(a[0].tolist()) == list(range(30))
    assert a[0].tolist() == b[0].tolist() and a[0].tolist() != a[1].tolist()


def test_unknown_mechanism_and_bad_page():
    index = S.build_index(["a b c"], np.ones(1), np.zeros((1, 0), dtype=bool))
    with pytest.raises(ValueError, match="unknown search mechanism"):
        S.search("magic", index, ["a"], page=[1], page_size=1)
    with pytest.raises(ValueError, match="pages are numbered from 1"):
        S.search("lexical", index, ["a"], page=[0], page_size=1)
