"""simulator.streams: the vectorised child generators equal numpy's own ``default_rng(s) for s in seeds.spawn(n)``."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from simulator.streams import child_generators, iter_child_generators, pools, states


def _numpy_children(seeds: np.random.SeedSequence, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in seeds.spawn(n)]


@pytest.mark.parametrize("entropy, spawn_key, pool_size", [
    (0, (), 4), (1, (), 4), (2**63 - 1, (), 4), (12345678901234567890123456789, (), 4),   # one to four words
    ([1, 2, 3, 4, 5, 6], (), 4),                                                            # entropy past the pool
    (7, (2,), 4), (7, (0, 2**40, 3), 4),                                                   # a spawned parent
    (99, (), 8),                                                                           # a larger pool
])
def test_streams_and_states_equal_numpys(entropy, spawn_key, pool_size):
    ours = child_generators(np.random.SeedSequence(entropy, spawn_key=spawn_key, pool_size=pool_size), 50)
    theirs = _numpy_children(np.random.SeedSequence(entropy, spawn_key=spawn_key, pool_size=pool_size), 50)
    for a, b in zip(ours, theirs, strict=True):
        assert a.bit_generator.state == b.bit_generator.state
        assert np.array_equal(a.integers(0, 2**62, size=5), b.integers(0, 2**62, size=5))
        assert a.random() == b.random()


def test_the_seed_sequence_answers_as_numpys_child():
    parent = np.random.SeedSequence(2024).spawn(3)[2]   # as build_simulation's policy sequence
    ours = child_generators(parent, 4)[3].bit_generator.seed_seq
    real = np.random.SeedSequence(2024).spawn(3)[2].spawn(4)[3]
    assert (ours.entropy, ours.spawn_key, ours.pool_size) == (real.entropy, real.spawn_key, real.pool_size)
    assert np.array_equal(ours.generate_state(7), real.generate_state(7))
    assert np.array_equal(ours.generate_state(4, np.uint64), real.generate_state(4, np.uint64))
    # Spawning from a child (Generator.spawn) gives numpy's grandchildren.
    assert [s.spawn_key for s in ours.spawn(2)] == [s.spawn_key for s in real.spawn(2)]
    copied = pickle.loads(pickle.dumps(child_generators(np.random.SeedSequence(5), 2)[1]))
    assert copied.random() == np.random.default_rng(np.random.SeedSequence(5).spawn(2)[1]).random()


def test_children_after_earlier_spawns_continue_the_count():
    ours, theirs = np.random.SeedSequence(11), np.random.SeedSequence(11)
    ours.spawn(3), theirs.spawn(3)
    assert [g.random() for g in child_generators(ours, 5)] == [g.random() for g in _numpy_children(theirs, 5)]


def test_pool_and_state_arithmetic_match_seed_sequence():
    rng = np.random.default_rng(0)
    entropy = rng.integers(0, 2**32, size=(20, 9), dtype=np.uint64).astype(np.uint32)
    got = states(pools(entropy, 4), 3)
    for row, words in zip(entropy, got):
        # A SeedSequence from exactly these words (as a spawn key: no padding rule applies past 4 words).
        real = np.random.SeedSequence([int(w) for w in row[:4]], spawn_key=[int(w) for w in row[4:]])
        assert np.array_equal(real.pool, pools(row[None, :], 4)[0])
        assert np.array_equal(real.generate_state(3, np.uint64), words)


def test_empty_and_one():
    assert child_generators(np.random.SeedSequence(3), 0) == []
    assert child_generators(np.random.SeedSequence(3), 1)[0].random() == _numpy_children(np.random.SeedSequence(3), 1)[0].random()


class _OwnSeeds(np.random.SeedSequence):
    """A SeedSequence subclass: the streams come from numpy's own spawn."""


@pytest.mark.parametrize("seeds", [lambda: np.random.SeedSequence(11), lambda: _OwnSeeds(11)])
def test_one_at_a_time_equals_numpys(seeds):
    ours = iter_child_generators(seeds(), 20)
    for a, b in zip(ours, _numpy_children(seeds(), 20), strict=True):
        assert a.bit_generator.state == b.bit_generator.state
        assert a.random() == b.random()
    assert list(iter_child_generators(np.random.SeedSequence(3), 0)) == []
