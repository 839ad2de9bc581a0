from __future__ import annotations

import pytest

from amber._runs import RunLog
from amber._runs import RunResult
from amber._store import Store
from amber.errors import NotFound


def test_runs_round_trip(store: Store) -> None:
    log = RunLog(store)
    run = log.start("replay", "http://127.0.0.1:8000", {"concurrency": 8})
    log.add(run, [RunResult(f"ex{i}", 1.0 + i, 200, 3.5, i % 2 == 0, None, {"d": [i]})
                  for i in range(1200)])
    log.finish(run, "completed", {"sent": 1200})
    info = log.get(run[:12])
    assert info.state == "completed" and info.summary == {"sent": 1200}
    results = list(log.results(run, page=500))
    assert [r.exchange_id for r in results] == [f"ex{i}" for i in range(1200)]
    assert results[3].detail == {"d": [3]} and not results[3].ok
    assert [i.id for i in log.list()] == [run]
    with pytest.raises(NotFound, match="amber runs"):
        log.get("nope")
