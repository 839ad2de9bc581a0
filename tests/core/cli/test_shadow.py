"""The issue's "done when" for replay and shadow, through the CLI against real servers."""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.core.cli.conftest import Run
from tests.core.cli.conftest import apps


def test_unchanged_candidate_passes_and_learned_noise_makes_replay_clean(
    recorded: Path, amber: Run
) -> None:
    noise = recorded / "noise.yaml"
    with ExitStack() as stack:
        base, base2, cand, target = apps(stack, 4)
        code, out, err = amber(
            "shadow",
            "--baseline",
            base,
            "--baseline2",
            base2,
            "--candidate",
            cand,
            "--allow-writes",
            "--save-noise",
            str(noise),
            "--json",
        )
        assert code == 0, out + err
        report = json.loads(out)
        assert report["verdict"]["passed"] and report["totals"]["reported_fields"] == 0
        text = noise.read_text()
        assert "fetched_at" in text and "trace" in text
        code, out, err = amber("replay", "--target", target, "--noise", str(noise), "--json")
    lines = [json.loads(x) for x in out.splitlines()]
    summary = lines[-1]
    assert code == 0, [x for x in lines if not x.get("ok", True)][:3]
    assert summary["sent"] == 12 * 5 and summary["mismatch"] == 0 and summary["ok"] == 60
    assert "hunter2" not in out


def test_planted_regression_among_noise_is_reported_alone(recorded: Path, amber: Run) -> None:
    html = recorded / "report.html"
    with ExitStack() as stack:
        base, base2 = apps(stack, 2)
        (cand,) = apps(stack, 1, broken_field=True)
        code, out, err = amber(
            "shadow",
            "--baseline",
            base,
            "--baseline2",
            base2,
            "--candidate",
            cand,
            "--allow-writes",
            "--json",
            "--html",
            str(html),
        )
    assert code == 1, err
    report = json.loads(out)
    reported = [
        (r["route"], f["path"]) for r in report["routes"] for f in r["fields"] if f["reported"]
    ]
    assert reported == [("GET /orders/{id}", "body$.qty")]
    assert not report["verdict"]["passed"]
    _check_report_types(report)
    page = html.read_text()
    assert "body$.qty" in page and "FAIL" in page
    # self-contained: no external scripts, styles, images or fonts
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)


def test_regression_inside_a_noisy_field_is_reported(recorded: Path, amber: Run) -> None:
    with ExitStack() as stack:
        base, base2 = apps(stack, 2)
        (cand,) = apps(stack, 1, iso_time=True)  # fetched_at: a float became a string
        code, out, _ = amber(
            "shadow",
            "--baseline",
            base,
            "--baseline2",
            base2,
            "--candidate",
            cand,
            "--allow-writes",
            "--json",
        )
    assert code == 1
    report = json.loads(out)
    reported = {f["path"] for r in report["routes"] for f in r["fields"] if f["reported"]}
    assert reported == {"body$.fetched_at"}


def test_writes_are_not_shadowed_unless_allowed(recorded: Path, amber: Run) -> None:
    with ExitStack() as stack:
        base, cand = apps(stack, 2)
        code, out, err = amber("shadow", "--baseline", base, "--candidate", cand, "--json")
    report = json.loads(out)
    assert report["meta"]["skipped_writes"] == 24  # 12 logins + 12 order creations
    assert report["meta"]["requests"] == 36


def _check_side(side: dict[str, Any]) -> None:
    for k in ("requests", "answered", "errors", "unreachable", "timeouts"):
        assert type(side[k]) is int, k
    assert isinstance(side["error_rate"], (int, float))
    assert all(type(k) is str and type(v) is int for k, v in side["statuses"].items())
    for p in ("p50", "p95", "p99"):
        assert side["latency_ms"][p] is None or isinstance(side["latency_ms"][p], float)
    assert side["first_error"] is None or type(side["first_error"]) is str


def _check_report_types(report: dict[str, Any]) -> None:
    """`amber shadow --json` is one object tagged `"type": "shadow_report"`, each key of
    the JSON type docs/cli.md and docs/shadow.md give it."""
    assert report["type"] == "shadow_report"
    assert report["schema"] == "amber.shadow-report/1"
    meta = report["meta"]
    for k in ("run", "baseline", "candidate", "baseline2", "state"):
        assert type(meta[k]) is str, k
    assert type(meta["requests"]) is int and type(meta["skipped_writes"]) is int
    assert isinstance(meta["elapsed_s"], float)
    assert meta["stopped"] is None or type(meta["stopped"]) is str
    verdict = report["verdict"]
    assert type(verdict["passed"]) is bool
    assert all(type(x) is str for x in verdict["reasons"] + verdict["errors"])
    assert all(type(v) is int for v in report["totals"].values())
    for side in report["sides"].values():
        _check_side(side)
    assert report["routes"]
    for route in report["routes"]:
        assert type(route["route"]) is str
        for k in ("requests", "compared", "candidate_differing", "noisy", "differing"):
            assert type(route[k]) is int, k
        for side in route["sides"].values():
            _check_side(side)
        for f in route["fields"]:
            assert type(f["path"]) is str and type(f["reported"]) is bool
            assert all(type(f[k]) is int for k in ("raw", "noise", "unsuppressed", "reverse"))
            for e in f["examples"] + f["noise_examples"]:
                assert type(e["exchange_id"]) is str and type(e["path"]) is str
                assert type(e["suppressed"]) is bool
                for k in ("expected", "actual"):
                    assert e[k] is None or type(e[k]) is str, (k, e)
