"""Search mechanisms (mechanisms.search) against Magentic's own ranking rules, written out independently.

Oracle: the functions ``magentic_*`` below transcribe Magentic Marketplace's
``marketplace/protocol/search/`` with plain Python: ``lexical_algo.py``
(``shingle_overlap_score``; ``lexical.py`` sorts by rating, then
``lexical_rank`` stably by score), ``simple.py`` (every business sorted by
rating), ``filtered.py`` (name or description ``LIKE '%query%'`` plus rating,
amenity and menu-item constraints, sorted by rating) and ``optimal.py``
(``is_subset`` of the customer's items, sorted by rating). Python's sorts are
stable, so ties keep the database order: the order businesses registered in
(file order, or a permutation for seeded ties). They are compared with the
vectorised mechanisms on Magentic's published data sets.
"""

import re
from pathlib import Path

import numpy as np
import pytest

from mechanisms import search as S
from mechanisms.shingles import batch_codes
from simulator.worlds.marketplace import data as market_data

MEXICAN_10_30 = Path(__file__).resolve().parents[1] / "data" / "magentic" / "mexican_10_30"
MEXICAN_33_99 = Path(__file__).resolve().parents[1] / "data" / "magentic" / "mexican_33_99"


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


def by_rating(registered, rating):
    """Magentic's ``businesses.sort(key=lambda b: b.business.rating, reverse=True)`` over the database's rows."""
    return sorted(registered, key=lambda j: rating[j], reverse=True)


def magentic_simple(registered, rating):
    return by_rating(registered, rating)


def magentic_lexical(query, registered, texts, rating):
    ranked = by_rating(registered, rating)
    return sorted(ranked, key=lambda j: magentic_score(query, texts[j]), reverse=True) if query else ranked


def magentic_filtered(query, registered, businesses, rating, threshold=None, amenities=(), items=()):
    def like(field):   # SQLite LIKE '%query%' (ASCII case-insensitive) / PostgreSQL ILIKE; no wildcards in these queries
        return query.lower() in field.lower()

    keep = [
        j for j in registered
        if (not query or like(businesses[j].name) or like(businesses[j].description))
        and (threshold is None or rating[j] >= threshold)
        and all(businesses[j].amenity_features.get(a) is True for a in amenities)
        and all(i in businesses[j].menu_features for i in items)
    ]
    return by_rating(keep, rating)


def magentic_optimal(customer, registered, businesses, rating):
    wanted = set(customer.menu_features)
    return by_rating([j for j in registered if wanted.issubset(businesses[j].menu_features)], rating)


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


def test_lexical_filtered_keeps_only_businesses_with_the_amenities(market):
    _, arrays, _, index = market
    need = np.zeros((1, len(arrays.amenities)), dtype=bool)
    need[0, arrays.amenities.index("Live Music")] = True
    need[0, arrays.amenities.index("Large Groups")] = True
    got = S.search("lexical_filtered", index, ["Creamy Queso Dip"], page=[1], page_size=30, constraints=S.Constraints(amenities=need))[0]
    expected = {j for j in range(30) if arrays.has_amenity[j, need[0]].all()}
    assert set(got.tolist()) == expected and len(got) == len(expected)
    lexical = [j for j in S.search("lexical", index, ["Creamy Queso Dip"], page=[1], page_size=30)[0] if j in expected]
    assert got.tolist() == lexical   # same order as lexical, restricted


def test_oracle_ranks_candidates_by_true_utility(market):
    _, arrays, _, index = market
    for c in range(10):
        lo, hi = arrays.cand_indptr[c], arrays.cand_indptr[c + 1]
        got = S.search("oracle", index, ["ignored"], page=[1], page_size=30, customers=[c])[0]
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


def test_shuffled_is_a_seeded_random_permutation(market):
    _, _, _, index = market
    a = S.search("shuffled", index, ["q", "q"], page=[1, 1], page_size=30, rng=np.random.default_rng(3))
    b = S.search("shuffled", index, ["q", "q"], page=[1, 1], page_size=30, rng=np.random.default_rng(3))
    assert sorted(a[0].tolist()) == list(range(30))
    assert a[0].tolist() == b[0].tolist() and a[0].tolist() != a[1].tolist()


def test_unknown_mechanism_and_bad_page():
    index = S.build_index(["a b c"], np.ones(1), np.zeros((1, 0), dtype=bool))
    with pytest.raises(ValueError, match="unknown search mechanism"):
        S.search("magic", index, ["a"], page=[1], page_size=1)
    with pytest.raises(ValueError, match="pages are numbered from 1"):
        S.search("lexical", index, ["a"], page=[0], page_size=1)


