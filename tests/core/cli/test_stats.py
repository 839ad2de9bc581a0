from __future__ import annotations

from amber._store import StatsRow
from amber.cli._stats import choose_bucket
from amber.cli._stats import incident_start
from amber.cli._stats import summarize


def test_choose_bucket() -> None:
    assert choose_bucket(20) == 1
    assert choose_bucket(3600) == 300
    assert choose_bucket(86400 * 2) == 10800


def test_incident_start_ignores_background_errors() -> None:
    rows = []
    for b in range(10):
        rows.append(StatsRow(b * 60.0, "GET", "/a", 2, 100))
        rows.append(StatsRow(b * 60.0, "GET", "/a", 5, 1))  # 1% background noise
    rows.append(StatsRow(600.0, "GET", "/a", 2, 60))
    rows.append(StatsRow(600.0, "GET", "/b", 5, 40))
    buckets, routes = summarize(rows)
    assert incident_start(buckets) == 600.0
    assert routes["GET /b"].errors == 40 and routes["GET /b"].first_error == 600.0
    assert routes["GET /a"].error_rate == 10 / 1070
