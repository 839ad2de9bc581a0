"""Test-generation benchmark: writing 1,000 tests, and running a generated suite in-process.

    .venv/bin/python benchmarks/bench_testgen.py [--tests 1000] [--suite 200] [--large 1000]
                                                 [--repeat 3] [--demo DIR]

Targets (issue 6): generating 1,000 tests in <= 5 s; the generated suite for the example
runs in-process at >= 100 tests/s.

The suite is `amber demo`'s regression test (GET /api/customers/37/orders against the shop,
Flask + SQLAlchemy on SQLite, signed by the example's auth hook, fixture restored before each
test), replicated into N test files, run by `python -m pytest` in a fresh process with the
fixed build (so every test passes). Test modules are compiled cold on every run
(PYTHONDONTWRITEBYTECODE=1, `-p no:cacheprovider`), as for a freshly generated suite.
N and 2N run back to back `--repeat` times; medians are reported (the machine may be
shared: the range over the runs is printed too):

- **with start-up**: N / wall-clock time of the whole pytest process (interpreter and pytest
  start-up, plugin loading, collection, tests): what one `pytest` invocation of N tests gives;
- **per test (marginal)**: N / (wall(2N) - wall(N)): the cost each additional test adds,
  its own module's collection included, start-up excluded. **This is the number compared
  with the 100 tests/s target**: start-up is a fixed cost per pytest run, independent of
  amber (the empty-test baseline below pays it too), and amortizes as the suite grows;
- **in the run loop**: the same difference for the time from the first test's setup to the
  last test's teardown, timed by a tiny plugin inside the pytest process: the tests alone,
  collection and the first test's one-time imports (the app, its framework) excluded;
- peak RSS of the pytest process.

Baselines in the same run: writing the same bytes with plain `Path.write_text` (generation
overhead), and pytest running as many empty test files the same way (pytest's own floor).
Also reported: the suite at `--large` tests (start-up amortized), and a variant where every
test has its own fixture file, as a real generated suite has (one fixture per captured
exchange): there each test also pays for building its fixture's template database once.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber.testing._generate import GenSpec
from amber.testing._generate import write_test

ROOT = Path(__file__).resolve().parent.parent

# loaded into the measured pytest process with `-p amber_bench_clock`
CLOCK_PLUGIN = """
import json, os, resource, time
_t = []
def pytest_runtest_logstart(nodeid, location):
    if not _t:
        _t.append(time.perf_counter())
def pytest_runtest_logfinish(nodeid, location):
    del _t[1:]
    _t.append(time.perf_counter())