# --------------------------------------------------------------------------- Magentic's four mechanisms


def _magentic_index(root: Path, rating_spread: bool, order: np.ndarray | None):
    data = market_data.load(root)
    arrays = market_data.compile_arrays(data)
    texts = [b.searchable_text() for b in data.businesses]
    # Magentic's data sets rate every business 1.0: a spread with ties makes the rating order matter too.
    rating = np.round(np.arange(len(texts))[::-1] % 4 / 2 + 3, 1) if rating_spread else arrays.rating
    index = S.build_index(
        texts, rating, arrays.has_amenity, cand_indptr=arrays.cand_indptr, cand_business=arrays.cand_business,
        cand_utility=arrays.cand_utility, cand_qualifies=arrays.cand_qualifies, carried=arrays.carried,
        names=[b.name for b in data.businesses], descriptions=[b.description for b in data.businesses], order=order,
    )
    registered = list(range(len(texts))) if order is None else [int(j) for j in np.argsort(order)]
    return data, arrays, texts, rating, index, registered


SETTINGS = [(MEXICAN_10_30, False, None), (MEXICAN_10_30, True, None), (MEXICAN_33_99, True, None), (MEXICAN_33_99, True, "seeded")]


@pytest.fixture(scope="module", params=SETTINGS, ids=["10_30", "10_30-spread", "33_99-spread", "33_99-seeded-order"])
def magentic(request):
    root, spread, order = request.param
    n = len(list((root / "businesses").glob("*.yaml")))
    return _magentic_index(root, spread, None if order is None else np.argsort(np.random.default_rng(7).permutation(n)))


def _all(mechanism, index, queries, **kwargs):
    return [row.tolist() for row in S.search(mechanism, index, queries, page=[1] * len(queries), page_size=index.n_businesses, **kwargs)]


def test_simple_is_every_business_by_rating_as_magentic(magentic):
    _, _, _, rating, index, registered = magentic
    assert _all("simple", index, ["anything", ""]) == [magentic_simple(registered, rating)] * 2


def test_lexical_is_magentics_lexical_search(magentic):
    data, _, texts, rating, index, registered = magentic
    queries = QUERIES + [c.request for c in data.customers[:8]] + [", ".join(c.menu_features) for c in data.customers[:8]]
    got = _all("lexical", index, queries)
    for query, row in zip(queries, got):
        assert row == magentic_lexical(query, registered, texts, rating), query


def test_optimal_is_magentics_subset_rule_by_rating(magentic):
    data, _, _, rating, index, registered = magentic
    customers = np.arange(len(data.customers))
    got = _all("optimal", index, [""] * len(customers), customers=customers)
    for c, row in zip(customers, got):
        assert row == magentic_optimal(data.customers[c], registered, data.businesses, rating)
    assert any(row for row in got)


def test_filtered_is_magentics_like_match_and_constraints(magentic):
    data, arrays, _, rating, index, registered = magentic
    items = {name: k for k, name in enumerate(arrays.items)}
    amen = {name: k for k, name in enumerate(arrays.amenities)}
    b0 = data.businesses[3]
    cases = [
        ("", None, [], []),
        ("cantina", None, [], []),
        ("MEXICAN", 3.5, [], []),
        (b0.name[2:7], None, [], []),
        ("fresh", None, ["Free Wifi", "Live Music"], []),
        ("", 4.0, [], list(b0.menu_features)[:1]),
        ("a", None, ["Happy Hour"], list(data.customers[0].menu_features)),
        ("no such words here", None, [], []),
    ]
    for query, threshold, amenities, menu in cases:
        need = np.zeros((1, len(amen)), dtype=bool)
        need[0, [amen[a] for a in amenities]] = True
        cons = S.Constraints(np.array([np.nan if threshold is None else threshold]), need, [np.array([items[i] for i in menu])])
        got = _all("filtered", index, [query], constraints=cons)[0]
        expected = magentic_filtered(query, registered, data.businesses, rating, threshold, amenities, menu)
        assert got == expected, (query, threshold, amenities, menu)
    assert magentic_filtered("cantina", registered, data.businesses, rating)   # the cases match something


