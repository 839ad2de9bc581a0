from __future__ import annotations

import dataclasses
import time

import orjson
import pytest

from amber._runs import RunLog
from amber._runs import RunResult
from amber._runs import encode_result
from amber._store import Store
from amber._store import pack_results
from amber._store import run_chunks
from amber.errors import NotFound
from amber.errors import StoreUnavailable


def test_runs_round_trip(store: Store) -> None:
    log = RunLog(store)
    run = log.start("replay", "http://127.0.0.1:8000", {"concurrency": 8})
    log.add(
        run,
        [
            RunResult(
                f"ex{i}",
                1.0 + i,
                200,
                3.5,
                i % 2 == 0,
                None,
                "GET",
                f"/o/{i}",
                differences=[
                    {"path": "status", "kind": "status", "expected": "200", "actual": str(i)}
                ],
            )
            for i in range(1200)
        ],
    )
    log.finish(run, "completed", {"sent": 1200})
    info = log.get(run[:12])
    assert info.state == "completed" and info.summary == {"sent": 1200}
    results = list(log.results(run, page=500))
    assert [r.exchange_id for r in results] == [f"ex{i}" for i in range(1200)]
    assert results[3].path == "/o/3" and not results[3].ok
    assert results[3].differences == [
        {"path": "status", "kind": "status", "expected": "200", "actual": "3"}
    ]
    assert [i.id for i in log.list()] == [run]
    with pytest.raises(NotFound, match="amber runs"):
        log.get("nope")


def test_the_writer_stores_every_result_in_order_from_its_thread(store: Store) -> None:
    log = RunLog(store)
    run = log.start("replay", "http://127.0.0.1:8000", {})
    w = log.writer(run, batch=64, depth=2)
    for i in range(1000):
        w.add(RunResult(f"ex{i}", float(i), 200, 1.0, True, None, "GET", f"/{i}"))
    w.close()
    w.close()  # idempotent
    got = list(log.results(run, page=3))
    assert [r.exchange_id for r in got] == [f"ex{i}" for i in range(1000)]
    assert got[999].path == "/999"


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


REPLAYED = RunResult(
    "ex1",
    1.5,
    500,
    2.25,
    False,
    "connection reset",
    "POST",
    "/orders",
    "/orders",
    201,
    checks={"status": False},
    differences=[{"path": "status", "kind": "status", "expected": "201", "actual": "500"}],
    more=2,
    ignored=1,
)
SHADOWED = RunResult(
    "ex2",
    2.5,
    200,
    1.0,
    False,
    None,
    "GET",
    "/users/7",
    "/users/{id}",
    200,
    regression_paths=["body$.name"],
    suppressed_paths=["body$.at"],
    noise_paths=["body$.at"],
)


def test_a_result_is_stored_as_the_positional_array_of_schema_3() -> None:
    assert orjson.loads(encode_result(REPLAYED)) == [
        "ex1",
        1.5,
        500,
        2.25,
        False,
        "connection reset",
        {
            "checks": {"status": False},
            "differences": [
                {"path": "status", "kind": "status", "expected": "201", "actual": "500"}
            ],
            "more": 2,
            "ignored": 1,
            "method": "POST",
            "path": "/orders",
            "route": "/orders",
            "recorded_status": 201,
        },
    ]
    # shadow results carry their three path lists instead of the replay comparison
    assert list(orjson.loads(encode_result(SHADOWED))[6]) == [
        "method",
        "path",
        "route",
        "recorded_status",
        "regression_paths",
        "suppressed_paths",
        "noise_paths",
    ]


def test_replay_and_shadow_results_round_trip() -> None:
    for r in (REPLAYED, SHADOWED):
        assert RunResult.from_row(orjson.loads(encode_result(r))) == r


def test_results_written_before_the_typed_record_are_read(store: Store) -> None:
    """Chunks as earlier ambers wrote them: replay's detail, shadow's without a recorded
    status, an empty detail (schema 2 migrated, or RunLog.add without one)."""
    log = RunLog(store)
    run = log.start("shadow", "t", {})
    rows = [
        [
            "a",
            1.0,
            200,
            1.0,
            True,
            None,
            {
                "checks": {"status": True},
                "differences": [],
                "more": 0,
                "ignored": 3,
                "method": "GET",
                "path": "/a",
                "route": "/a",
                "recorded_status": 200,
            },
        ],
        [
            "b",
            2.0,
            200,
            1.0,
            False,
            None,
            {
                "method": "GET",
                "path": "/b",
                "route": "/b",
                "regression_paths": ["body$.x"],
                "suppressed_paths": [],
                "noise_paths": ["body$.t"],
            },
        ],
        ["c", 3.0, None, None, False, "timeout after 30s", {}],
    ]
    with store.engine.begin() as conn:
        conn.execute(run_chunks.insert().values(run_id=run, count=3, data=pack_results(rows)))
    a, b, c = log.results(run)
    assert (a.ok, a.ignored, a.recorded_status, a.regression_paths) == (True, 3, 200, None)
    assert (b.regression_paths, b.noise_paths, b.recorded_status) == (
        ["body$.x"],
        ["body$.t"],
        None,
    )
    assert (c.error, c.method, c.differences, c.status) == ("timeout after 30s", "", [], None)


def test_a_run_ends_in_one_of_its_states(store: Store) -> None:
    log = RunLog(store)
    run = log.start("replay", "t", {})
    assert log.get(run).state == "running"
    log.finish(run, "failed", {"sent": 0})
    assert (log.get(run).state, log.get(run).kind) == ("failed", "replay")


RAW_PATH = "/p/caf\udce9"  # the raw byte 0xe9 of a non-UTF-8 URL, as the store keeps it


def test_a_result_whose_path_holds_a_raw_byte_round_trips(store: Store) -> None:
    """orjson refuses a lone surrogate: `RunLog.add` and the writer failed on such a path
    (the replay of an exchange the store accepted). Both store it, and it reads back as
    the same string, in the run's parameters too."""
    log = RunLog(store)
    run = log.start("replay", "http://127.0.0.1:8000", {"filters": {"path": RAW_PATH + "*"}})
    result = dataclasses.replace(
        REPLAYED,
        path=RAW_PATH,
        differences=[
            {"path": "header:x-caf\udce9", "kind": "value", "expected": "\udce9", "actual": "e"}
        ],
    )
    assert log.add(run, [result]) == 1
    w = log.writer(run)
    w.add(dataclasses.replace(SHADOWED, path=RAW_PATH))
    w.close()
    log.finish(run, "completed", {"last": RAW_PATH})
    replayed, shadowed = log.results(run)
    assert replayed == result and shadowed.path == RAW_PATH
    info = log.get(run)
    assert info.params == {"filters": {"path": RAW_PATH + "*"}}
    assert info.summary == {"last": RAW_PATH}
