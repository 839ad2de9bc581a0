"""The writer process: same behaviour as the thread writer, off the proxy's interpreter,
and supervised: killed, it is restarted and what it lost is counted."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from amber._model import Exchange
from amber._store import Store
from amber.capture._process import _COMMIT_IDS
from amber.capture._process import _COMMIT_TARGET
from amber.capture._process import _ID_LEN
from amber.capture._process import _N_COUNTERS
from amber.capture._process import _STORED
from amber.capture._process import ProcessWriter
from amber.capture._process import _CountingStore
from amber.capture._process import _exit_cause
from amber.capture._raw import raw_to_exchange
from amber.capture._stats import StatsSnapshot
from amber.capture._writer import Writer
from amber.capture.addon import CaptureAddon
from amber.errors import StoreUnavailable
from tests.capture.conftest import wait_for
from tests.capture.test_addon import addon_context
from tests.capture.test_addon import flow
from tests.capture.test_stats import balanced
from tests.capture.test_writer import KEY
from tests.capture.test_writer import SECRET
from tests.capture.test_writer import HostileStore
from tests.capture.test_writer import pipeline
from tests.capture.test_writer import raw
from tests.capture.test_writer import refuse_path
from tests.capture.test_writer import stored_ids


def test_stores_sanitized_and_stops_cleanly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    w = ProcessWriter(url, None, KEY, 1024 * 1024, batch_size=7)
    w.start()
    try:
        assert all(w.submit(raw(i)) for i in range(40))
        assert w.flush(timeout=30)
        assert w.stats.stored == 40
    finally:
        w.stop()
    assert not w.submit(raw(99))  # refused after stop, and counted
    assert w.stats.dropped("no_writer") == 1 and balanced(w.stats.snapshot())
    with Store.open(url) as s:
        assert s.count() == 40
    for name in ("store.db", "store.db-wal"):
        p = tmp_path / name
        if p.exists():
            assert SECRET.encode() not in p.read_bytes()


def test_in_flight_bounds_drop_and_count(tmp_path: Path) -> None:
    w = ProcessWriter(f"sqlite:///{tmp_path / 's.db'}", None, KEY, 1024, max_items=3)
    # not started: nothing drains, so the fourth submission exceeds the bound
    results = [w.submit(raw(i)) for i in range(5)]
    assert results == [True, True, True, False, False]
    assert w.stats.dropped("queue_full") == 2 and w.stats.in_flight == 3
    w.stop(timeout=1)  # never started: what it held is counted, as no writer ran
    assert w.stats.dropped("no_writer") == 3 and balanced(w.stats.snapshot())
    big = ProcessWriter(f"sqlite:///{tmp_path / 's2.db'}", None, KEY, 1024, max_bytes=5000)
    assert big.submit(raw(0, body=b"x" * 3000)) and not big.submit(raw(1, body=b"x" * 3000))
    big.stop(timeout=1)


def test_start_failure_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_bytes(b"not a database" * 100)
    w = ProcessWriter(f"sqlite:///{tmp_path / 'bad.db'}", None, KEY, 1024)
    with pytest.raises(RuntimeError, match="not a readable amber store"):
        w.start()


def test_one_refused_exchange_costs_only_itself_in_the_writer_process(store_url: str) -> None:
    """A real store, SQLite or PostgreSQL, that refuses one row (a trigger aborts its insert):
    of 221 exchanges the other 220 are stored, the one is counted unstorable, and every later
    one is stored."""
    url = store_url
    Store.open(url).close()
    refuse_path(url, "/items/110")
    w = ProcessWriter(url, None, KEY, 1024 * 1024, batch_size=200)
    w.start()
    try:
        assert all(w.submit(raw(i)) for i in range(221))
        assert w.flush(timeout=60)
        assert all(w.submit(raw(i)) for i in range(221, 271))
    finally:
        w.stop()
    snap = w.stats.snapshot()
    assert (snap.stored, snap.dropped["unstorable"], snap.in_flight) == (270, 1, 0)
    assert balanced(snap) and sum(snap.dropped.values()) == 1
    with Store.open(url, create=False) as store:
        assert stored_ids(store) == set(range(271)) - {110}


def test_the_store_file_deleted_under_the_writer_process_is_counted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    w = ProcessWriter(url, None, KEY, 1024 * 1024)
    w.start()
    try:
        assert all(w.submit(raw(i)) for i in range(20))
        assert w.flush(timeout=60) and w.stats.stored == 20
        for p in tmp_path.glob("store.db*"):
            p.unlink()
        assert all(w.submit(raw(i)) for i in range(20, 50))
        assert w.flush(timeout=60)
    finally:
        w.stop()
    snap = w.stats.snapshot()
    assert (snap.stored, snap.dropped["store_lost"], snap.in_flight) == (20, 30, 0)
    assert balanced(snap) and "dropped 30: " in snap.summary()
    assert not (tmp_path / "store.db").exists()


def test_a_writer_killed_under_load_is_restarted_and_the_gap_counted(tmp_path: Path) -> None:
    """SIGKILL the writer process while a thread feeds it: the proxy side notices, restarts
    it, recording resumes, and every exchange offered is stored or counted as lost with the
    writer (`writer_restart`); the counts balance in every snapshot taken meanwhile."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    w = ProcessWriter(url, None, KEY, 1024 * 1024, batch_size=20)
    w.start()
    offered = 0
    snapshots: list[StatsSnapshot] = []
    feeding = threading.Event()
    feeding.set()

    def feed() -> None:
        nonlocal offered
        while feeding.is_set():
            w.submit(raw(offered)._replace(started=time.time()))
            offered += 1
            snapshots.append(w.stats.snapshot())
            time.sleep(0.002)  # a steady load of a few hundred exchanges a second

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        wait_for(lambda: w.stats.stored >= 100, 60, "100 exchanges stored")
        first = w._child
        os.kill(first.proc.pid, signal.SIGKILL)
        wait_for(lambda: w._child is not first, 60, "a new writer process")
        resumed_from = w.stats.stored
        wait_for(lambda: w.stats.stored >= resumed_from + 100, 60, "recording to resume")
    finally:
        feeding.clear()
        feeder.join()
        w.stop()
    snap = w.stats.snapshot()
    assert all(balanced(s) for s in snapshots) and balanced(snap)
    assert snap.in_flight == 0 and snap.seen == offered
    assert snap.events["writer_restarts"] == 1 and snap.dropped["writer_restart"] > 0
    assert snap.stored + snap.dropped["writer_restart"] == offered  # nothing else lost
    with Store.open(url, create=False) as store:
        assert store.count() == snap.stored  # none stored uncounted, none counted twice
        times = sorted(ex.request.timestamp_start for ex in store.iter_exchanges())
    gap = max(b - a for a, b in itertools.pairwise(times))
    print(
        f"recording gap around the SIGKILL: {gap:.2f}s, "
        f"{snap.dropped['writer_restart']} exchanges counted as writer_restart"
    )