def test_filtered_reads_sql_wildcards_and_its_page_count():
    data, arrays, _, rating, index, registered = _magentic_index(MEXICAN_10_30, False, None)
    got = S.search("filtered", index, ["m_xican%flav"], page=[1], page_size=100)[0].tolist()
    import re as _re
    expected = [j for j in registered if any(_re.search("m.xican.*?flav", f.lower(), _re.S) for f in (data.businesses[j].name, data.businesses[j].description))]
    assert got == by_rating(expected, rating) and got
    rows, pages = S.search_pages("filtered", index, ["cantina"], page=[1], page_size=2)
    assert pages == [-(-len(magentic_filtered("cantina", registered, data.businesses, rating)) // 2)]


def test_page_counts_follow_magentic():
    data, arrays, _, rating, index, _ = _magentic_index(MEXICAN_10_30, False, None)
    n = index.n_businesses
    for mechanism in ("simple", "lexical", "shuffled", "bm25"):
        assert S.search_pages(mechanism, index, ["taco"], page=[1], page_size=7)[1] == [-(-n // 7)]
    c = 0
    matches = int(arrays.cand_indptr[c + 1] - arrays.cand_indptr[c])
    assert S.search_pages("optimal", index, [""], page=[1], page_size=1, customers=[c])[1] == [matches]
    assert S.search_pages("oracle", index, [""], page=[1], page_size=1, customers=[c])[1] == [None]   # as Agora's former optimal


# --------------------------------------------------------------------------- the lexical index against brute force


def _random_market(rng, n_docs, alphabet, words):
    vocab = ["".join(rng.choice(list(alphabet), size=rng.integers(2, 7))) for _ in range(words)]
    texts = [" ".join(rng.choice(vocab, size=rng.integers(0, 12))) for _ in range(n_docs)]
    rating = rng.choice([1.0, 2.5, 3.0, 4.5, 5.0], size=n_docs)   # few values: many rating ties
    queries = [" ".join(rng.choice(vocab, size=rng.integers(0, 6))) for _ in range(60)] + ["", "zzzz qqqq", vocab[0]]
    return texts, rating, queries


@pytest.mark.parametrize("seed", range(6))
def test_lexical_index_equals_the_brute_force_ranking_on_random_markets(seed):
    rng = np.random.default_rng(seed)
    texts, rating, queries = _random_market(rng, int(rng.integers(1, 400)), "abcde" if seed % 2 else "abcdefghijklmnop", 40)
    order = None if seed < 3 else np.argsort(rng.permutation(len(texts)))
    index = S.build_index(texts, rating, np.zeros((len(texts), 0), dtype=bool), order=order)
    for depth in (1, 3, 10, len(texts), len(texts) + 5):
        got = S.MECHANISMS["lexical"].rank(index, queries, depth).rows
        expected = S.rank_lexical_brute(index, queries, depth).rows
        assert [g.tolist() for g in got] == [e.tolist() for e in expected], depth


def test_lexical_index_counts_queries_of_more_than_255_shingles():
    rng = np.random.default_rng(11)
    long_texts = ["".join(rng.choice(list("abcdefghij "), size=1500)) for _ in range(5)]
    texts = long_texts + [t[: 300 * (j + 1)] for j, t in enumerate(long_texts)] + ["abc def", ""]
    index = S.build_index(texts, np.arange(len(texts)) % 3, np.zeros((len(texts), 0), dtype=bool))
    q, _ = S.query_matrix(long_texts, index)
    assert np.diff(q.indptr).min() > 255   # past a byte: the 16-bit path
    got = S.MECHANISMS["lexical"].rank(index, long_texts, 8).rows
    assert [g.tolist() for g in got] == [e.tolist() for e in S.rank_lexical_brute(index, long_texts, 8).rows]


def test_lexical_index_equals_the_brute_force_ranking_on_magentic_and_generated_markets():
    for root in (MEXICAN_10_30, MEXICAN_33_99):
        data, _, _, _, index, _ = _magentic_index(root, True, None)
        queries = [c.request for c in data.customers] + [", ".join(c.menu_features) for c in data.customers]
        for depth in (1, 10, 40):
            got = S.MECHANISMS["lexical"].rank(index, queries, depth).rows
            assert [g.tolist() for g in got] == [e.tolist() for e in S.rank_lexical_brute(index, queries, depth).rows]
    data = market_data.generate("restaurants", 600, 200, seed=3)
    arrays = market_data.compile_arrays(data)
    index = S.build_index([b.searchable_text() for b in data.businesses], arrays.rating, arrays.has_amenity)
    queries = [", ".join(c.menu_features) for c in data.customers]
    got = S.search("lexical", index, queries, page=[1 + i % 3 for i in range(len(queries))], page_size=10)
    brute = S.rank_lexical_brute(index, queries, 30).rows
    assert [g.tolist() for g in got] == [b[(i % 3) * 10 : (i % 3) * 10 + 10].tolist() for i, b in enumerate(brute)]


def test_batch_shingle_codes_equal_the_per_text_sets():
    texts = ["Crème brûlée, Tacos!", "", "ab", "  Spaced   out  ", "日本語のテキスト", "a" * 3]
    rows, codes = batch_codes(texts)
    for r, text in enumerate(texts):
        decoded = {"".join(chr((int(c) >> (16 * (3 - i))) & 0xFFFF) for i in range(4)) for c in codes[rows == r]}
        assert decoded == S.shingles(text), text


def test_bm25_orders_by_bm25s_scores_then_rating():
    bm25s = pytest.importorskip("bm25s")
    texts = ["spicy tacos and burritos", "tacos tacos tacos", "quiet tea room", "burritos only", "tea and tacos"]
    rating = np.array([4.0, 3.0, 5.0, 4.0, 4.5])
    index = S.build_index(texts, rating, np.zeros((5, 0), dtype=bool))
    got = S.search("bm25", index, ["tacos", "unknownword"], page=[1, 1], page_size=5)
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    scores = retriever.get_scores(["tacos"])
    expected = sorted(range(5), key=lambda j: (-scores[j], -rating[j], j))
    assert got[0].tolist() == expected
    assert got[1].tolist() == sorted(range(5), key=lambda j: (-rating[j], j))   # no known word: every score 0, by rating


# --------------------------------------------------------------------------- the world's entry (MarketSearch)


def _market_search(mechanism, ties="index"):
    from simulator.worlds.marketplace.config import SearchConfig
    from simulator.worlds.marketplace.search import MarketSearch

    data = market_data.load(MEXICAN_33_99)
    arrays = market_data.compile_arrays(data)
    texts = [b.searchable_text() for b in data.businesses]
    cfg = SearchConfig(mechanism=mechanism, page_size=200, ties=ties)
    return data, MarketSearch(cfg, texts, arrays, names=[b.name for b in data.businesses], descriptions=[b.description for b in data.businesses])


def test_market_search_reads_the_search_constraints():
    from simulator.worlds.marketplace.actions import Search

    data, ms = _market_search("filtered")
    item = list(data.customers[0].menu_features)[0]
    actions = [
        Search(query="mexican", amenities=["Free Wifi"]),
        Search(query="", menu_items=[item], rating_threshold=0.5),
        Search(query="", menu_items=["No Such Dish"]),
        Search(query="", amenities=["No Such Amenity"]),
        Search(query="", rating_threshold=2.0),      # every business is rated 1.0
    ]
    hits = ms.run([0] * len(actions), actions, np.random.default_rng(0))
    registered = list(range(len(data.businesses)))
    rating = [b.rating for b in data.businesses]
    assert hits[0].businesses.tolist() == magentic_filtered("mexican", registered, data.businesses, rating, amenities=["Free Wifi"])
    assert hits[1].businesses.tolist() == magentic_filtered("", registered, data.businesses, rating, 0.5, items=[item])
    assert hits[1].businesses.size and hits[1].total_pages == 1
    assert [h.businesses.size for h in hits[2:]] == [0, 0, 0] and hits[4].total_pages == 0


def test_seeded_ties_are_one_random_registration_order_per_run():
    from simulator.worlds.marketplace.actions import Search

    data, ms = _market_search("simple", ties="seeded")
    first = ms.run([0, 1], [Search(query="a"), Search(query="b")], np.random.default_rng(5))
    again = _market_search("simple", ties="seeded")[1].run([0], [Search(query="a")], np.random.default_rng(5))
    other = _market_search("simple", ties="seeded")[1].run([0], [Search(query="a")], np.random.default_rng(6))
    n = len(data.businesses)
    assert sorted(first[0].businesses.tolist()) == list(range(n))            # all rated 1.0: the order is the draw
    assert first[0].businesses.tolist() == first[1].businesses.tolist() == again[0].businesses.tolist()
    assert first[0].businesses.tolist() != other[0].businesses.tolist()
    assert _market_search("simple")[1].run([0], [Search(query="a")], np.random.default_rng(5))[0].businesses.tolist() == list(range(n))
