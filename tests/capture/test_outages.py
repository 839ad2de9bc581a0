"""Store outages under a running capture writer, on real stores: the disk filling up and then
freed (SQLite on a small tmpfs), PostgreSQL stopped and started again, and PostgreSQL frozen
(its backends stopped with SIGSTOP: a server that hangs rather than stops, as behind a network
partition without a reset) and thawed (a private cluster, never the shared test server).

Both writers (the thread and the process) go through one script, `through_outage`: a feeder
keeps offering exchanges while the store goes away; once the writer says the store is
unavailable, a burst fills its queue; then the store comes back and recording resumes.

What is checked: the outage is retried, never taken for poison (nothing `unstorable`); what
the full queue refuses is counted `store_unavailable` and nothing else is dropped; everything
the writer accepted is in the store once it is back, and new exchanges after it; the counts
add up in every snapshot taken meanwhile, at the end, and against the store itself. Submitting
never waits on the store: the burst is offered while the writer is stuck retrying (a `submit`
that waited would hang the test). The times printed (outage seen, recording resumed after the
store came back, the slowest submit) are the ones docs/capture.md quotes.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import itertools
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from amber._store import Store
from amber._store import normalize_url
from amber.capture._process import _WRITING
from amber.capture._process import ProcessWriter
from amber.capture._stats import DROP_REASONS
from amber.capture._stats import DropReason
from amber.capture._stats import StatsSnapshot
from amber.capture._writer import Writer
from tests.capture.conftest import free_port
from tests.capture.conftest import wait_for
from tests.capture.test_stats import balanced
from tests.capture.test_writer import KEY
from tests.capture.test_writer import SECRET
from tests.capture.test_writer import pipeline
from tests.capture.test_writer import raw
from tests.capture.test_writer import stored_ids

MAX_ITEMS = 100  # the writer's queue bound: small, so that an outage fills it quickly
DEADLINE = 60.0  # for each condition waited on: generous, a busy machine is slow

AnyWriter = Writer | ProcessWriter


@pytest.fixture(params=["thread", "process"])
def writer_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def open_writer(kind: str, url: str) -> AnyWriter:
    """A started writer of `kind` on the store at `url`, with the production retry policy."""
    if kind == "thread":
        w: AnyWriter = Writer(Store.open(url), pipeline(), max_items=MAX_ITEMS, owns_store=True)
    else:
        w = ProcessWriter(url, None, KEY, 1024 * 1024, max_items=MAX_ITEMS)
    w.start()
    return w


def store_state(w: AnyWriter) -> DropReason | None:
    """Why the writer's store takes nothing now, as the writer itself sees it."""
    return w.store_state if isinstance(w, Writer) else w._child.store_state


class Feeder:
    """Offers exchanges to a writer from a thread, paced: a new one only while fewer than
    `low` are pending, so the feeder never fills the queue itself (a full queue is the burst's
    doing, while the store is known to be down). Records which exchanges were accepted and
    which refused, a snapshot of the counters after each offer, and the slowest `submit`."""

    def __init__(self, writer: AnyWriter, low: int) -> None:
        self.writer = writer
        self.low = low
        self.accepted: list[int] = []
        self.refused: list[int] = []
        self.snapshots: list[StatsSnapshot] = []
        self.slowest = 0.0
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outage-feeder")

    def offer(self) -> None:
        """Submit one exchange (from the feeder or the test's thread) and record its fate."""
        i = next(self._numbers)
        began = time.perf_counter()
        ok = self.writer.submit(raw(i))
        took = time.perf_counter() - began
        snapshot = self.writer.stats.snapshot()
        with self._lock:
            (self.accepted if ok else self.refused).append(i)
            self.snapshots.append(snapshot)
            self.slowest = max(self.slowest, took)

    def _run(self) -> None:
        while self._running.is_set():
            if self.writer.pending < self.low:
                self.offer()
            time.sleep(0.002)  # a steady load of a few hundred exchanges a second

    def start(self) -> None:
        self._running.set()
        self._thread.start()

    def stop(self) -> None:
        self._running.clear()
        if self._thread.is_alive():
            self._thread.join()


