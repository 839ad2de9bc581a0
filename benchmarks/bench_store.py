"""Store benchmark: ingest rate, lookup by request id, filtered `ls`, against raw sqlite3.

    .venv/bin/python benchmarks/bench_store.py [--ingest 100000] [--total 1000000]

Targets (issue 2): ingest of ~2 KB exchanges >= 20,000/s; lookup by request id in a
1,000,000-exchange store <= 5 ms; `ls` by route, status and time window <= 100 ms.
The baseline, measured in the same run, is plain `sqlite3.executemany` of the same rows
into a table with the same indexes: the ratio says what amber's layer costs.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber._routes import template_path
from amber._store import ExchangeQuery
from amber._store import Store

T0 = 1_760_000_000.0
ROUTES = ["/users/{}/orders", "/orders/{}", "/products/{}/reviews", "/cart/{}", "/search"]


def body(i: int) -> bytes:
    items = ",".join(
        f'{{"sku": "SKU-{(i * 7 + k) % 99991:05d}", "qty": {k % 5 + 1}, "price": {k * 3.5}}}'
        for k in range(22)
    )
    return f'{{"order": {i}, "customer": "c{i % 5000}", "items": [{items}]}}'.encode()[:2000]


def make(i: int) -> Exchange:
    t = T0 + i * 0.05
    path = ROUTES[i % len(ROUTES)].format(i % 10007)
    status = 500 if i % 97 == 0 else (404 if i % 31 == 0 else 200)
    return Exchange(
        id=new_id(t),
        request=Request(
            "GET",
            "http",
            "api.internal",
            8000,
            path,
            "page=2",
            headers=(
                ("host", "api.example.com"),
                ("x-request-id", f"req-{i:08d}"),
                ("accept", "application/json"),
                ("user-agent", "bench/1.0"),
            ),
            timestamp_start=t,
            timestamp_end=t + 0.0005,
        ),
        response=Response(
            status,
            "OK",
            headers=(("content-type", "application/json"), ("content-length", "2000")),
            body=body(i),
            timestamp_start=t + 0.01,
            timestamp_end=t + 0.011,
        ),
        request_id=f"req-{i:08d}",
        route=template_path(path),
    )


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_raw_sqlite(path: Path, rows: list[tuple[object, ...]]) -> float:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    cols = ", ".join(f"c{i}" for i in range(len(rows[0])))
    con.execute(f"CREATE TABLE t (seq INTEGER PRIMARY KEY, {cols})")
    for name, idx in [
        ("id", "c0"),
        ("rid", "c1"),
        ("ts", "c2"),
        ("route", "c9, c2"),
        ("status", "c10, c2"),
        ("method", "c3, c2"),
    ]:
        con.execute(f"CREATE INDEX ix_{name} ON t ({idx})")
    marks = ", ".join("?" * len(rows[0]))
    start = time.perf_counter()
    for i in range(0, len(rows), 1000):
        con.executemany(f"INSERT INTO t ({cols}) VALUES ({marks})", rows[i : i + 1000])
        con.commit()
    elapsed = time.perf_counter() - start
    con.close()
    return len(rows) / elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ingest", type=int, default=100_000)
    ap.add_argument("--total", type=int, default=1_000_000)
    ap.add_argument("--dir", default=None, help="where to put the store (default: a temp dir)")
    a = ap.parse_args()
    tmp = Path(a.dir or tempfile.mkdtemp(prefix="amber-bench-"))
    db = tmp / "store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)

    print(f"store benchmark in {tmp} (python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    exchanges = [make(i) for i in range(a.ingest)]
    store = Store.open(f"sqlite:///{db}")
    raw_rows = [store._row(ex) for ex in exchanges]
    raw_rate = bench_raw_sqlite(tmp / "raw.db", raw_rows)
    del raw_rows

    start = time.perf_counter()
    for i in range(0, len(exchanges), 1000):
        store.add_many(exchanges[i : i + 1000])
    ingest_rate = a.ingest / (time.perf_counter() - start)
    del exchanges
    print(
        f"ingest  {a.ingest:>9,} x ~2 KB   amber {ingest_rate:>9,.0f}/s   raw sqlite3 "
        f"{raw_rate:>9,.0f}/s   ratio {ingest_rate / raw_rate:.2f}   (target >= 20,000/s)"
    )

    # fill to the total, in chunks built on the fly so memory stays flat
    n = a.ingest
    fill_start = time.perf_counter()
    while n < a.total:
        chunk = [make(i) for i in range(n, min(n + 5000, a.total))]
        store.add_many(chunk)
        n += len(chunk)
    if a.total > a.ingest:
        print(
            f"filled to {n:,} exchanges in {time.perf_counter() - fill_start:.1f}s "
            f"(peak RSS {rss_mb():.0f} MB)"
        )
    store.close()

    store = Store.open(f"sqlite:///{db}")
    rng = random.Random(7)
    store.lookup("req-00000000")  # open the pool
    times = []
    for _ in range(500):
        key = f"req-{rng.randrange(n):08d}"
        t = time.perf_counter()
        found = store.lookup(key)
        times.append((time.perf_counter() - t) * 1000)
        assert found and found[0].request_id == key
    times.sort()
    print(
        f"lookup by request id in {n:,}: median {statistics.median(times):.2f} ms, "
        f"p99 {times[int(len(times) * 0.99)]:.2f} ms   (target <= 5 ms)"
    )

    con = sqlite3.connect(db)
    raw_times = []
    for _ in range(500):
        key = f"req-{rng.randrange(n):08d}"
        t = time.perf_counter()
        con.execute("SELECT * FROM amber_exchanges WHERE request_id = ?", (key,)).fetchall()
        raw_times.append((time.perf_counter() - t) * 1000)
    print(
        f"  raw sqlite3 lookup median {statistics.median(raw_times):.2f} ms   ratio "
        f"{statistics.median(raw_times) / statistics.median(times):.2f}"
    )

    span = n * 0.05
    ls_times = []
    for k in range(50):
        since = T0 + rng.random() * span * 0.8
        q = ExchangeQuery(
            routes=[
                ROUTES[k % len(ROUTES)].replace("{}", "{id}") if k % len(ROUTES) != 4 else "/search"
            ],
            status_classes=(5,),
            since=since,
            until=since + span * 0.2,
            limit=50,
            newest_first=True,
        )
        t = time.perf_counter()
        rows = store.summaries(q)
        ls_times.append((time.perf_counter() - t) * 1000)
        assert all(r.status == 500 for r in rows)
    ls_times.sort()
    print(
        f"ls --route R --status 5xx --since/--until (20% window) --limit 50 over {n:,}: "
        f"median {statistics.median(ls_times):.1f} ms, max {ls_times[-1]:.1f} ms "
        f"(target <= 100 ms)"
    )
    t = time.perf_counter()
    count = sum(1 for _ in store.iter_summaries(ExchangeQuery(status_classes=(5,))))
    print(
        f"stream all 5xx summaries ({count:,}): {(time.perf_counter() - t) * 1000:.0f} ms; "
        f"peak RSS {rss_mb():.0f} MB"
    )
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
