"""The capture `Writer` without a proxy: queue limits, failure policy, flushing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from amber._ingest import Pipeline
from amber._model import Exchange
from amber._pseudonym import Pseudonymizer
from amber._routes import Router
from amber._store import Store
from amber.capture._writer import CaptureStats
from amber.capture._writer import RawFlow
from amber.capture._writer import Writer
from amber.capture._writer import raw_to_exchange
from amber.errors import SanitizeError
from amber.errors import StoreUnavailable
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer

KEY = b"writer-test-key-0123456789abcdef"
SECRET = "sk_live_51WriterTestStripeKey0987654"


def pipeline() -> Pipeline:
    return Pipeline(Sanitizer(SanitizeConfig(), Pseudonymizer(KEY)), Router([]))


def raw(i: int = 0, body: bytes | None = None, status: int | None = 200) -> RawFlow:
    req_body = orjson.dumps({"i": i, "password": SECRET}) if body is None else body
    return RawFlow(
        started=946681200.0 + i, req_end=946681200.5 + i, client="10.0.0.1",
        method=b"POST", scheme=b"http", host="api.internal", port=8000,
        path=f"/items/{i}?token={SECRET}".encode(), http_version=b"HTTP/1.1",
        req_headers=((b"Host", b"api.example.com"), (b"Content-Type", b"application/json"),
                     (b"Authorization", f"Bearer {SECRET}".encode())),
        req_body=req_body, authority=b"",
        status=status, reason=b"OK" if status else b"", resp_version=b"HTTP/1.1",
        resp_headers=((b"Content-Type", b"application/json"),) if status else (),
        resp_body=b'{"ok": true}' if status else None,
        resp_start=946681200.6 + i if status else None,
        resp_end=946681200.7 + i if status else None,
        error=None if status else "connection refused", tags=(),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def writers() -> Iterator[list[Writer]]:
    """Every writer a test makes is stopped afterwards."""
    made: list[Writer] = []
    yield made
    for w in made:
        w.stop(timeout=5)


def make(writers: list[Writer], store: Any, *, start: bool = True, **kw: Any) -> Writer:
    kw.setdefault("retry_initial", 0.001)
    kw.setdefault("retry_max", 0.01)
    kw.setdefault("flush_interval", 0.02)
    w = Writer(store, kw.pop("pipeline", None) or pipeline(), **kw)
    writers.append(w)
    if start:
        w.start()
    return w


def store_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))


def test_raw_to_exchange_keeps_the_wire_form() -> None:
    ex = raw_to_exchange(raw(3, body=b"\x1f\x8b not really gzip"))
    assert ex.request.path == "/items/3" and ex.request.query == f"token={SECRET}"
    assert ex.request.body == b"\x1f\x8b not really gzip"
    assert ex.response is not None and ex.response.status == 200
    err = raw_to_exchange(raw(4, status=None))
    assert err.response is None and err.error == "connection refused"


def test_stop_flushes_everything_sanitized(store: Store, writers: list[Writer],
                                           tmp_path: Path) -> None:
    w = make(writers, store, batch_size=50)
    for i in range(300):
        assert w.submit(raw(i))
    w.stop()
    assert not w._thread.is_alive()
    assert w.stats.stored == 300 and w.pending == 0
    assert store.count() == 300
    exchanges = list(store.iter_exchanges())
    assert sorted(orjson.loads(ex.request.body)["i"] for ex in exchanges) == list(range(300))
    blob = b"\n".join(orjson.dumps(ex.to_dict()) for ex in exchanges)
    assert SECRET.encode() not in blob and b"[REDACTED:" in blob
    assert SECRET.encode() not in store_bytes(tmp_path)


def test_flush_waits_for_the_queue(store: Store, writers: list[Writer]) -> None:
    w = make(writers, store)
    for i in range(20):
        w.submit(raw(i))
    assert w.flush(timeout=10)
    assert store.count() == 20 and w.pending == 0


def test_errors_are_stored_too(store: Store, writers: list[Writer]) -> None:
    w = make(writers, store)
    w.submit(raw(1, status=None))
    w.stop()
    [ex] = store.iter_exchanges()
    assert ex.response is None and ex.error == "connection refused"


def test_queue_full_by_count_drops_and_counts(store: Store, writers: list[Writer]) -> None:
    w = make(writers, store, start=False, max_items=3)
    results = [w.submit(raw(i)) for i in range(5)]
    assert results == [True, True, True, False, False]
    assert w.stats.dropped_queue_full == 2 and w.stats.queued == 3
    w.start()
    w.stop()
    assert store.count() == 3 and w.stats.stored == 3


def test_queue_full_by_bytes_drops_and_counts(store: Store, writers: list[Writer]) -> None:
    w = make(writers, store, start=False, max_bytes=10_000)
    assert w.submit(raw(0, body=b"x" * 6000))
    assert not w.submit(raw(1, body=b"x" * 6000))
    assert w.submit(raw(2, body=b"x" * 100))
    assert w.stats.dropped_queue_full == 1
    w.start()
    w.stop()
    assert store.count() == 2


def test_stop_closes_the_store_only_when_the_writer_owns_it(
    store: Store, writers: list[Writer], monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[bool] = []
    monkeypatch.setattr(store, "close", lambda: closed.append(True))
    make(writers, store).stop()
    assert closed == []  # the caller's store: the caller closes it
    owner = make(writers, store, owns_store=True)
    owner.submit(raw(0))
    owner.stop()
    assert closed == [True] and store.count() == 1  # written first, then closed


def test_submit_after_stop_is_dropped(store: Store, writers: list[Writer]) -> None:
    w = make(writers, store)
    w.stop()
    assert w.submit(raw(0)) is False
    assert w.stats.dropped_queue_full == 1 and store.count() == 0


@pytest.mark.parametrize("exc", [SanitizeError("cannot sanitize"), RuntimeError("bug")])
def test_sanitize_failure_drops_counts_and_stores_nothing_raw(
    store: Store, writers: list[Writer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, exc: Exception,
) -> None:
    p = pipeline()
    real = p.process
    calls = {"n": 0}

    def flaky(ex: Exchange, *, encoded: bool = True) -> Exchange:
        calls["n"] += 1
        if calls["n"] % 2:  # every other exchange fails
            raise exc
        return real(ex, encoded=encoded)

    monkeypatch.setattr(p, "process", flaky)
    w = make(writers, store, pipeline=p)
    with caplog.at_level(logging.DEBUG, logger="amber"):
        for i in range(10):
            w.submit(raw(i))
        w.stop()
    assert w.stats.dropped_sanitize == 5
    assert w.stats.stored == 5 and store.count() == 5
    assert SECRET.encode() not in store_bytes(tmp_path)
    stored = {orjson.loads(ex.request.body)["i"] for ex in store.iter_exchanges()}
    assert stored == {1, 3, 5, 7, 9}
    assert SECRET not in caplog.text  # the log names the failure, never the data


class FlakyStore:
    """add_many raises StoreUnavailable `fail` times, then stores; thread-safe enough."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.calls = 0
        self.rows: list[Exchange] = []
        self.lock = threading.Lock()

    def add_many(self, batch: Iterable[Exchange]) -> int:
        with self.lock:
            self.calls += 1
            if self.fail > 0:
                self.fail -= 1
                raise StoreUnavailable("database is down")
            items = list(batch)
            self.rows += items
            return len(items)


