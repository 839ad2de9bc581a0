"""Test-generation benchmark: writing 1,000 tests, and running a generated suite in-process.

    .venv/bin/python benchmarks/bench_testgen.py [--tests 1000] [--suite 200]

Targets (issue 6): generating 1,000 tests in <= 5 s; the generated suite for the example
runs in-process at >= 100 tests/s. Baselines in the same run: writing the same bytes with
plain `Path.write_text` (generation overhead), and pytest running the same number of empty
test files the same way (pytest's own floor, start-up and collection included).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber.replay._testgen import GenSpec
from amber.replay._testgen import write_test

ROOT = Path(__file__).resolve().parent.parent


def exchanges(n: int) -> list[Exchange]:
    out = []
    for i in range(n):
        status = 500 if i % 10 == 0 else 200
        out.append(Exchange(
            new_id(1_760_000_000 + i),
            Request("GET", "http", "shop", 80, f"/api/customers/{i % 50 + 1}/orders",
                    headers=(("Accept", "application/json"), ("User-Agent", "bench"))),
            Response(status, headers=(("Content-Type", "application/json"),),
                     body=b'{"customer": {"id": 1}, "orders": []}'),
            request_id=f"req-{i}", route="/api/customers/{customer_id}/orders",
        ))
    return out


def pytest_rate(test_dir: Path, env: dict[str, str], n: int) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_dir)],
        cwd=test_dir, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - start
    m = re.search(r"(\d+) (passed|failed)", result.stdout)
    if not m:
        print(result.stdout[-2000:], result.stderr[-2000:])
        raise SystemExit("the generated suite did not run")
    return n / elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tests", type=int, default=1000)
    ap.add_argument("--suite", type=int, default=200)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="amber-bench-testgen-"))
    try:
        exs = exchanges(a.tests)
        start = time.perf_counter()
        paths = [write_test(GenSpec(ex, "amber gen-test (benchmark)",
                                    app="examples.shop.app:create_app",
                                    db_env="SHOP_DATABASE_URL"), tmp / "gen").path
                 for ex in exs]
        gen = time.perf_counter() - start
        texts = [p.read_text() for p in paths]
        start = time.perf_counter()
        for i, t in enumerate(texts):
            (tmp / "plain").mkdir(exist_ok=True)
            (tmp / "plain" / f"t{i}.py").write_text(t)
        plain = time.perf_counter() - start
        print(f"generate {a.tests:,} tests: {gen:.2f} s ({a.tests / gen:,.0f}/s; target "
              f"<= 5 s); plain file writes of the same bytes: {plain:.2f} s "
              f"(ratio {plain / gen:.2f}); peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

        # the example's generated suite, in-process: `amber demo`'s test, replicated
        demo = tmp / "demo"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "amber", "demo", "--examples",
                        str(ROOT / "examples"), "--out", str(demo)], cwd=tmp, env=env,
                       check=True, capture_output=True, timeout=300)
        tests = demo / "tests"
        source = next(tests.glob("test_*.py"))
        for i in range(a.suite - 1):
            (tests / f"{source.stem}_{i}.py").write_text(
                source.read_text().replace(f"def {source.stem}(", f"def {source.stem}_{i}("))
        suite_env = {**env, "SHOP_FIXED": "1"}
        shutil.copy(ROOT / "examples" / "shop" / "amber.yaml", tests / "amber.yaml")
        rate = pytest_rate(tests, suite_env, a.suite)
        floor = tmp / "floor"
        floor.mkdir()
        for i in range(a.suite):
            (floor / f"test_empty_{i}.py").write_text(f"def test_empty_{i}():\n    pass\n")
        floor_rate = pytest_rate(floor, env, a.suite)
        print(f"generated suite of the example, in-process (fixture restore, app, request, "
              f"assertion per test): {a.suite} tests at {rate:,.0f} tests/s (target >= 100/s, "
              f"pytest start-up included); empty tests the same way: {floor_rate:,.0f} tests/s "
              f"(ratio {rate / floor_rate:.2f})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