def test_an_insert_committed_as_the_writer_died_is_found_not_counted_lost(
    tmp_path: Path,
) -> None:
    """The child publishes the ids of the insert it is in before it begins: if it dies
    before it can say the insert committed, the proxy asks the store."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    exchanges = [raw_to_exchange(raw(i)) for i in range(3)]
    with Store.open(url) as store:
        store.add_many(exchanges[:2])  # the first two made it, the third did not
    w = ProcessWriter(url, None, KEY, 1024 * 1024, batch_size=5)
    for i in range(3):
        assert w.submit(raw(i))
    child = w._child
    child.ids[: 3 * 26] = b"".join(ex.id.encode() for ex in exchanges)
    child.counters[_COMMIT_IDS] = 3
    child.counters[_COMMIT_TARGET] = 3
    assert w._settle_lost(child, "writer_restart") == 1
    snap = w.stats.snapshot()
    assert (snap.stored, snap.dropped["writer_restart"], snap.in_flight) == (2, 1, 0)
    assert w._settle_lost(child, "writer_restart") == 0  # settled once only
    w.stop(timeout=1)
    assert balanced(w.stats.snapshot())


def test_an_insert_committed_as_its_connection_dropped_is_published_stored(
    tmp_path: Path,
) -> None:
    """The child's sink publishes what the proxy counts: exchanges of an insert that failed
    with the connection but had committed are found on the retry and published as stored
    (and no longer as an insert in progress), so the proxy neither loses nor doubles them."""
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        hs = HostileStore(store)
        real_add = hs.add_many

        def commit_then_drop(batch: Iterable[Exchange]) -> int:
            n = real_add(batch)
            if hs.calls == 1:
                raise StoreUnavailable("server closed the connection unexpectedly")
            return n

        hs.add_many = commit_then_drop  # type: ignore[method-assign]
        counters = multiprocessing.RawArray("q", _N_COUNTERS)
        ids = multiprocessing.RawArray("c", _ID_LEN * 10)
        sink = _CountingStore(hs, counters, ids)  # type: ignore[arg-type]
        w = Writer(sink, pipeline(), batch_size=10, retry_initial=0.001, on_found=sink.found)
        for i in range(10):
            assert w.submit(raw(i))
        w.start()
        w.stop()
        assert (counters[_STORED], counters[_COMMIT_TARGET]) == (10, 10)
        assert w.stats.stored == 10 and store.count() == 10


def test_exit_causes_are_named() -> None:
    assert _exit_cause(-signal.SIGKILL) == "killed by SIGKILL"
    assert _exit_cause(1) == "exit code 1"


def test_the_addon_records_through_a_writer_process_by_default(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The production path, the only addon test that spawns a process: with its default
    options the addon starts the writer process, records through it, and `done` ends it."""
    monkeypatch.chdir(tmp_path)
    for var in ("AMBER_STORE", "AMBER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AMBER_KEY", KEY.decode())
    url = f"sqlite:///{tmp_path / 'store.db'}"
    addon = CaptureAddon()
    with addon_context(addon) as tctx:
        tctx.configure(addon, amber_store=url)
        addon.running()  # the writer starts once the proxy runs
        writer = addon.writer
        assert isinstance(writer, ProcessWriter) and writer._child.proc.is_alive()
        addon.response(flow("/a"))
        addon.error(flow("/b", status=None, error=True))
        assert writer.flush(timeout=30)
    assert not writer._child.proc.is_alive() and addon.writer is None
    assert addon.stats.stored == 2 and addon.stats.seen == 2
    assert balanced(addon.stats.snapshot()) and addon.stats.in_flight == 0
    with Store.open(url, create=False) as store:
        exchanges = {ex.request.path: ex for ex in store.iter_exchanges()}
    assert set(exchanges) == {"/a", "/b"}
    assert exchanges["/b"].response is None and exchanges["/b"].error


