"""Several servers on one store (both backends): each queued run is claimed once, the runs of a server whose
lease ran out are recovered once, a cancel reaches the server that runs the run."""

from __future__ import annotations

import threading

import pytest

from simulator.store import Store, StoreError


def _queued(store: Store, n: int) -> list[str]:
    return [store.create_run(scenario_name="q", world="matrix_game", scenario_text="{}", seed=i, status="queued") for i in range(n)]


def test_each_queued_run_is_claimed_by_exactly_one_of_many_concurrent_claimers(store_target):
    with Store(store_target) as store:
        ids = _queued(store, 60)
    claimed: dict[str, list[str]] = {}
    lock = threading.Lock()

    def claimer(name: str) -> None:
        with Store(store_target, recover=False) as mine:
            while (run_id := mine.claim_run(name)) is not None:
                with lock:
                    claimed.setdefault(run_id, []).append(name)

    threads = [threading.Thread(target=claimer, args=(f"server-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(claimed) == sorted(ids)
    assert all(len(names) == 1 for names in claimed.values()), {k: v for k, v in claimed.items() if len(v) > 1}
    with Store(store_target, recover=False) as store:
        assert {r["server_id"] for r in store.list_runs(limit=100)} <= {f"server-{i}" for i in range(6)}
        assert all(store.get_run(i)["server_id"] == claimed[i][0] for i in ids)
        assert store.claim_run("late") is None and store.count_queued() == 0


def test_claiming_a_given_run_and_the_oldest_first(store_target):
    with Store(store_target) as store:
        first, second, third = _queued(store, 3)
        assert store.claim_run("a", third) == third
        assert store.claim_run("b", third) is None  # taken
        assert store.claim_run("a", third) is None  # not even by a again: a claim hands a run out once
        assert store.claim_run("b") == first  # the oldest unclaimed
        assert store.count_queued() == 1


def test_a_dead_servers_runs_are_recovered_once_by_another_server(store_target):
    with Store(store_target) as store:
        store.register_server("a")
        store.register_server("b")
        mine, queued_for_a, unclaimed = _queued(store, 3)
        store.claim_run("a", mine)
        store.mark_running(mine)
        store.claim_run("a", queued_for_a)
        assert store.recover_servers("b", lease=60) == []  # a is alive
        with store.session() as s:
            s.run("UPDATE servers SET heartbeat = heartbeat - 100 WHERE id='a'")
        assert sorted(store.recover_servers("b", lease=60)) == sorted([mine, queued_for_a])
        assert store.recover_servers("b", lease=60) == [] and store.recover_servers("c", lease=60) == []  # once
        for run_id in (mine, queued_for_a):
            run = store.get_run(run_id)
            assert run["status"] == "interrupted" and "recovered by server b" in run["error"]
        assert store.get_run(unclaimed)["status"] == "queued"  # no server had it: another may still run it
        store.heartbeat("a")  # a was only slow: it registers again and keeps going
        with store.session() as s:
            assert s.value("SELECT COUNT(*) AS n FROM servers WHERE id='a'") == 1


def test_cancel_queued_claimed_and_elsewhere(store_target):
    with Store(store_target) as store:
        waiting, on_a = _queued(store, 2)
        assert store.cancel_queued(waiting) and store.get_run(waiting)["status"] == "cancelled"
        assert store.claim_run("b", waiting) is None  # a cancelled run is never claimed
        store.claim_run("a", on_a)
        assert not store.cancel_queued(on_a)  # claimed: only its server can stop it
        assert not store.request_cancel(on_a, not_server="a")  # a is the one asking: it signals its own worker
        assert store.request_cancel(on_a, not_server="b")
        assert store.cancel_requests("a") == [on_a] and store.cancel_requests("b") == []
        assert store.get_run(on_a)["cancel_requested"] is True
        cli_run = store.create_run(scenario_name="cli", world="matrix_game", scenario_text="{}", seed=0)
        assert not store.request_cancel(cli_run, not_server="b")  # an `agora run` run belongs to no server


def test_an_unreachable_postgresql_server_is_a_one_line_store_error(postgres_server):
    url = f"postgresql://agora:secret@127.0.0.1:{postgres_server.port}/no_such_database"
    with pytest.raises(StoreError) as error:
        Store(url)
    message = str(error.value)
    assert "\n" not in message and "no_such_database" in message and "secret" not in message and "***" in message