@dataclass(frozen=True)
class Outage:
    """What one run through an outage measured and ended with."""

    seen_after: float  # seconds from the outage's start until the writer said so
    resumed_after: float  # seconds from the store's return until an exchange was stored
    slowest_submit: float  # seconds, the slowest `submit` of the whole run
    snapshot: StatsSnapshot  # the counters once the writer stopped
    feeder: Feeder

    def report(self, what: str) -> str:
        return (
            f"{what}: the writer saw the store unavailable {self.seen_after:.2f}s after "
            f"the outage began and stored again {self.resumed_after:.2f}s after the store "
            f"came back; slowest submit {self.slowest_submit * 1000:.2f} ms; "
            f"{self.snapshot.summary()}"
        )


def through_outage(w: AnyWriter, begin: Callable[[], None], end: Callable[[], None]) -> Outage:
    """Feed `w`, take the store away with `begin` mid-capture, fill the queue, bring the store
    back with `end`, and wait until new exchanges are stored again. Stops the writer (after
    bringing the store back, should the test fail during the outage)."""
    feeder = Feeder(w, low=MAX_ITEMS // 5)
    feeder.start()
    down = False
    try:
        wait_for(lambda: w.stats.stored >= 50, DEADLINE, "50 exchanges stored before")
        began = time.monotonic()
        down = True
        begin()
        wait_for(
            lambda: store_state(w) == "store_unavailable",
            DEADLINE,
            "the writer to see the store unavailable",
        )
        seen_after = time.monotonic() - began
        # Nothing leaves the queue while the store is down, so this burst fills it: at
        # least 50 of the burst are refused, each while the writer says the store is down.
        for _ in range(MAX_ITEMS + 50):
            feeder.offer()
        # a few retries (0.5 s, then 1 s apart): each fails and is counted, one is logged
        wait_for(lambda: w.stats.store_failures >= 3, DEADLINE, "three failed writes")
        down = False
        end()
        back = time.monotonic()
        stored = w.stats.stored
        wait_for(lambda: w.stats.stored > stored, DEADLINE, "recording to resume")
        resumed_after = time.monotonic() - back
        accepted = len(feeder.accepted)  # all of them will be stored: 50 more are new ones
        wait_for(
            lambda: w.stats.stored >= accepted + 50,
            DEADLINE,
            "new exchanges stored after the outage",
        )
    finally:
        feeder.stop()
        if down:
            end()
        w.stop()
    return Outage(seen_after, resumed_after, feeder.slowest, w.stats.snapshot(), feeder)


def check_accounting(outage: Outage, url: str, *, hung: bool = False) -> None:
    """Every exchange offered is stored or counted `store_unavailable`, in every snapshot and
    in the store: exactly those accepted are stored, those refused are the only drops."""
    snap, feeder = outage.snapshot, outage.feeder
    assert all(balanced(s) for s in feeder.snapshots) and balanced(snap)
    assert snap.in_flight == 0 and snap.seen == len(feeder.accepted) + len(feeder.refused)
    assert len(feeder.refused) >= 50
    expected = {r: len(feeder.refused) if r == "store_unavailable" else 0 for r in DROP_REASONS}
    assert dict(snap.dropped) == expected  # nothing unstorable, queue full or lost
    assert snap.stored == len(feeder.accepted)
    if hung:  # the frozen insert never failed: it waited, then went through
        assert snap.events["store_failures"] == 0
    else:
        assert snap.events["store_failures"] >= 3
    assert snap.events["writer_restarts"] == 0
    with Store.open(url, create=False) as store:
        assert store.count() == snap.stored  # none stored uncounted, none counted twice
        assert stored_ids(store) == set(feeder.accepted)


def check_thread_log(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    """The thread writer logs in this process: the outage once, its end once, no content.
    (The writer process logs the same lines to its own stderr.)"""
    if kind != "thread":
        return
    messages = [r.getMessage() for r in caplog.records if r.name == "amber.capture"]
    assert sum("store write failed" in m for m in messages) == 1, messages
    assert sum("store is back" in m for m in messages) == 1, messages
    assert SECRET not in caplog.text


# -- disk full, then freed -------------------------------------------------------------------


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 4 MiB tmpfs, unmounted afterwards (skipped where mounting is not permitted)."""
    mountpoint = Path(tempfile.mkdtemp(prefix="amber-disk-full-"))
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", str(mountpoint)],
            capture_output=True,
            text=True,
        )
    except OSError as e:
        done = subprocess.CompletedProcess([], 1, "", str(e))
    if done.returncode:
        mountpoint.rmdir()
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
        mountpoint.rmdir()


def fill(path: Path) -> None:
    """Write zeros to `path` until the file system is full (a short write takes its last
    bytes, the next write fails with ENOSPC)."""
    with path.open("wb", buffering=0) as fp:
        try:
            while True:
                fp.write(bytes(64 * 1024))
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise


@pytest.mark.slow
def test_a_full_disk_is_the_store_unavailable_and_recording_resumes_once_freed(
    writer_kind: str,
    small_disk: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SQLite on a tmpfs filled by a ballast file mid-capture: "database or disk is full" is
    the store being unavailable (retried, the queue absorbing, then `store_unavailable`), not
    a poison exchange; removing the ballast lets the retry succeed, and the store is intact."""
    caplog.set_level(logging.INFO, logger="amber.capture")
    db = small_disk / "store.db"
    url = f"sqlite:///{db}"
    ballast = small_disk / "ballast"
    outage = through_outage(
        open_writer(writer_kind, url),
        lambda: fill(ballast),
        lambda: ballast.unlink(missing_ok=True),
    )
    print(outage.report(f"disk full, {writer_kind} writer"))
    check_accounting(outage, url)
    check_thread_log(writer_kind, caplog)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- PostgreSQL stopped, then started again --------------------------------------------------


class PrivateCluster:
    """A PostgreSQL cluster of the test's own, on a free port of 127.0.0.1, that the test
    stops and starts (the shared server of AMBER_TEST_PG_URL is never touched). Run as the
    `postgres` user when the tests run as root, as PostgreSQL refuses root."""

    def __init__(self, bindir: str, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [os.path.join(self.bindir, tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, f"{tool} failed: {done.stderr or done.stdout}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        """Start the server and wait (pg_ctl -w, up to 120 s) until it accepts connections;
        nothing to do when it runs."""
        if self.running():
            return
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "120",
            "-o",
            options,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: sessions are ended, transactions rolled back)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def postgres_bindir() -> str | None:
    found = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(os.path.join(d, "postgres"), os.X_OK)
    ]
    return max(found, key=lambda d: int(d.split("/")[-2]), default=None)


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[PrivateCluster]:
    bindir = postgres_bindir()
    if bindir is None:
        reason = (
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (.ci/pg-up installs them)"
        )
        if os.environ.get("AMBER_REQUIRE_PG"):
            pytest.fail(f"AMBER_REQUIRE_PG is set but there are {reason}")
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="amber-outage-pg-"))  # not under tmp_path: 0700
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivateCluster(bindir, root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_database(private_cluster: PrivateCluster) -> str:
    """A new database on the private cluster, running (a failed test may have left it down)."""
    private_cluster.start()
    name = f"amber_outage_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(normalize_url(private_cluster.url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return private_cluster.url.rsplit("/", 1)[0] + f"/{name}"


def stop_mid_insert(cluster: PrivateCluster, url: str) -> None:
    """Stop the server while the writer is inside an insert: another session locks the
    table, the writer's next insert waits on the lock, and `pg_ctl stop -m fast` ends both
    sessions (the writer's insert fails with AdminShutdown, rolled back)."""
    engine = sa.create_engine(normalize_url(url))
    try:
        locker = engine.connect()
        locker.execute(sa.text("LOCK TABLE amber_exchanges IN ACCESS EXCLUSIVE MODE"))

        def insert_waiting() -> bool:
            with engine.connect() as conn:
                return bool(
                    conn.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query LIKE 'INSERT INTO amber_exchanges%'"
                        )
                    ).scalar()
                )

        wait_for(insert_waiting, DEADLINE, "an insert waiting on the lock")
        cluster.stop()
        locker.invalidate()  # its server is gone
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_stopped_and_restarted_mid_capture_is_a_counted_gap(
    writer_kind: str,
    private_cluster: PrivateCluster,
    private_database: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`pg_ctl stop -m fast` while the writer is inside an insert (which the server cuts
    off), exchanges offered all along, then the server started again: the cut insert and the
    queue are retried and stored, the gap is counted `store_unavailable`, and nothing else is
    lost."""
    caplog.set_level(logging.INFO, logger="amber.capture")
    outage = through_outage(
        open_writer(writer_kind, private_database),
        lambda: stop_mid_insert(private_cluster, private_database),
        private_cluster.start,
    )
    print(outage.report(f"PostgreSQL restarted, {writer_kind} writer"))
    check_accounting(outage, private_database)
    check_thread_log(writer_kind, caplog)


# -- PostgreSQL frozen, then thawed ----------------------------------------------------------


def client_backends(url: str) -> list[int]:
    """The server processes of the sessions open on the database of `url` (the writer's),
    as seen from a session on another database."""
    name = url.rsplit("/", 1)[1]
    engine = sa.create_engine(normalize_url(url.rsplit("/", 1)[0] + "/postgres"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                    "AND datname = :name"
                ),
                {"name": name},
            )
            return [int(r[0]) for r in rows]
    finally:
        engine.dispose()


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def inserting(w: AnyWriter) -> bool:
    """Whether the writer is inside an insert now."""
    if isinstance(w, Writer):
        return w._write_began is not None
    return bool(w._child.counters[_WRITING])


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_frozen_mid_capture_is_reported_and_counted_store_unavailable(
    writer_kind: str,
    private_cluster: PrivateCluster,
    private_database: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The writer's server backend stopped with SIGSTOP mid-capture: the insert neither
    returns nor fails (the kernel still acknowledges the connection). After the production
    bound (10 s) the writer says so once and counts the store unavailable, so the full
    queue's refusals are `store_unavailable`, never `queue_full` (those made during the
    hung insert before it was known are recounted); after SIGCONT the insert goes through
    and recording resumes, with everything accepted stored."""
    caplog.set_level(logging.INFO, logger="amber.capture")
    w = open_writer(writer_kind, private_database)
    feeder = Feeder(w, low=MAX_ITEMS // 5)
    feeder.start()
    frozen: list[int] = []
    try:
        wait_for(lambda: w.stats.stored >= 50, DEADLINE, "50 exchanges stored before")
        frozen = client_backends(private_database)
        assert frozen
        signal_all(frozen, signal.SIGSTOP)
        began = time.monotonic()
        wait_for(lambda: inserting(w), DEADLINE, "an insert waiting on the frozen server")
        # the queue fills before anyone can tell the insert hangs: counted queue_full, then
        # recounted store_unavailable once the hang is known
        for _ in range(MAX_ITEMS + 50):
            feeder.offer()
        wait_for(
            lambda: store_state(w) == "store_unavailable",
            DEADLINE,
            "the writer to report the hung store",
        )
        seen_after = time.monotonic() - began
        wait_for(
            lambda: w.stats.dropped("queue_full") == 0,
            DEADLINE,
            "the full queue's refusals to be recounted",
        )
        for _ in range(10):  # refused as store_unavailable at once
            feeder.offer()
        signal_all(frozen, signal.SIGCONT)
        frozen = []
        back = time.monotonic()
        stored = w.stats.stored
        wait_for(lambda: w.stats.stored > stored, DEADLINE, "recording to resume")
        resumed_after = time.monotonic() - back
        wait_for(lambda: store_state(w) is None, DEADLINE, "the store to be back")
        accepted = len(feeder.accepted)
        wait_for(
            lambda: w.stats.stored >= accepted + 50, DEADLINE, "new exchanges stored after the thaw"
        )
    finally:
        signal_all(frozen, signal.SIGCONT)
        feeder.stop()
        w.stop()
    outage = Outage(seen_after, resumed_after, feeder.slowest, w.stats.snapshot(), feeder)
    print(outage.report(f"PostgreSQL frozen, {writer_kind} writer"))
    check_accounting(outage, private_database, hung=True)
    if writer_kind == "thread":
        messages = [r.getMessage() for r in caplog.records if r.name == "amber.capture"]
        assert (
            messages.count(
                "store write has not returned for 10 s: counting new drops as store_unavailable"
            )
            == 1
        ), messages
        assert sum("store is back" in m for m in messages) == 1, messages
        assert not any("store write failed" in m for m in messages), messages
        assert SECRET not in caplog.text


@pytest.mark.postgres
def test_postgresql_store_connections_give_up_on_a_silent_peer(pg_database: str) -> None:
    """A partition without a reset cannot be made here without root's packet filter, so
    this checks what makes libpq fail it (and the writer retry) instead of waiting forever:
    the store's connections carry TCP keepalives (probes after 10 s of silence) and
    TCP_USER_TIMEOUT (30 s), read back from the kernel on the connection's socket."""
    with Store.open(pg_database) as store, store.engine.connect() as conn:
        fd = conn.connection.dbapi_connection.pgconn.socket  # type: ignore[union-attr]
        sock = socket.socket(fileno=os.dup(fd))
        try:
            got = (
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            )
        finally:
            sock.close()
    assert got == (1, 10, 30_000)
