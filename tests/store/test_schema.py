"""Schema versions: applied at open, once; a store from before versioning is upgraded in place."""

from __future__ import annotations

import sqlite3

import pytest

from simulator.store import SCHEMA_VERSION, Store, StoreError
from simulator.store.core import schema_files, statements


def test_a_new_store_is_at_the_latest_version_on_both_backends(store_target):
    with Store(store_target) as store:
        assert store.schema_version() == SCHEMA_VERSION == max(v for v, _, _ in schema_files(store.dialect.name))
    with Store(store_target) as store:  # opening again applies nothing twice
        with store.session() as s:
            assert [r["version"] for r in s.rows("SELECT version FROM schema_version ORDER BY version")] == list(range(1, SCHEMA_VERSION + 1))


def test_both_dialects_have_the_same_versions():
    assert [(v, n) for v, n, _ in schema_files("sqlite")] == [(v, n) for v, n, _ in schema_files("postgres")]


def test_an_unversioned_sqlite_store_is_upgraded_and_keeps_its_runs(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the store as Agora wrote it before schema versions
        for statement in statements(schema_files("sqlite")[0][2]):
            db.execute(statement)
        db.execute("INSERT INTO runs (id, rowid_order, scenario_name, world, scenario_text, seed, version, status, created_at)"
                   " VALUES ('old1', 1, 'pd', 'matrix_game', '{}', 7, '0.1', 'finished', 1.0)")
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        run = store.get_run("old1")
        assert run["seed"] == 7 and run["server_id"] is None and run["cancel_requested"] is False
        new = store.create_run(scenario_name="pd", world="matrix_game", scenario_text="{}", seed=1)
        assert store.list_runs()[0]["id"] == new and store.get_run(new)["order"] == 2


def test_a_store_from_a_newer_agora_is_refused(tmp_path):
    path = tmp_path / "new.db"
    with Store(path) as store, store.session() as s:
        s.run("INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'future.sql', 0)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match=f"version {SCHEMA_VERSION + 1}, newer than this Agora"):
        Store(path)
