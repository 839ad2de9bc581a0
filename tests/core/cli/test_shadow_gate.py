"""`amber shadow` when a side does not answer, latency terms, progress; `amber runs ID`.

Real servers on 127.0.0.1; a "down" target is a free port nobody listens on (connection
refused), a dying one shuts its server down after a number of requests."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from amber.cli._shadow import ShadowOutput
from tests.core.cli.conftest import Run
from tests.core.cli.conftest import apps
from tests.replay.conftest import AppState
from tests.replay.conftest import make_app
from tests.servers import _Server
from tests.servers import free_port
from tests.servers import serve


def _dead() -> str:
    return f"http://127.0.0.1:{free_port()}"


def _shadow(amber: Run, base: str, cand: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = amber("shadow", "--baseline", base, "--candidate", cand, "--json", *extra)
    return code, json.loads(out), err


def _error_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.startswith("amber shadow: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def test_both_targets_down_fails_with_status_3_naming_them(recorded: Path, amber: Run) -> None:
    base, cand = _dead(), _dead()
    code, report, err = _shadow(amber, base, cand)
    assert code == 3
    line = _error_line(err)
    # 36 requests (no writes), fewer than --unreachable-after in a row? no: 36 > 20, stopped
    assert line.startswith(f"amber shadow: error: baseline {base} is unreachable: ")
    assert f"candidate {cand} is unreachable" in line
    assert report["verdict"]["passed"] is False
    assert report["meta"]["stopped"] and report["meta"]["state"] == "failed"
    errors = report["verdict"]["errors"]
    assert errors[0].startswith("baseline unreachable: ")
    assert any(e.startswith("candidate unreachable: ") for e in errors)
    assert report["totals"]["compared"] == 0 and report["totals"]["regressed"] == 0


def test_only_the_baseline_down_does_not_blame_the_candidate(recorded: Path, amber: Run) -> None:
    base = _dead()
    with ExitStack() as stack:
        (cand,) = apps(stack, 1)
        code, report, err = _shadow(amber, base, cand, "--unreachable-after", "0")
    assert code == 3
    line = _error_line(err)
    assert line.startswith(f"amber shadow: error: baseline {base} unreachable: 36/36 requests")
    assert report["verdict"]["errors"][0].startswith("baseline unreachable: 36/36 requests")
    assert not any("candidate" in e for e in report["verdict"]["reasons"])
    assert report["sides"]["candidate"]["errors"] == 0
    # without --allow-writes no login is sent: the candidate answers 401, as it should
    assert report["sides"]["candidate"]["statuses"] == {"401": 36}
    assert report["totals"]["reported_fields"] == 0


def test_only_the_candidate_down_fails_naming_it(recorded: Path, amber: Run) -> None:
    cand = _dead()
    with ExitStack() as stack:
        base, base2 = apps(stack, 2)
        code, report, err = _shadow(amber, base, cand, "--baseline2", base2)
    assert code == 3
    line = _error_line(err)
    assert line.startswith(f"amber shadow: error: candidate {cand} is unreachable: ")
    assert "check that it is running and --candidate" in line
    assert report["sides"]["baseline"]["errors"] == 0
    assert report["sides"]["candidate"]["unreachable"] >= 20
    # the stored run says so too, in a table a person reads
    code, shown, _ = amber("runs", report["meta"]["run"])
    assert code == 0 and "errors: baseline 0, candidate " in shown
    assert "not compared" not in shown and "connection failed" in shown


@contextlib.contextmanager
def dying(after: int) -> Iterator[str]:
    """A target that answers `after` requests, then shuts down (connections refused)."""
    port = free_port()
    inner = make_app(AppState())
    count = itertools.count(1)
    box: dict[str, _Server] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and next(count) == after:
            server = box["server"]
            server.should_exit = True
            # answer once the server stopped listening: every later request is refused
            deadline = time.monotonic() + 10
            while any(s.is_serving() for s in server.servers) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        await inner(scope, receive, send)

    server = box["server"] = _Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="critical", access_log=False, lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "test server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize("unreachable_after", ["20", "0"])
def test_a_candidate_that_dies_mid_run_fails_naming_it(
    recorded: Path, amber: Run, unreachable_after: str
) -> None:
    with ExitStack() as stack:
        (base,) = apps(stack, 1)
        cand = stack.enter_context(dying(after=8))
        code, report, err = _shadow(
            amber, base, cand, "--unreachable-after", unreachable_after, "--concurrency", "1"
        )
    assert code == 3, err
    line = _error_line(err)
    assert line.startswith(f"amber shadow: error: candidate {cand} ")
    cand_side = report["sides"]["candidate"]
    assert cand_side["answered"] >= 8 and cand_side["unreachable"] >= 1
    assert report["sides"]["baseline"]["errors"] == 0
    if unreachable_after == "0":  # the whole run: the gate's line
        assert cand_side["requests"] == 36 and report["meta"]["state"] == "completed"
        assert f"candidate {cand} unreachable: 28/36 requests could not connect" in line
    else:
        assert f"requests in a row could not connect after {cand_side['answered']}" in line


def _slow(app: Any, seconds: float) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return wrapped


def test_a_slower_candidate_fails_a_latency_term(recorded: Path, amber: Run) -> None:
    with ExitStack() as stack:
        base, base2 = apps(stack, 2)
        cand = stack.enter_context(serve(_slow(make_app(AppState()), 0.1)))
        args = ("--baseline2", base2, "--fail-on", "regression,p95>1.3x")
        code, report, err = _shadow(amber, base, cand, *args)
    assert code == 1, err
    [reason] = report["verdict"]["reasons"]
    assert reason.startswith("GET /orders/{id}: candidate p95 ") and "1.3x the baselines'" in reason
    route = next(r for r in report["routes"] if r["route"] == "GET /orders/{id}")
    p95 = {side: route["sides"][side]["latency_ms"]["p95"] for side in route["sides"]}
    # (the baselines' own p95 is whatever the machine gives: a busy one once made a
    # baseline's 192 ms; what the gate promises is the ratio its reason names)
    assert p95["candidate"] >= 100
    assert p95["candidate"] > 1.3 * max(p95["baseline"], p95["baseline2"])
    assert report["verdict"]["fail_on"]["latency"] == ["p95>1.3x"]


def test_fail_on_usage_errors_exit_2(recorded: Path, amber: Run) -> None:
    code, _, err = amber(
        "shadow", "--baseline", _dead(), "--candidate", _dead(), "--fail-on", "p90>2x"
    )
    assert code == 2 and "p50|p95|p99" in err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_per_side_on_a_terminal_and_plain_lines_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from amber.replay import ShadowAccumulator

    acc = ShadowAccumulator(lambda m, r: __import__("amber.replay").replay.NoiseRules())
    acc.side_errors[1] = 3
    tty = _Tty()
    out = ShadowOutput(tty)
    out.watch(acc)
    out.started("run", 10)
    out.every = 0.0  # every result redraws
    for _ in range(4):
        out.result(None)  # type: ignore[arg-type]
    text = tty.getvalue()
    assert text.count("\r\x1b[K") == 4 and "\n" not in text
    assert "shadow 4/10 requests, errors: baseline 0, candidate 3, baseline2 0, " in text
    out.close()
    assert tty.getvalue().endswith("\r\x1b[K")
    plain = io.StringIO()
    out = ShadowOutput(plain)
    assert out.every == 10.0 and not out.interactive
    out.started("run", None)
    out.every = 0.0
    out.result(None)  # type: ignore[arg-type]
    assert plain.getvalue() == plain.getvalue().strip() + "\n"
    assert plain.getvalue().startswith("amber: shadow 1 requests, errors: baseline 0")


@pytest.mark.parametrize("command", ["replay", "shadow"])
def test_help_documents_the_exit_statuses(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from amber.cli import main
    from amber.cli._replay import UNREACHABLE_AFTER
    from amber.replay import SendOptions

    assert SendOptions().unreachable_after == UNREACHABLE_AFTER
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 " in text and "; 3 " in text and "--unreachable-after N" in text
    assert f"(default {UNREACHABLE_AFTER}; 0 never stops)" in text
    if command == "shadow":
        assert "'p95>1.3x'" in text and "'errors>1%'" in text and "'unreachable=off'" in text
