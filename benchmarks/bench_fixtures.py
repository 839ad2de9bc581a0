"""Benchmark: fixture closure on a 1M-row PostgreSQL database, and loading 10k rows into SQLite.

    AMBER_TEST_PG_URL=postgresql://postgres@127.0.0.1:55432/postgres \\
        .venv/bin/python benchmarks/bench_fixtures.py

Builds (once; reused through a marker table) the database `amber_bench_fixtures`: categories
1k, users 200k, products 50k, orders 300k, order_items 500k rows (1.05M) with generate_series.
Targets: closure of 1,000 seed rows <= 2 s; loading a 10,000-row fixture into SQLite <= 1 s,
timed on the whole path from the file amber writes (read, parse, validate, insert; median of
5 runs), with its parse and insert parts. Baselines in the same run: a plain `SELECT * ...
WHERE id IN (...)` of the seed rows, and a plain sqlite3 executemany of the same 10,000 rows.
Also printed: the process's peak RSS after the load runs, and the parse time of the same rows
written as PyYAML-only rows (the format before one-line JSON rows).
"""

from __future__ import annotations

import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time

import sqlalchemy as sa
import yaml

from amber._store import normalize_url
from amber.fixtures import ColumnSpec
from amber.fixtures import Fixture
from amber.fixtures import Seed
from amber.fixtures import TableSpec
from amber.fixtures import extract
from amber.fixtures import load

DB = "amber_bench_fixtures"
KEY = b"bench-key-0123456789abcdef"
SCHEMA = """
CREATE TABLE categories (id int PRIMARY KEY, name text, parent_id int REFERENCES categories(id));
CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, name text, phone text,
  created_at timestamp);
CREATE TABLE products (id int PRIMARY KEY, category_id int NOT NULL REFERENCES categories(id),
  title text, price numeric(10,2));
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users(id),
  status text, created_at timestamp);
CREATE TABLE order_items (id int PRIMARY KEY, order_id int NOT NULL REFERENCES orders(id),
  product_id int NOT NULL REFERENCES products(id), qty int);
INSERT INTO categories SELECT g, 'cat ' || g, CASE WHEN g > 10 THEN mod(g, 10) + 1 END
  FROM generate_series(1, 1000) g;
INSERT INTO users SELECT g, 'user' || g || '@corp.com', 'User ' || g, '+1 415 555 ' || g,
  now() FROM generate_series(1, 200000) g;
INSERT INTO products SELECT g, mod(g, 1000) + 1, 'product ' || g, (mod(g, 997)) / 10.0
  FROM generate_series(1, 50000) g;
INSERT INTO orders SELECT g, mod(g, 200000) + 1, 'paid', now() FROM generate_series(1, 300000) g;
INSERT INTO order_items SELECT g, mod(g, 300000) + 1, mod(g, 50000) + 1, mod(g, 5) + 1
  FROM generate_series(1, 500000) g;
ANALYZE;
CREATE TABLE amber_bench_marker (built timestamp);
INSERT INTO amber_bench_marker VALUES (now());
"""


