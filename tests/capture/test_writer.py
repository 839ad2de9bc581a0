"""The capture `Writer` without a proxy: queue limits, failure policy, flushing, and the
accounting identity of `CaptureStats`."""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from amber._ingest import Pipeline
from amber._model import Exchange
from amber._pseudonym import Pseudonymizer
from amber._routes import Router
from amber._store import Store
from amber._store import normalize_url
from amber.capture._stats import StatsSnapshot
from amber.capture._writer import RETRY_MAX
from amber.capture._writer import RawFlow
from amber.capture._writer import Writer
from amber.errors import SanitizeError
from amber.errors import StoreError
from amber.errors import StoreUnavailable
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from tests.capture.conftest import wait_for
from tests.capture.test_stats import balanced

KEY = b"writer-test-key-0123456789abcdef"
SECRET = "sk_live_51WriterTestStripeKey0987654"


def pipeline() -> Pipeline:
    return Pipeline(Sanitizer(SanitizeConfig(), Pseudonymizer(KEY)), Router([]))


def raw(i: int = 0, body: bytes | None = None, status: int | None = 200) -> RawFlow:
    req_body = orjson.dumps({"i": i, "password": SECRET}) if body is None else body
    return RawFlow(
        started=946681200.0 + i,
        req_end=946681200.5 + i,
        client="10.0.0.1",
        method=b"POST",
        scheme=b"http",
        host="api.internal",
        port=8000,
        path=f"/items/{i}?token={SECRET}".encode(),
        http_version=b"HTTP/1.1",
        req_headers=(
            (b"Host", b"api.example.com"),
            (b"Content-Type", b"application/json"),
            (b"Authorization", f"Bearer {SECRET}".encode()),
        ),
        req_body=req_body,
        authority=b"",
        status=status,
        reason=b"OK" if status else b"",
        resp_version=b"HTTP/1.1",
        resp_headers=((b"Content-Type", b"application/json"),) if status else (),
        resp_body=b'{"ok": true}' if status else None,
        resp_start=946681200.6 + i if status else None,
        resp_end=946681200.7 + i if status else None,
        error=None if status else "connection refused",
        tags=(),
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


def test_stop_flushes_everything_sanitized(
    store: Store, writers: list[Writer], tmp_path: Path
) -> None:
    w = make(writers, store, batch_size=50)
    for i in range(300):
        assert w.submit(raw(i))
    w.stop()
    assert not w._thread.is_alive()
    assert w.stats.stored == 300 and w.pending == 0 and w.stats.in_flight == 0
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
    assert w.stats.dropped("queue_full") == 2 and w.stats.in_flight == 3
    assert w.stats.seen == 5
    w.start()
    w.stop()
    assert store.count() == 3 and w.stats.stored == 3


def test_queue_full_by_bytes_drops_and_counts(store: Store, writers: list[Writer]) -> None:
    w = make(writers, store, start=False, max_bytes=10_000)
    assert w.submit(raw(0, body=b"x" * 6000))
    assert not w.submit(raw(1, body=b"x" * 6000))
    assert w.submit(raw(2, body=b"x" * 100))
    assert w.stats.dropped("queue_full") == 1
    w.start()
    w.stop()
    assert store.count() == 2


def test_stop_closes_the_store_only_when_the_writer_owns_it(
    store: Store,
    writers: list[Writer],
    monkeypatch: pytest.MonkeyPatch,
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
    assert w.stats.dropped("no_writer") == 1 and store.count() == 0


@pytest.mark.parametrize("exc", [SanitizeError("cannot sanitize"), RuntimeError("bug")])
def test_sanitize_failure_drops_counts_and_stores_nothing_raw(
    store: Store,
    writers: list[Writer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    exc: Exception,
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
    assert w.stats.dropped("sanitize_failed") == 5
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

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        with self.lock:
            return {ex.id for ex in self.rows} & set(ids)


def test_store_failing_then_recovering_loses_nothing(
    writers: list[Writer], caplog: pytest.LogCaptureFixture
) -> None:
    fs = FlakyStore(fail=4)
    w = make(writers, fs, batch_size=10)
    with caplog.at_level(logging.WARNING, logger="amber.capture"):
        for i in range(50):
            assert w.submit(raw(i))
        w.stop()
    snap = w.stats.snapshot()
    assert snap.events["store_failures"] == 4
    assert sum(snap.dropped.values()) == 0
    assert snap.stored == 50
    assert sorted(orjson.loads(ex.request.body)["i"] for ex in fs.rows) == list(range(50))
    assert "store is back" in caplog.text


def test_store_down_at_stop_counts_the_loss(writers: list[Writer]) -> None:
    fs = FlakyStore(fail=10**9)
    w = make(writers, fs)
    for i in range(5):
        w.submit(raw(i))
    w.stop(timeout=0.3)
    assert not w._thread.is_alive()
    assert w.stats.stored == 0 and w.stats.dropped("store_unavailable") == 5
    assert w.stats.store_failures >= 1 and w.stats.in_flight == 0


def test_store_down_fills_the_queue_then_drops_as_store_unavailable(
    writers: list[Writer],
) -> None:
    fs = FlakyStore(fail=10**9)
    w = make(writers, fs, max_items=5, batch_size=1)
    accepted = sum(w.submit(raw(i)) for i in range(20))
    assert accepted <= 5 + 1  # the queue, plus at most the batch being retried
    # refused before the writer's first attempt failed: queue full; after it: store down
    refused = w.stats.dropped("queue_full") + w.stats.dropped("store_unavailable")
    assert refused == 20 - accepted
    wait_for(lambda: w.stats.store_failures >= 1, 30, "the first failed write")
    before = w.stats.dropped("store_unavailable")
    assert not w.submit(raw(20))
    assert w.stats.dropped("store_unavailable") == before + 1  # its true reason
    w.stop(timeout=0.2)
    snap = w.stats.snapshot()
    assert snap.dropped["store_unavailable"] + snap.dropped["queue_full"] == 21
    assert snap.in_flight == 0 and snap.stored == 0


def test_retries_wait_at_most_two_seconds_apart(
    writers: list[Writer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The production back-off: 0.5 s doubling, capped at 2 s (recording resumes at most
    about 2 s after the store is back)."""
    waits: list[float] = []
    monkeypatch.setattr("amber.capture._writer.time.sleep", waits.append)
    fs = FlakyStore(fail=6)
    w = make(writers, fs, retry_initial=0.5, retry_max=RETRY_MAX)
    assert w.submit(raw(0))
    w.stop()
    assert waits == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0] and w.stats.stored == 1


def test_the_store_is_marked_unavailable_before_it_is_closed(writers: list[Writer]) -> None:
    """A full queue's refusals are counted `store_unavailable` from the failed write on:
    the writer marks the store down before it closes the store's connections, which is
    slow (the SQLite checkpointer is joined), not after."""
    seen: list[str | None] = []
    fs = FlakyStore(fail=1)
    w = make(writers, fs, start=False, reconnect=lambda: seen.append(w.store_state))
    w.start()
    assert w.submit(raw(0))
    w.stop()
    assert seen == ["store_unavailable"] and w.stats.stored == 1


class HangingStore:
    """A real store whose inserts block while `gate` is closed (a frozen server)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()

    def add_many(self, batch: Iterable[Exchange]) -> int:
        if not self.gate.is_set():
            self.waiting.set()
            self.gate.wait()
        return self.store.add_many(list(batch))

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        return self.store.existing_ids(ids)

    def close(self) -> None:
        self.store.close()


def test_a_hung_insert_is_reported_and_counts_the_store_unavailable(
    store: Store,
    writers: list[Writer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An insert that does not return: after `hang_after` the log says so once, the store is
    unavailable (a full queue's refusals are `store_unavailable`, not `queue_full`, those
    during the hung insert before it was known too); when the insert returns, the end is
    logged and recording goes on."""
    caplog.set_level(logging.INFO, logger="amber.capture")
    hs = HangingStore(store)
    w = make(writers, hs, max_items=10, batch_size=1, hang_after=0.5)
    assert w.submit(raw(0)) and w.flush(30)
    hs.gate.clear()
    assert w.submit(raw(1))
    assert hs.waiting.wait(30)
    # the queue fills before anyone can tell the insert hangs (counted queue_full at first)
    accepted = [i for i in range(2, 30) if w.submit(raw(i))]
    assert len(accepted) == 9  # the queue's 10, the blocked one included
    wait_for(lambda: w.store_state == "store_unavailable", 30, "the hang to be reported")
    assert not any(w.submit(raw(i)) for i in range(30, 40))
    # once it is known, what the full queue refused during that insert is recounted
    assert w.stats.dropped("store_unavailable") == 28 - 9 + 10
    assert w.stats.dropped("queue_full") == 0 and w.stats.store_failures == 0
    hs.gate.set()
    assert w.flush(30) and w.store_state is None
    w.stop()
    assert w.stats.stored == 11 and store.count() == 11 and balanced(w.stats.snapshot())
    assert w.stats.seen == 40
    messages = [r.getMessage() for r in caplog.records if r.name == "amber.capture"]
    assert (
        messages.count(
            "store write has not returned for 0.5 s: counting new drops as store_unavailable"
        )
        == 1
    ), messages
    assert sum("store is back after" in m for m in messages) == 1, messages


def test_a_hung_insert_that_fails_takes_the_retry_path(
    store: Store,
    writers: list[Writer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hung insert that finally fails is the store unavailable all along (no moment
    where the state lapses), retried, and stored once the store answers."""
    caplog.set_level(logging.INFO, logger="amber.capture")
    hs = HostileStore(store)
    gate = threading.Event()
    states: list[str | None] = []
    real_add = hs.add_many

    def hang_then_fail(batch: Iterable[Exchange]) -> int:
        if hs.calls == 1:
            hs.calls += 1
            gate.wait()
            raise StoreUnavailable("server closed the connection unexpectedly")
        return real_add(batch)

    hs.add_many = hang_then_fail  # type: ignore[method-assign]
    hs.calls = 1
    w = make(writers, hs, hang_after=0.2, reconnect=lambda: states.append(w.store_state))
    assert w.submit(raw(0))
    wait_for(lambda: w.store_state == "store_unavailable", 30, "the hang to be reported")
    gate.set()
    w.stop()
    assert states == ["store_unavailable"]
    assert w.stats.stored == 1 and w.stats.store_failures == 1 and store.count() == 1
    messages = [r.getMessage() for r in caplog.records if r.name == "amber.capture"]
    assert [m.split(" ")[:3] for m in messages] == [
        ["store", "write", "has"],
        ["store", "write", "failed"],
        ["store", "is", "back"],
    ]


def test_an_insert_committed_as_its_connection_dropped_is_counted_stored(
    store: Store,
    writers: list[Writer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PostgreSQL committed the insert but the connection dropped before the reply: the
    retry fails on the ids, which are found stored and counted stored, not unstorable."""
    caplog.set_level(logging.INFO, logger="amber.capture")
    hs = HostileStore(store)
    real_add = hs.add_many

    def commit_then_drop(batch: Iterable[Exchange]) -> int:
        n = real_add(batch)
        if hs.calls == 1:
            raise StoreUnavailable("server closed the connection unexpectedly")
        return n

    hs.add_many = commit_then_drop  # type: ignore[method-assign]
    w = make(writers, hs, start=False, batch_size=10)
    for i in range(10):
        assert w.submit(raw(i))
    w.start()
    w.stop()
    snap = w.stats.snapshot()
    assert snap.stored == 10 and sum(snap.dropped.values()) == 0 and balanced(snap)
    assert store.count() == 10 and hs.calls == 2  # the retry failed on the ids, once
    assert "10 exchanges whose insert lost its connection were committed" in caplog.text


def test_a_duplicate_without_a_lost_connection_is_still_unstorable(
    store: Store,
    writers: list[Writer],
) -> None:
    """Ids found stored count as stored only after a lost connection: an exchange whose id
    is already stored (here by someone else, just before) on a first attempt is refused
    alone, as before."""
    hs = HostileStore(store)
    real_add = hs.add_many

    def stored_behind_its_back(batch: Iterable[Exchange]) -> int:
        items = list(batch)
        store.add_many(items)
        return real_add(items)

    hs.add_many = stored_behind_its_back  # type: ignore[method-assign]
    w = make(writers, hs, batch_size=1)
    assert w.submit(raw(0))
    w.stop()
    assert w.stats.dropped("unstorable") == 1 and w.stats.stored == 0


HOSTILE = "/p/caf\udce9"  # a raw 0xe9 byte in the URL, surrogate-escaped


def encode_error() -> Exception:
    # what the SQLite driver raised for HOSTILE before the store took any string
    return UnicodeEncodeError("utf-8", HOSTILE, 5, 6, "surrogates not allowed")


class HostileStore:
    """A real store behind a gate: refuses, for their content, batches holding a hostile
    path (with `error()`, not a connection error), and is unavailable while `down`."""

    def __init__(self, store: Store, error: Callable[[], Exception] = encode_error) -> None:
        self.store = store
        self.error = error
        self.down = False
        self.fail_next = 0  # unavailable for this many more calls
        self.refused: set[str] = set()  # ids of the hostile exchanges it refused alone
        self.calls = 0

    def add_many(self, batch: Iterable[Exchange]) -> int:
        items = list(batch)
        self.calls += 1
        if self.down or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            raise StoreUnavailable("database is down")
        if any(ex.request.path.startswith("/p/") for ex in items):
            if len(items) == 1:
                self.refused.add(items[0].id)
            raise self.error()
        return self.store.add_many(items)

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        return self.store.existing_ids(ids)

    def close(self) -> None:
        self.store.close()


def hostile_raw(i: int) -> RawFlow:
    return raw(i)._replace(path=HOSTILE.encode("utf-8", "surrogateescape") + b"?q=1")


def stored_ids(store: Store) -> set[int]:
    return {orjson.loads(ex.request.body)["i"] for ex in store.iter_exchanges()}


@pytest.mark.parametrize(
    "error",
    [
        encode_error,
        lambda: StoreError("cannot write to the store: value too long for type varchar(16)"),
        lambda: ValueError("a bug in a driver"),
    ],
    ids=["UnicodeEncodeError", "StoreError", "ValueError"],
)
def test_one_hostile_exchange_costs_only_itself(
    store: Store,
    writers: list[Writer],
    caplog: pytest.LogCaptureFixture,
    error: Callable[[], Exception],
) -> None:
    hs = HostileStore(store, error)
    w = make(writers, hs, batch_size=200)
    with caplog.at_level(logging.WARNING, logger="amber.capture"):
        for i in range(221):  # one hostile among 220 ordinary ones
            assert w.submit(hostile_raw(i) if i == 110 else raw(i))
        assert w.flush(timeout=60)
        for i in range(221, 271):  # and the writer goes on
            assert w.submit(raw(i))
        w.stop()
    snap = w.stats.snapshot()
    assert (snap.stored, snap.dropped["unstorable"], snap.in_flight) == (270, 1, 0)
    assert sum(snap.dropped.values()) == 1 and balanced(snap)
    assert stored_ids(store) == set(range(271)) - {110}
    [hostile_id] = hs.refused
    [line] = [r.getMessage() for r in caplog.records if "unstorable" in r.getMessage()]
    assert hostile_id in line and type(error()).__name__ in line
    assert "(route /p/caf\\xe9)" in line  # the route as amber show writes it: the byte escaped
    # the error's message (it can quote the value) stays out, as does the content
    assert str(error()) not in caplog.text and SECRET not in caplog.text


def refuse_path(url: str, path: str) -> None:
    """Make the store at `url` (SQLite or PostgreSQL) refuse every row with `path`: a trigger
    aborts its insert, as a store that cannot take a value does (not a connection error)."""
    engine = sa.create_engine(normalize_url(url))
    if engine.dialect.name == "sqlite":
        ddl = [
            f"CREATE TRIGGER amber_test_refuse BEFORE INSERT ON amber_exchanges "
            f"WHEN NEW.path = '{path}' BEGIN SELECT RAISE(ABORT, 'poison'); END"
        ]
    else:
        ddl = [
            f"CREATE FUNCTION amber_test_refuse() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.path = '{path}' THEN RAISE EXCEPTION 'poison'; END IF; RETURN NEW; "
            "END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER amber_test_refuse BEFORE INSERT ON amber_exchanges "
            "FOR EACH ROW EXECUTE FUNCTION amber_test_refuse()",
        ]
    with engine.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement)
    engine.dispose()


def test_a_real_store_refusing_one_row_costs_only_that_row(
    store_url: str,
    writers: list[Writer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The same with a real refusal, on SQLite and PostgreSQL: a trigger aborts the insert of
    one path."""
    real = Store.open(store_url)
    refuse_path(store_url, "/items/7")
    w = make(writers, real, batch_size=50, owns_store=True)
    with caplog.at_level(logging.WARNING, logger="amber.capture"):
        for i in range(100):
            assert w.submit(raw(i))
        w.stop()
    snap = w.stats.snapshot()
    assert (snap.stored, snap.dropped["unstorable"]) == (99, 1) and balanced(snap)
    with Store.open(store_url, create=False) as store:
        assert stored_ids(store) == set(range(100)) - {7}
    assert "dropped as unstorable" in caplog.text and "poison" not in caplog.text


def test_the_store_going_down_while_a_batch_is_split_still_retries(
    store: Store,
    writers: list[Writer],
) -> None:
    hs = HostileStore(store)
    real_add = hs.add_many

    def then_down(batch: Iterable[Exchange]) -> int:
        if hs.calls == 1:  # after the whole batch failed: two connection failures
            hs.fail_next = 2
        return real_add(batch)

    hs.add_many = then_down  # type: ignore[method-assign]
    w = make(writers, hs, start=False, batch_size=64)
    for i in range(64):
        assert w.submit(hostile_raw(i) if i == 5 else raw(i))
    w.start()
    w.stop()
    snap = w.stats.snapshot()
    assert (snap.stored, snap.dropped["unstorable"]) == (63, 1) and balanced(snap)
    assert snap.events["store_failures"] == 2 and snap.dropped["store_unavailable"] == 0


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_store_file_deleted_or_replaced_is_reported_not_written_into(
    tmp_path: Path,
    writers: list[Writer],
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    db = tmp_path / "store.db"
    store = Store.open(f"sqlite:///{db}")
    w = make(writers, store, owns_store=True)
    for i in range(20):
        assert w.submit(raw(i))
    assert w.flush(timeout=30) and w.stats.stored == 20
    for p in tmp_path.glob("store.db*"):
        p.unlink()
    if how == "replaced":
        Store.open(f"sqlite:///{db}").close()  # another store where ours was
    with caplog.at_level(logging.ERROR, logger="amber.capture"):
        for i in range(20, 50):
            assert w.submit(raw(i))
        w.stop()
    snap = w.stats.snapshot()
    assert (snap.stored, snap.dropped["store_lost"], snap.in_flight) == (20, 30, 0)
    assert "30 store lost" in snap.summary()
    [line] = [r.getMessage() for r in caplog.records]  # said once
    assert "deleted or replaced" in line and str(db) in line
    if how == "replaced":
        with Store.open(f"sqlite:///{db}", create=False) as other:
            assert other.count() == 0  # nothing went into the file now at that path
    else:
        assert not db.exists()


@pytest.mark.parametrize("seed", range(6))
def test_the_counts_add_up_at_every_moment(
    store: Store,
    writers: list[Writer],
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    """Random mixes of ordinary, hostile and unsanitizable exchanges, filtering, sampling,
    a store going down and up and a queue too small, while another thread takes snapshots:
    every snapshot balances, and at stop every exchange is where its kind says."""
    rng = random.Random(seed)
    hs = HostileStore(store)
    p = pipeline()
    real = p.process

    def process(ex: Exchange, *, encoded: bool = True) -> Exchange:
        if ex.request.path.startswith("/unsanitizable/"):
            raise SanitizeError("cannot sanitize")
        return real(ex, encoded=encoded)

    monkeypatch.setattr(p, "process", process)
    w = make(
        writers,
        hs,
        pipeline=p,
        max_items=rng.choice([3, 40, 10_000]),
        batch_size=rng.choice([1, 7, 200]),
    )
    stats = w.stats
    snapshots: list[StatsSnapshot] = []
    done = threading.Event()

    def monitor() -> None:
        while not done.is_set():
            snapshots.append(stats.snapshot())

    watcher = threading.Thread(target=monitor)
    watcher.start()
    expected: Counter[str] = Counter()
    kinds = ["stored", "unstorable", "sanitize_failed", "filtered", "sampled_out", "down", "up"]
    for i in range(400):
        [kind] = rng.choices(kinds, weights=[60, 4, 4, 8, 8, 1, 2])
        if kind in ("down", "up"):
            hs.down = kind == "down"
        elif kind in ("filtered", "sampled_out"):  # what the addon counts, not the writer
            stats.count(kind)  # type: ignore[arg-type]
            expected[kind] += 1
        else:
            r = {
                "stored": raw(i),
                "unstorable": hostile_raw(i),
                "sanitize_failed": raw(i)._replace(path=f"/unsanitizable/{i}".encode()),
            }[kind]
            expected[kind if w.submit(r) else "refused"] += 1
    hs.down = False
    w.stop()
    done.set()
    watcher.join()
    snap = stats.snapshot()
    assert snapshots and all(balanced(s) for s in snapshots)
    assert balanced(snap) and snap.in_flight == 0
    assert snap.seen == sum(expected.values())
    assert snap.stored == expected["stored"] == store.count()
    got = {
        "unstorable": snap.dropped["unstorable"],
        "filtered": snap.filtered,
        "sanitize_failed": snap.dropped["sanitize_failed"],
        "sampled_out": snap.sampled_out,
    }
    assert got == {kind: expected[kind] for kind in got}
    assert snap.dropped["queue_full"] + snap.dropped["store_unavailable"] == expected["refused"]
