"""amber replay and amber runs against real servers."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

from tests.core.cli.conftest import Run
from tests.core.cli.conftest import apps


def test_replay_without_noise_explains_each_difference(recorded: Path, amber: Run) -> None:
    with ExitStack() as stack:
        (target,) = apps(stack, 1)
        code, out, _ = amber("replay", "--target", target, "--json", "--route",
                             "/orders/{id}")
    rows = [json.loads(x) for x in out.splitlines()][:-1]
    assert code == 1 and rows and not rows[0]["ok"]
    paths = {d["path"] for r in rows for d in r["differences"]}
    assert "body$.fetched_at" in paths and "body$.trace" in paths
    run_id = rows[0]["run"]
    code, out, _ = amber("runs", "--json")
    assert [json.loads(x)["id"] for x in out.splitlines()][0] == run_id
    code, out, _ = amber("runs", run_id, "--failed")
    assert "body$.fetched_at" in out and "DIFF" in out


def test_unknown_named_target_and_unreachable_target(recorded: Path, amber: Run) -> None:
    code, _, err = amber("replay", "--target", "staging")
    assert code == 2 and "unknown target 'staging'" in err
    from tests.servers import free_port

    code, out, _ = amber("replay", "--target", f"http://127.0.0.1:{free_port()}", "--json",
                         "--limit", "3")
    rows = [json.loads(x) for x in out.splitlines()]
    assert code == 1 and all("connection failed" in (r.get("error") or "") for r in rows[:-1])
    assert rows[-1]["error"] == 3 and rows[-1]["state"] == "completed"