def test_store_failing_then_recovering_loses_nothing(
    writers: list[Writer], caplog: pytest.LogCaptureFixture
) -> None:
    fs = FlakyStore(fail=4)
    w = make(writers, fs, batch_size=10)
    with caplog.at_level(logging.WARNING, logger="amber.capture"):
        for i in range(50):
            assert w.submit(raw(i))
        w.stop()
    assert w.stats.store_failures == 4
    assert w.stats.dropped_store == 0 and w.stats.dropped_queue_full == 0
    assert w.stats.stored == 50
    assert sorted(orjson.loads(ex.request.body)["i"] for ex in fs.rows) == list(range(50))
    assert "store is back" in caplog.text


def test_store_down_at_stop_counts_the_loss(writers: list[Writer]) -> None:
    fs = FlakyStore(fail=10**9)
    w = make(writers, fs)
    for i in range(5):
        w.submit(raw(i))
    w.stop(timeout=0.3)
    assert not w._thread.is_alive()
    assert w.stats.stored == 0 and w.stats.dropped_store == 5
    assert w.stats.store_failures >= 1


def test_store_down_fills_the_queue_then_drops(writers: list[Writer]) -> None:
    fs = FlakyStore(fail=10**9)
    w = make(writers, fs, max_items=5, batch_size=1)
    accepted = sum(w.submit(raw(i)) for i in range(20))
    assert accepted <= 5 + 1  # the queue, plus at most the batch being retried
    assert w.stats.dropped_queue_full == 20 - accepted
    w.stop(timeout=0.2)
    assert w.stats.dropped_store + w.stats.stored == accepted


def test_summary_line_counts_everything() -> None:
    stats = CaptureStats(seen=10, stored=6, filtered=1, sampled_out=1, dropped_queue_full=1,
                         dropped_sanitize=1, dropped_store=0, hook_errors=0)
    assert stats.summary() == (
        "seen 10, stored 6, filtered 1, sampled out 1, dropped: 1 queue full, "
        "1 sanitize failed, 0 store unavailable; 0 hook errors"
    )


def test_the_host_header_is_what_the_client_sent_in_every_http_version() -> None:
    h1 = raw(1)
    assert raw_to_exchange(h1).request.host_header == "api.example.com"
    h2 = raw(2)._replace(http_version=b"HTTP/2.0", authority=b"h2.example.com",
                         req_headers=((b"content-type", b"application/json"),))
    ex = raw_to_exchange(h2)
    assert ex.request.host_header == "h2.example.com" and ex.request.http_version == "HTTP/2.0"
    no_host = raw(3)._replace(req_headers=())
    assert raw_to_exchange(no_host).request.host_header is None
