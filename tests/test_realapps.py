"""The real-app corpus (issues 18 and 19): for each unmodified app from PyPI in realapps/,
the test amber generates from the captured buggy request must fail on the buggy release and
pass on the fixed one, every run. Entries amber cannot reproduce yet are xfail(strict=True)
with the reason, so they flip when the capability lands.

Slow: each entry installs two releases from PyPI (cached under .cache/realapps), serves the
buggy one behind `amber capture`, runs `amber gen-test` and the generated test N times.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `realapps` is not installed: import it from the checkout
    sys.path.append(str(ROOT))

from realapps import all_apps  # noqa: E402
from realapps._run import HarnessError  # noqa: E402
from realapps._run import run_app  # noqa: E402

N = int(os.environ.get("REALAPPS_RUNS", "3"))


def _params() -> list[object]:
    out: list[object] = []
    for name, app in all_apps().items():
        # an entry xfails only where amber falls short (a step of the loop or an assertion
        # below), never on an error of the harness itself
        xfail = pytest.mark.xfail(
            strict=True, reason=app.xfail, raises=(AssertionError, HarnessError)
        )
        marks = [xfail] if app.xfail else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", _params())
def test_generated_test_fails_on_buggy_and_passes_on_fixed(name: str) -> None:
    if sys.version_info[:2] != (3, 11):
        # the corpus installs two releases of each app from PyPI: it runs once per CI, on
        # the Python 3.11 leg, whose releases every entry pins for
        pytest.skip("the real-app corpus runs on the Python 3.11 leg of CI")
    app = all_apps()[name]
    res = run_app(app, n=N)
    print(res.summary())
    assert res.captured_status, "the request got no answer through amber capture"
    assert res.buggy == {"failed": N}, f"buggy release: {res.buggy}\n{res.last_output['buggy']}"
    assert res.fixed == {"passed": N}, f"fixed release: {res.fixed}\n{res.last_output['fixed']}"


def test_every_entry_is_complete() -> None:
    """Each entry names its bug, two distinct releases and its request (fast, no network)."""
    apps = all_apps()
    assert len(apps) >= 2
    for app in apps.values():
        assert app.bug.startswith("https://"), app.name
        assert app.buggy != app.fixed, app.name
        assert app.request.path.startswith("/"), app.name
        # glue stays a few lines: the factory (sqladmin's declares the app's two models) and
        # documented amber.yaml keys
        factory = sum(1 for ln in (app.glue or "").splitlines() if ln.strip())
        assert factory <= 25 and app.glue_lines <= 30, f"{app.name}: glue should stay short"
        # `verify` says why gen-test cannot verify in-process; URL mode never verifies
        assert app.verify is None or (app.glue is not None and app.verify.strip()), app.name


def test_the_corpus_is_not_in_the_wheel() -> None:
    """realapps/ is a tool of this repository: pyproject.toml packages only amber."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = config["tool"]["setuptools"]["packages"]
    assert packages and all(p == "amber" or p.startswith("amber.") for p in packages)
