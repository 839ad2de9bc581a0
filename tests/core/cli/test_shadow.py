"""The issue's "done when" for replay and shadow, through the CLI against real servers."""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from pathlib import Path

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