def chattr(flag: str, path: Path) -> bool:
    """Set or clear the immutable flag; False where that is not possible (not root, or a file
    system without the flag)."""
    try:
        return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.slow
def test_an_immutable_shm_file_is_survived_and_recorded_after(tmp_path: Path) -> None:
    """SQLite's -shm made immutable under a running writer: the writer process dies (SIGBUS on
    its mapping) and is restarted; the new one cannot write and retries, counting what the
    full queue refuses as store unavailable; once the file is writable again it records
    again (it reopens its connections, which SQLite had opened read-only)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    shm = tmp_path / "store.db-shm"
    w = ProcessWriter(url, None, KEY, 1024 * 1024, max_items=50)
    w.start()
    i = 0

    def offer(n: int = 1) -> None:
        nonlocal i
        for _ in range(n):
            w.submit(raw(i))
            i += 1

    try:
        offer(20)
        assert w.flush(timeout=60) and w.stats.stored == 20
        if not chattr("+i", shm):
            pytest.skip("cannot make a file immutable here (needs root and chattr)")
        try:
            wait_for(lambda: offer() or w.stats.store_failures > 0, 120, "a failed write")
        finally:
            assert chattr("-i", shm)
        stored = w.stats.stored
        wait_for(lambda: offer() or w.stats.stored > stored, 120, "recording again")
    finally:
        chattr("-i", shm)
        w.stop()
    snap = w.stats.snapshot()
    assert balanced(snap) and snap.in_flight == 0 and snap.seen == i
    assert snap.dropped["store_unavailable"] + snap.dropped["writer_restart"] > 0
    assert snap.stored + sum(snap.dropped.values()) == i
    with Store.open(url, create=False) as store:
        assert store.count() == snap.stored
    print(f"immutable -shm: {snap.summary()}")
