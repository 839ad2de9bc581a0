"""`amber demo` end to end: the README's main job, on the bundled example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.timeout(900)  # the demo plus two re-runs of its test, on a busy machine
def test_demo_fails_on_the_bug_and_passes_on_the_fix(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "amber",
            "demo",
            "--examples",
            str(ROOT / "examples"),
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "fails on the bug and passes on the fix" in result.stdout
    assert "leak scan of tests and store: clean" in result.stdout
    tests = list((out / "tests").glob("test_*.py"))
    fixtures = list((out / "tests" / "fixtures").glob("*.yaml"))
    assert len(tests) == 1 and len(fixtures) == 1
    text = tests[0].read_text()
    assert "request id:" in text and "GET /api/customers/{customer_id}/orders" in text
    # step 6 shows pytest's summary, not a cut traceback, and how to re-run the test
    assert "FAILED tests/" in result.stdout and " - AssertionError: " in result.stdout
    assert "Traceback" not in result.stdout
    assert "cd demo && python -m pytest tests" in result.stdout  # relative to the cwd
    # the printed command works as printed: no PYTHONPATH, no AMBER_* variables
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("AMBER")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    rerun = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    buggy = subprocess.run(rerun, cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert buggy.returncode == 1, buggy.stdout[-3000:]
    env["SHOP_FIXED"] = "1"
    fixed = subprocess.run(rerun, cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    # every process the demo started is gone
    leftover = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""
