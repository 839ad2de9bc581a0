"""Benchmark: verify + shrink of a 50-row fixture in-process (target <= 10 s).

    .venv/bin/python benchmarks/bench_shrink.py

The fixture: 50 rows of a `tags` table of which two share a slug, the trigger of a 500 in
a small WSGI listing app on the standard library's sqlite3 (`tests/testing/apps/listing.py`),
and a request with two extra headers and two query parameters. Timed: one verification of
the whole fixture, then `shrink` (ddmin over rows, then request parts) down to the two rows;
median of 3 runs. Baseline in the same run: one plain request+load, i.e. the same fixture
built into SQLite (`TemplateBuilder`) and the same request sent to the app (`AppClient`),
without amber's judging. Printed: both times, the number of runs, the ratio of the shrink's
time to the baseline, seconds per run, and the process's peak RSS.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from amber.testing import AppClient  # noqa: E402
from amber.testing import load_app  # noqa: E402
from amber.testing import shrink  # noqa: E402
from amber.testing._template import TemplateBuilder  # noqa: E402
from tests.testing.reproduce_helpers import APP  # noqa: E402
from tests.testing.reproduce_helpers import reproducer  # noqa: E402
from tests.testing.reproduce_helpers import tags_fixture  # noqa: E402

TARGET = 10.0


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def baseline(fx: object) -> float:
    """One plain load + request: the unit a verification run costs at least."""
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "b.db"
        builder = TemplateBuilder()
        os.environ["LISTING_DB"] = f"sqlite:///{db}"
        try:
            start = time.perf_counter()
            builder.build(fx, db)  # type: ignore[arg-type]
            client = AppClient(load_app(APP))
            client.request("GET", "/api/tags?page=1&sort=slug")
            client.close()
            return time.perf_counter() - start
        finally:
            builder.close()
            del os.environ["LISTING_DB"]


def main() -> int:
    fx = tags_fixture(50)
    baseline(fx)  # warm imports
    base = statistics.median(baseline(fx) for _ in range(5))
    totals, runs = [], 0
    for _ in range(3):
        start = time.perf_counter()
        with reproducer() as r:
            assert r.verify(fx).reproduced
            result = shrink(r, fx)
        totals.append(time.perf_counter() - start)
        runs = result.runs + 1
        assert result.rows_after == 2, result.note()
    took = statistics.median(totals)
    print(
        f"verify + shrink, 50-row fixture: {took:.2f} s (target {TARGET:.0f} s), {runs} runs, "
        f"{took / runs * 1000:.1f} ms per run; baseline one plain load + request "
        f"{base * 1000:.1f} ms; ratio {took / base:.0f}x ({took / runs / base:.1f}x per run); "
        f"peak RSS {_peak_rss_mb():.0f} MB"
    )
    return 0 if took <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
