"""The writer process: same behaviour as the thread writer, off the proxy's interpreter."""

from __future__ import annotations

import asyncio
import os
import pickle
import queue
import struct
import threading
from pathlib import Path

import pytest

from amber._store import Store
from amber.capture._process import ProcessWriter
from amber.capture._process import _FrameReader
from amber.capture._process import _FrameSender
from amber.capture.addon import CaptureAddon
from tests.capture.test_addon import addon_context
from tests.capture.test_addon import flow
from tests.capture.test_writer import KEY
from tests.capture.test_writer import SECRET
from tests.capture.test_writer import raw


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
    assert w.stats.dropped_queue_full == 1
    with Store.open(url) as s:
        assert s.count() == 40
    for name in ("store.db", "store.db-wal"):
        p = tmp_path / name
        if p.exists():
            assert SECRET.encode() not in p.read_bytes()


def test_in_flight_bounds_drop_and_count(tmp_path: Path) -> None:
    w = ProcessWriter(f"sqlite:///{tmp_path / 's.db'}", None, KEY, 1024, max_items=3)
    # not started: nothing drains, so the fourth submission exceeds the bound
    w._proc.is_alive = lambda: True  # type: ignore[method-assign]
    results = [w.submit(raw(i)) for i in range(5)]
    assert results == [True, True, True, False, False]
    assert w.stats.dropped_queue_full == 2
    big = ProcessWriter(f"sqlite:///{tmp_path / 's2.db'}", None, KEY, 1024, max_bytes=5000)
    big._proc.is_alive = lambda: True  # type: ignore[method-assign]
    assert big.submit(raw(0, body=b"x" * 3000)) and not big.submit(raw(1, body=b"x" * 3000))


def test_start_failure_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_bytes(b"not a database" * 100)
    w = ProcessWriter(f"sqlite:///{tmp_path / 'bad.db'}", None, KEY, 1024)
    with pytest.raises(RuntimeError, match="not a readable amber store"):
        w.start()


def _reader_thread(fd: int, out: list[object]) -> threading.Thread:
    def run() -> None:
        reader = _FrameReader(fd)
        while (item := reader.get(timeout=10)) is not None:
            out.append(item)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_frames_larger_than_the_pipe_arrive_whole_and_in_order_without_a_loop() -> None:
    r, w = os.pipe()
    got: list[object] = []
    t = _reader_thread(r, got)
    sender = _FrameSender(w)
    items = [(i, os.urandom(1) * (20_000 + i)) for i in range(200)]  # ~4 MB > pipe size
    for item in items:
        sender.send(pickle.dumps(item))
    sender.send(b"")
    assert sender.drain(timeout=10)
    t.join(timeout=10)
    assert got == items
    os.close(w)
    os.close(r)


def test_a_full_pipe_never_blocks_the_event_loop() -> None:
    r, w = os.pipe()
    sender = _FrameSender(w)
    items = [(i, b"x" * 50_000) for i in range(100)]  # 5 MB, nobody reading yet

    async def main() -> list[object]:
        for item in items:
            sender.send(pickle.dumps(item))  # returns at once: the rest waits in the backlog
        assert sender._backlog and sender._loop is not None
        got: list[object] = []
        t = _reader_thread(r, got)
        while sender._backlog or sender._pending:
            await asyncio.sleep(0.01)
        assert sender._loop is None  # the writer callback is gone once drained
        sender.send(b"")
        assert sender.drain(timeout=10)
        await asyncio.to_thread(t.join, 10)
        return got

    assert asyncio.run(main()) == items
    os.close(w)
    os.close(r)


def test_frames_sent_within_a_few_milliseconds_go_out_in_one_write() -> None:
    r, w = os.pipe()
    sender = _FrameSender(w, delay=0.05)

    async def main() -> None:
        for i in range(20):
            sender.send(pickle.dumps(i))
        assert sender._pending and sender._timer is not None  # collected, not yet written
        await asyncio.sleep(0.2)
        assert not sender._pending and sender._timer is None

    asyncio.run(main())
    reader = _FrameReader(r)
    assert [reader.get(timeout=1) for _ in range(20)] == list(range(20))
    os.close(w)
    os.close(r)


def test_partial_frames_and_eof_on_the_reading_side() -> None:
    r, w = os.pipe()
    frame = pickle.dumps({"a": 1})
    data = struct.pack("<I", len(frame)) + frame
    reader = _FrameReader(r)
    os.write(w, data[:3])
    with pytest.raises(queue.Empty):
        reader.get(timeout=0.05)
    os.write(w, data[3:])
    assert reader.get(timeout=1) == {"a": 1}
    os.close(w)  # the proxy died: the child finishes what it has and stops
    assert reader.get(timeout=1) is None
    os.close(r)


def test_a_dead_writer_process_means_counted_drops_not_errors(tmp_path: Path) -> None:
    w = ProcessWriter(f"sqlite:///{tmp_path / 's.db'}", None, KEY, 1024 * 1024)
    w.start()
    assert w.submit(raw(0)) and w.flush(timeout=30)
    w._proc.kill()
    w._proc.join(timeout=10)
    results = [w.submit(raw(i, body=b"y" * 100_000)) for i in range(1, 40)]
    assert not all(results)  # the broken pipe is noticed; nothing raised
    w.stop(timeout=5)
    assert w.stats.stored == 1
    assert w.stats.dropped_queue_full + w.stats.dropped_store == 39


def test_the_addon_records_through_a_writer_process_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
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
        writer = addon.writer
        assert isinstance(writer, ProcessWriter) and writer._proc.is_alive()
        addon.response(flow("/a"))
        addon.error(flow("/b", status=None, error=True))
        assert writer.flush(timeout=30)
    assert not writer._proc.is_alive() and addon.writer is None
    assert addon.stats.stored == 2 and addon.stats.seen == 2
    with Store.open(url, create=False) as store:
        exchanges = {ex.request.path: ex for ex in store.iter_exchanges()}
    assert set(exchanges) == {"/a", "/b"}
    assert exchanges["/b"].response is None and exchanges["/b"].error
