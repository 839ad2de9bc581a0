"""Commands start without the packages they do not need: only `capture` (and reading
mitmproxy flow files) needs mitmproxy, and says so in one line naming the extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.testing.test_worker import BLOCKER

ROOT = Path(__file__).resolve().parents[3]
KEY = "test-key-0123456789abcdef"


def _amber(tmp_path: Path, block: str, *argv: str) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMBER_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]),
        AMBER_TEST_BLOCK_IMPORTS=block,
        AMBER_KEY=KEY,
        AMBER_STORE=f"sqlite:///{tmp_path / 'store.db'}",
    )
    code = "import sys; from amber.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_gen_test_and_shrink_start_without_mitmproxy(tmp_path: Path) -> None:
    for command in ("gen-test", "shrink", "fixtures", "ls", "import"):
        done = _amber(tmp_path, "mitmproxy", command, "--help")
        assert done.returncode == 0, done.stderr
        assert "usage: amber" in done.stdout
    done = _amber(tmp_path, "mitmproxy", "gen-test", "--help")
    assert "--app-python" in done.stdout


def test_capture_without_mitmproxy_names_the_package_and_the_extra(tmp_path: Path) -> None:
    done = _amber(tmp_path, "mitmproxy", "capture", "--upstream", "http://127.0.0.1:9")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "amber capture: error: this command needs mitmproxy, which is not installed in this "
        "environment: pip install 'amber[cli]'"
    ], done.stderr


def test_without_what_the_parser_needs_every_command_says_so(tmp_path: Path) -> None:
    package = "rich"  # the tables of every command
    done = _amber(tmp_path, package, "ls")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"amber: error: the amber command needs {package}, which is not installed in this "
        "environment: pip install 'amber[cli]'"
    )
