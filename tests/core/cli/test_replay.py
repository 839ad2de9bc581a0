"""amber replay and amber runs against real servers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from amber._model import Exchange
from amber._model import Request as StoredRequest
from amber._model import Response
from amber._model import new_id
from amber._store import Store
from tests.core.cli.conftest import Run
from tests.core.cli.conftest import apps
from tests.servers import serve


def test_replay_without_noise_explains_each_difference(recorded: Path, amber: Run) -> None:
    with ExitStack() as stack:
        (target,) = apps(stack, 1)
        code, out, _ = amber("replay", "--target", target, "--json", "--route", "/orders/{id}")
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

    code, out, _ = amber(
        "replay", "--target", f"http://127.0.0.1:{free_port()}", "--json", "--limit", "3"
    )
    rows = [json.loads(x) for x in out.splitlines()]
    # fewer than --unreachable-after: the run completes, and says the target was unreachable
    assert code == 3 and all("connection failed" in (r.get("error") or "") for r in rows[:-1])
    assert rows[-1]["error"] == 3 and rows[-1]["unreachable"] == 3
    assert rows[-1]["state"] == "completed"


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_replay_against_a_dead_target_stops_with_one_line(
    recorded: Path, amber: Run, json_lines: bool
) -> None:
    from tests.servers import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    code, out, err = amber("replay", "--target", dead, *(["--json"] if json_lines else []))
    lines = err.strip().splitlines()
    assert code == 3 and len(lines) == 1, err
    assert lines[0].startswith(f"amber replay: error: target {dead} is unreachable: ")
    assert "the first 20 requests could not connect" in lines[0]
    assert "check that it is running and --target" in lines[0]
    run_id = lines[0].rsplit(" ", 1)[1]
    # at most two more per other worker (8): one held for hand-over, one in flight
    most = 20 + 2 * 8
    if json_lines:  # the results streamed before the stop: a few, not one per exchange
        rows = [json.loads(x) for x in out.splitlines()]
        assert 20 <= len(rows) <= most and all(not r["ok"] for r in rows)
    else:  # no table of errors
        assert out == ""
    code, listed, _ = amber("runs", "--json")
    run = json.loads(listed.splitlines()[0])
    assert run["id"] == run_id and run["state"] == "failed"
    assert 20 <= run["summary"]["unreachable"] <= most and run["summary"]["sent"] < 60
    code, shown, _ = amber("runs", run_id)
    assert code == 0 and shown.count(" ERR ") == run["summary"]["sent"]
    assert "connection failed" in shown


def test_a_login_against_a_dead_target_exits_3(recorded: Path, amber: Run) -> None:
    # replay.auth logs in before anything is sent: a target that refuses the connection is
    # unreachable (3), not an authentication failure (1)
    from tests.servers import free_port

    (recorded / "amber.yaml").write_text(
        "replay:\n  auth:\n    login:\n      path: /login\n"
        "      json: {user: u, password: p}\n      token: {json: $.token}\n"
    )
    dead = f"http://127.0.0.1:{free_port()}"
    code, out, err = amber("replay", "--target", dead, "--limit", "3")
    lines = err.strip().splitlines()
    assert code == 3 and len(lines) == 1, err
    assert "login request POST" in lines[0] and "could not connect" in lines[0]
    assert "--unreachable-after" not in lines[0]


def test_unreachable_after_zero_sends_everything(recorded: Path, amber: Run) -> None:
    from tests.servers import free_port

    code, out, err = amber(
        "replay", "--target", f"http://127.0.0.1:{free_port()}", "--unreachable-after", "0"
    )
    assert code == 3 and "60 sent" in out and "60 could not connect" in out, out + err
    code, _, err = amber("replay", "--target", "http://x", "--unreachable-after", "-1")
    assert code == 2 and "--unreachable-after must be 0" in err


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_ctrl_c_stops_a_replay_cleanly_and_keeps_the_partial_run(
    env: Path,
    amber: Run,
    loop: str,
) -> None:
    # a real SIGINT to a real `amber replay` process, on either event loop: it exits 130,
    # and every exchange answered before the signal is in the stored run
    hits: list[str] = []

    async def slow(request: Request) -> JSONResponse:
        hits.append(request.path_params["i"])
        await asyncio.sleep(0.05)
        return JSONResponse({"i": request.path_params["i"]})

    with Store.open(f"sqlite:///{env / 'store.db'}") as store:
        t0 = 1_760_000_000.0
        store.add_many(
            [
                Exchange(
                    id=new_id(t0 + i),
                    request=StoredRequest(
                        "GET", "http", "api", 80, f"/slow/{i}", timestamp_start=t0 + i
                    ),
                    response=Response(
                        200, headers=(("content-type", "application/json"),), body=b'{"i":"%d"}' % i
                    ),
                )
                for i in range(200)
            ]
        )
    app = Starlette(routes=[Route("/slow/{i}", slow)])
    with serve(app) as url:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "amber",
                "replay",
                "--target",
                url,
                "--concurrency",
                "1",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "AMBER_EVENT_LOOP": loop},
            cwd=env,
        )
        deadline = time.monotonic() + 60
        while len(hits) < 5 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if len(hits) < 5:  # never got going: say so, rather than interrupt its start-up
            proc.kill()
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"the replay sent {len(hits)} requests in 60 s: {err.decode()[-2000:]}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    lines = [json.loads(x) for x in out.splitlines()]
    summary = lines[-1]
    assert summary["state"] == "interrupted"
    answered = lines[:-1]
    # the request in flight at the signal is cancelled, not reported
    assert 4 <= len(answered) <= len(hits) < 200 and all(r["ok"] for r in answered)
    code, stored, _ = amber("runs", summary["run"], "--json")
    assert code == 0
    head, *results = (json.loads(x) for x in stored.splitlines())
    assert head["type"] == "run" and head["state"] == "interrupted"
    assert [r["exchange"] for r in results] == [r["exchange"] for r in answered]
    code, listed, _ = amber("runs", "--json")
    assert json.loads(listed.splitlines()[0])["state"] == "interrupted"


def test_replay_prints_a_summary_per_route_and_field_and_rows_on_request(
    recorded: Path, amber: Run
) -> None:
    with ExitStack() as stack:
        (target,) = apps(stack, 1)
        code, out, _ = amber("replay", "--target", target, "--route", "/orders/{id}")
        # 12 sessions x 3 reads of an order, each differing (a fresh app: other ids, other
        # status): one row for the route, no row per exchange (those are in `amber runs ID`)
        assert code == 1 and " DIFF " not in out
        [row] = [line for line in out.splitlines() if "/orders/{id}" in line]
        assert row.split()[:6] == ["GET", "/orders/{id}", "36", "0", "36", "0"], out
        assert "status 36, " in row and "(+" in row  # the top 3 fields, then how many more
        assert "36 differ" in out and "--failed" in out
        code, rows, _ = amber("replay", "--target", target, "--route", "/orders/{id}", "--rows")
        assert code == 1 and sum(1 for line in rows.splitlines() if " DIFF " in line) == 36
        assert rows.count("\n    status: '") == 36  # each result's differences under it
        code, lines, _ = amber("replay", "--target", target, "--route", "/orders/{id}", "--json")
    *results, summary = (json.loads(x) for x in lines.splitlines())
    assert {r["type"] for r in results} == {"result"} and len(results) == 36
    assert summary["type"] == "summary" and summary["mismatch"] == 36
    [route] = summary["routes"]
    assert route["method"] == "GET" and route["route"] == "/orders/{id}"
    assert (route["sent"], route["ok"], route["mismatch"], route["error"]) == (36, 0, 36, 0)
    assert route["fields"][0] == {"path": "status", "count": 36}
    assert f"(+{len(route['fields']) - 3} more)" in row
    # the same keys, in the same order, as `amber runs ID --json` prints for the results
    code, shown, _ = amber("runs", summary["run"], "--json")
    head, *stored = (json.loads(x) for x in shown.splitlines())
    assert head["type"] == "run" and head["summary"]["mismatch"] == 36
    assert [list(r) for r in stored] == [list(r) for r in results]
    assert stored[0]["kind"] == "replay" and stored[0]["regression_paths"] == []
