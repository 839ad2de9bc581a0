from __future__ import annotations

import time

import pytest

from amber._runs import RunLog
from amber._runs import RunResult
from amber._store import Store
from amber.errors import NotFound
from amber.errors import StoreUnavailable


def test_runs_round_trip(store: Store) -> None:
    log = RunLog(store)
    run = log.start("replay", "http://127.0.0.1:8000", {"concurrency": 8})
    log.add(run, [RunResult(f"ex{i}", 1.0 + i, 200, 3.5, i % 2 == 0, None, {"d": [i]})
                  for i in range(1200)])
    log.finish(run, "completed", {"sent": 1200})
    info = log.get(run[:12])
    assert info.state == "completed" and info.summary == {"sent": 1200}
    results = list(log.results(run, page=500))
    assert [r.exchange_id for r in results] == [f"ex{i}" for i in range(1200)]
    assert results[3].detail == {"d": [3]} and not results[3].ok
    assert [i.id for i in log.list()] == [run]
    with pytest.raises(NotFound, match="amber runs"):
        log.get("nope")


def test_the_writer_stores_every_result_in_order_from_its_thread(store: Store) -> None:
    log = RunLog(store)
    run = log.start("replay", "http://127.0.0.1:8000", {})
    w = log.writer(run, batch=64, depth=2)
    for i in range(1000):
        w.add(RunResult(f"ex{i}", float(i), 200, 1.0, True, None, {"i": i}))
    w.close()
    w.close()  # idempotent
    got = list(log.results(run, page=3))
    assert [r.exchange_id for r in got] == [f"ex{i}" for i in range(1000)]
    assert got[999].detail == {"i": 999}


def test_the_writer_hands_over_a_slow_runs_results_on_time(store: Store) -> None:
    log = RunLog(store)
    run = log.start("replay", "http://127.0.0.1:8000", {})
    w = log.writer(run, batch=10_000, interval=0.0)
    for i in range(64):  # each one past the interval: handed over without waiting
        w.add(RunResult(f"ex{i}", float(i), 200, 1.0, True))
    deadline = time.monotonic() + 10
    while len(list(log.results(run))) < 64 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(list(log.results(run))) == 64  # stored before close
    w.close()


def test_a_failed_insert_stops_the_run(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    log = RunLog(store)
    run = log.start("replay", "http://127.0.0.1:8000", {})

    def broken(run_id: str, count: int, data: bytes) -> None:
        raise StoreUnavailable("disk full")

    monkeypatch.setattr(log, "_insert_packed", broken)
    w = log.writer(run, batch=2)
    w.add(RunResult("a", 1.0, 200, 1.0, True))
    w.add(RunResult("b", 1.0, 200, 1.0, True))  # a full chunk: to the thread, which fails
    with pytest.raises(StoreUnavailable, match="disk full"):
        for _ in range(1000):
            w.add(RunResult("c", 1.0, 200, 1.0, True))
            time.sleep(0.005)
    with pytest.raises(StoreUnavailable, match="disk full"):
        w.close()