def ensure_db(admin: str) -> str:
    engine = sa.create_engine(normalize_url(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        if not c.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).first():
            c.exec_driver_sql(f"CREATE DATABASE {DB}")
    engine.dispose()
    url = normalize_url(admin).rsplit("/", 1)[0] + "/" + DB
    e = sa.create_engine(url)
    with e.begin() as c:
        if not c.exec_driver_sql(
            "SELECT 1 FROM pg_tables WHERE tablename = 'amber_bench_marker'"
        ).first():
            t0 = time.perf_counter()
            c.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            c.exec_driver_sql(SCHEMA)
            print(f"built {DB} in {time.perf_counter() - t0:.1f} s")
    e.dispose()
    return url


def bench_closure(url: str) -> None:
    seeds_ids = list(range(1000, 501000, 500))[:1000]
    e = sa.create_engine(url)
    with e.connect() as c:
        total = sum(
            c.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() or 0
            for t in ("categories", "users", "products", "orders", "order_items")
        )
        t0 = time.perf_counter()
        c.execute(
            sa.text("SELECT * FROM order_items WHERE id = ANY(:ids)"), {"ids": seeds_ids}
        ).fetchall()
        base = time.perf_counter() - t0
    e.dispose()
    extract(url, [Seed("order_items", {"id": seeds_ids[:10]})], key=KEY)  # warm up
    t0 = time.perf_counter()
    fx = extract(url, [Seed("order_items", {"id": seeds_ids})], key=KEY)
    took = time.perf_counter() - t0
    rows = sum(fx.row_counts.values())
    print(
        f"closure: {len(seeds_ids)} seeds -> {rows} rows {fx.row_counts} from {total:,} "
        f"source rows in {took:.3f} s (target <= 2 s); plain IN select {base:.3f} s; "
        f"ratio {took / base:.1f}x"
    )


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def bench_load(runs: int = 5) -> None:
    spec = TableSpec(
        "t",
        [
            ColumnSpec("id", "integer", False),
            ColumnSpec("name", "text"),
            ColumnSpec("email", "text"),
            ColumnSpec("qty", "integer"),
            ColumnSpec("note", "text"),
            ColumnSpec("created_at", "datetime"),
        ],
        ("id",),
    )
    rows = [
        {
            "id": i,
            "name": f"name {i}",
            "email": f"u{i}@example.org",
            "qty": i % 7,
            "note": None,
            "created_at": f"2024-01-{i % 28 + 1:02d}T03:04:{i % 60:02d}",
        }
        for i in range(1, 10_001)
    ]
    fx = Fixture([spec], {"t": rows})
    rss_before = _peak_rss_mb()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "fixture.yaml")
        fx.write(path)
        size = os.path.getsize(path)
        full, parse, insert, base = [], [], [], []
        for n in range(runs):
            t0 = time.perf_counter()  # the whole path: file text -> rows in SQLite
            h = load(path, f"sqlite:///{os.path.join(d, f'full{n}.db')}")
            full.append(time.perf_counter() - t0)
            h.cleanup()
            t0 = time.perf_counter()
            parsed = Fixture.read(path)
            parse.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            h = load(parsed, f"sqlite:///{os.path.join(d, f'insert{n}.db')}")
            insert.append(time.perf_counter() - t0)
            h.cleanup()
            conn = sqlite3.connect(os.path.join(d, f"plain{n}.db"))
            t0 = time.perf_counter()
            conn.execute(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, email TEXT, "
                "qty INT, note TEXT, created_at TEXT)"
            )
            conn.executemany(
                "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
                [tuple(r.values()) for r in parsed.rows["t"]],
            )
            conn.commit()
            base.append(time.perf_counter() - t0)
            conn.close()
        rss = _peak_rss_mb()
        # the same rows as PyYAML-only rows (files written before one-line JSON rows)
        old = yaml.dump(
            fx.to_data(),
            Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=None,
            width=100,
        )
        t0 = time.perf_counter()
        Fixture.loads(old)
        old_parse = time.perf_counter() - t0
    took, b = _median(full), _median(base)
    verdict = "met" if took <= 1.0 else "MISSED"
    print(
        f"load: 10,000-row fixture file ({size / 1e6:.1f} MB) into SQLite, whole path "
        f"(read + parse + validate + insert) {took:.3f} s, target <= 1 s: {verdict} "
        f"(median of {runs}); of which parse + validate {_median(parse):.3f} s, "
        f"insert {_median(insert):.3f} s; plain sqlite3 executemany {b:.3f} s; ratio "
        f"{took / b:.1f}x (insert alone {_median(insert) / b:.1f}x); peak RSS "
        f"{rss:.0f} MB ({rss_before:.0f} MB before); the same rows as YAML-only rows "
        f"parse in {old_parse:.3f} s"
    )


def main() -> int:
    admin = os.environ.get("AMBER_TEST_PG_URL")
    bench_load()
    if not admin:
        print("closure: skipped (set AMBER_TEST_PG_URL)")
        return 0
    bench_closure(ensure_db(admin))
    return 0


if __name__ == "__main__":
    sys.exit(main())
