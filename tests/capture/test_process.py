"""The writer process: same behaviour as the thread writer, off the proxy's interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

from amber._store import Store
from amber.capture._process import ProcessWriter
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