def pytest_unconfigure(config):
    with open(os.environ["AMBER_BENCH_CLOCK"], "w") as fp:
        json.dump({"loop": _t[-1] - _t[0] if len(_t) == 2 else 0.0,
                   "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, fp)
"""


def exchanges(n: int) -> list[Exchange]:
    out = []
    for i in range(n):
        status = 500 if i % 10 == 0 else 200
        out.append(
            Exchange(
                new_id(1_760_000_000 + i),
                Request(
                    "GET",
                    "http",
                    "shop",
                    80,
                    f"/api/customers/{i % 50 + 1}/orders",
                    headers=(("Accept", "application/json"), ("User-Agent", "bench")),
                ),
                Response(
                    status,
                    headers=(("Content-Type", "application/json"),),
                    body=b'{"customer": {"id": 1}, "orders": []}',
                ),
                request_id=f"req-{i}",
                route="/api/customers/{customer_id}/orders",
            )
        )
    return out


@dataclass
class Run:
    wall: float
    loop: float
    rss_mb: float


def run_pytest(test_dir: Path, env: dict[str, str], n: int, clock: Path) -> Run:
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # amber's dev environment has Hypothesis, whose pytest plugin costs ~1.3 s at
            # start-up; an application's environment does not: measure what users run
            *(["-p", "no:hypothesispytest"] if importlib.util.find_spec("hypothesis") else []),
            "-p",
            "amber_bench_clock",
            str(test_dir),
        ],
        cwd=test_dir,
        env={**env, "AMBER_BENCH_CLOCK": str(clock)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    wall = time.perf_counter() - start
    m = re.search(r"(\d+) passed", result.stdout)
    if result.returncode != 0 or not m or int(m.group(1)) != n:
        print(result.stdout[-3000:], result.stderr[-2000:])
        raise SystemExit(f"the suite in {test_dir} did not pass ({n} tests expected)")
    data = json.loads(clock.read_text())
    return Run(wall, data["loop"], data["rss_mb"])


@dataclass
class Measured:
    n: int
    runs_n: list[Run]  # runs_n[i] and runs_2n[i] ran back to back
    runs_2n: list[Run]

    @property
    def with_startup(self) -> float:
        return self.n / statistics.median(r.wall for r in self.runs_n)

    def _marginal(self, what: str) -> list[float]:
        extra = [
            getattr(b, what) - getattr(a, what)
            for a, b in zip(self.runs_n, self.runs_2n, strict=True)
        ]
        return sorted(self.n / x if x > 0 else float("inf") for x in extra)

    @property
    def marginal(self) -> float:
        """Tests/s that N more tests add to a pytest run (median of the paired runs)."""
        return statistics.median(self._marginal("wall"))

    @property
    def loop_marginal(self) -> float:
        return statistics.median(self._marginal("loop"))

    @property
    def rss(self) -> float:
        return max(r.rss_mb for r in self.runs_n + self.runs_2n)

    def line(self, what: str) -> str:
        spread = self._marginal("wall")
        return (
            f"{what}:\n  {self.with_startup:,.0f} tests/s with start-up ({self.n} tests); "
            f"per test (marginal, {self.n} -> {2 * self.n}) {self.marginal:,.0f} tests/s "
            f"(runs: {spread[0]:,.0f}-{spread[-1]:,.0f}); in the run loop (marginal, "
            f"collection excluded) {self.loop_marginal:,.0f} tests/s; peak RSS "
            f"{self.rss:.0f} MB"
        )


Maker = Callable[[Path, int], Path]


def measure(make: Maker, n: int, env: dict[str, str], tmp: Path, repeat: int) -> Measured:
    small, big = make(tmp / f"n{n}", n), make(tmp / f"n{2 * n}", 2 * n)
    runs_n, runs_2n = [], []
    for _ in range(repeat):  # interleaved, so a busy moment hurts both sizes alike
        runs_n.append(run_pytest(small, env, n, tmp / "clock.json"))
        runs_2n.append(run_pytest(big, env, 2 * n, tmp / "clock.json"))
    return Measured(n, runs_n, runs_2n)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tests", type=int, default=1000, help="tests generated (default 1000)")
    ap.add_argument("--suite", type=int, default=200, help="N of the suite runs (default 200)")
    ap.add_argument(
        "--large",
        type=int,
        default=1000,
        help="suite size of the amortized run (default 1000; 0: skip)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per size (default 3)")
    ap.add_argument(
        "--no-distinct", action="store_true", help="skip the one-fixture-per-test variant"
    )
    ap.add_argument(
        "--demo",
        metavar="DIR",
        type=Path,
        help="the output of an earlier `amber demo --out DIR` (default: run it)",
    )
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="amber-bench-testgen-"))
    try:
        exs = exchanges(a.tests)
        start = time.perf_counter()
        paths = [
            write_test(
                GenSpec(
                    ex,
                    "amber gen-test (benchmark)",
                    app="examples.shop.app:create_app",
                    db_env="SHOP_DATABASE_URL",
                ),
                tmp / "gen",
            ).path
            for ex in exs
        ]
        gen = time.perf_counter() - start
        texts = [p.read_text() for p in paths]
        start = time.perf_counter()
        for i, t in enumerate(texts):
            (tmp / "plain").mkdir(exist_ok=True)
            (tmp / "plain" / f"t{i}.py").write_text(t)
        plain = time.perf_counter() - start
        print(
            f"generate {a.tests:,} tests: {gen:.2f} s ({a.tests / gen:,.0f}/s; target "
            f"<= 5 s); plain file writes of the same bytes: {plain:.2f} s "
            f"(ratio {plain / gen:.2f}); peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
            flush=True,
        )

        # the example's generated suite, in-process: `amber demo`'s test, replicated
        demo = a.demo or tmp / "demo"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp / "plugin")]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        (tmp / "plugin").mkdir()
        (tmp / "plugin" / "amber_bench_clock.py").write_text(CLOCK_PLUGIN)
        if a.demo is None:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "amber",
                    "demo",
                    "--examples",
                    str(ROOT / "examples"),
                    "--out",
                    str(demo),
                ],
                cwd=tmp,
                env=env,
                check=True,
                capture_output=True,
                timeout=300,
            )
        source = next((demo / "tests").glob("test_*.py"))
        fixture = next((demo / "tests" / "fixtures").glob("*.yaml"))
        text = source.read_text()
        config = (ROOT / "examples" / "shop" / "amber.yaml").read_text()

        def suite(distinct: bool) -> Maker:
            def make(out: Path, n: int) -> Path:
                (out / "fixtures").mkdir(parents=True)
                (out / "amber.yaml").write_text(config)
                shutil.copy(fixture, out / "fixtures" / fixture.name)
                for i in range(n):
                    body = text.replace(f"def {source.stem}(", f"def {source.stem}_{i}(")
                    if distinct:  # a fixture file of its own: its own exchange, same rows
                        own = f"{fixture.stem}_{i}.yaml"
                        (out / "fixtures" / own).write_text(
                            re.sub(
                                r"exchange: (\w+?)\w{6}\b",
                                rf"exchange: \g<1>{i:06d}",
                                fixture.read_text(),
                                count=1,
                            )
                        )
                        body = body.replace(f"fixtures/{fixture.name}", f"fixtures/{own}")
                    (out / f"{source.stem}_{i}.py").write_text(body)
                return out

            return make

        def empty(out: Path, n: int) -> Path:
            out.mkdir(parents=True)
            for i in range(n):
                (out / f"test_empty_{i}.py").write_text(f"def test_empty_{i}():\n    pass\n")
            return out

        suite_env = {**env, "SHOP_FIXED": "1"}
        n = a.suite
        gen_m = measure(suite(False), n, suite_env, tmp / "suite", a.repeat)
        floor = measure(empty, n, env, tmp / "empty", a.repeat)
        print(
            gen_m.line(
                "generated suite of the example, in-process (fixture restore, app, "
                "signed request, assertion per test)"
            )
        )
        print(floor.line("empty tests the same way (pytest's floor)"))
        print(
            f"per-test rate vs target 100 tests/s: {gen_m.marginal:,.0f} tests/s "
            f"({'met' if gen_m.marginal >= 100 else 'NOT met'}); ratio to empty tests: "
            f"per test {gen_m.marginal / floor.marginal:.2f}, with start-up "
            f"{gen_m.with_startup / floor.with_startup:.2f}",
            flush=True,
        )
        if a.large:
            d = suite(False)(tmp / "large", a.large)
            runs = [run_pytest(d, suite_env, a.large, tmp / "clock.json") for _ in range(a.repeat)]
            wall = statistics.median(r.wall for r in runs)
            loop = statistics.median(r.loop for r in runs)
            print(
                f"generated suite, {a.large:,} tests: {a.large / wall:,.0f} tests/s with "
                f"start-up ({wall:.1f} s); in the run loop (first test's imports included) "
                f"{a.large / loop:,.0f} tests/s; "
                f"peak RSS {max(r.rss_mb for r in runs):.0f} MB",
                flush=True,
            )
        if not a.no_distinct:
            own = measure(suite(True), n, suite_env, tmp / "distinct", a.repeat)
            print(own.line("the same with one fixture file per test (template built per test)"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
