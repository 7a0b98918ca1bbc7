"""Fixtures for the mechanisms tests."""

import pytest

from tests.mechanisms.oracles import GambitCache


@pytest.fixture(scope="session")
def gambit() -> GambitCache:
    """pygambit results memoised for the whole session."""
    return GambitCache()
