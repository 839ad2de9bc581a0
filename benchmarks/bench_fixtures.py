"""Benchmark: fixture closure on a 1M-row PostgreSQL database, and loading 10k rows into SQLite.

    AMBER_TEST_PG_URL=postgresql://postgres@127.0.0.1:55432/postgres \\
        .venv/bin/python benchmarks/bench_fixtures.py

Builds (once; reused through a marker table) the database `amber_bench_fixtures`: categories
1k, users 200k, products 50k, orders 300k, order_items 500k rows (1.05M) with generate_series.
Targets: closure of 1,000 seed rows <= 2 s; loading a 10,000-row fixture into SQLite <= 1 s.
Baselines in the same run: a plain `SELECT * ... WHERE id IN (...)` of the seed rows, and a
plain sqlite3 executemany of the same 10,000 rows.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time

import sqlalchemy as sa

from amber._store import normalize_url
from amber.fixtures import Fixture
from amber.fixtures import Seed
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
        if not c.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s",
                                 (DB,)).first():
            c.exec_driver_sql(f"CREATE DATABASE {DB}")
    engine.dispose()
    url = normalize_url(admin).rsplit("/", 1)[0] + "/" + DB
    e = sa.create_engine(url)
    with e.begin() as c:
        if not c.exec_driver_sql("SELECT 1 FROM pg_tables WHERE tablename = "
                                 "'amber_bench_marker'").first():
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
        total = sum(c.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() or 0 for t in
                    ("categories", "users", "products", "orders", "order_items"))
        t0 = time.perf_counter()
        c.execute(sa.text("SELECT * FROM order_items WHERE id = ANY(:ids)"),
                  {"ids": seeds_ids}).fetchall()
        base = time.perf_counter() - t0
    e.dispose()
    extract(url, [Seed("order_items", {"id": seeds_ids[:10]})], key=KEY)  # warm up
    t0 = time.perf_counter()
    fx = extract(url, [Seed("order_items", {"id": seeds_ids})], key=KEY)
    took = time.perf_counter() - t0
    rows = sum(fx.row_counts.values())
    print(f"closure: {len(seeds_ids)} seeds -> {rows} rows {fx.row_counts} from {total:,} "
          f"source rows in {took:.3f} s (target <= 2 s); plain IN select {base:.3f} s; "
          f"ratio {took / base:.1f}x")


def bench_load() -> None:
    rows = "\n".join(f"  - {{id: {i}, name: name {i}, email: u{i}@example.org, qty: {i % 7}, "
                     f"note: null}}" for i in range(1, 10_001))
    text = ("version: 1\ntables:\n- name: t\n  columns:\n"
            "  - {name: id, type: integer, nullable: false}\n  - {name: name, type: text}\n"
            "  - {name: email, type: text}\n  - {name: qty, type: integer}\n"
            "  - {name: note, type: text}\n  primary_key: [id]\n  rows:\n" + rows)
    t0 = time.perf_counter()
    fx = Fixture.loads(text)
    parse = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        h = load(fx, f"sqlite:///{os.path.join(d, 'a.db')}")
        took = time.perf_counter() - t0
        h.cleanup()
        conn = sqlite3.connect(os.path.join(d, "b.db"))
        t0 = time.perf_counter()
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, email TEXT, qty INT, "
                     "note TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                         [tuple(r.values()) for r in fx.rows["t"]])
        conn.commit()
        base = time.perf_counter() - t0
        conn.close()
    print(f"load: 10,000 rows into SQLite in {took:.3f} s (target <= 1 s; YAML parse "
          f"{parse:.3f} s more); plain sqlite3 executemany {base:.3f} s; "
          f"ratio {took / base:.1f}x")


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
