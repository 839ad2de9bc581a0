from __future__ import annotations

import ast
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amber._store import Store
from tests.conftest import make_exchange
from tests.core.cli.conftest import Run


def test_gen_test_writes_tests_and_snapshots(env: Path, amber: Run) -> None:
    bug = make_exchange(1, status=500, body=b"boom", request_id="req-bug")
    good = make_exchange(2, status=200, body=b'{"ok": true}', request_id="req-good")
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add_many([bug, good])
    code, out, err = amber(
        "gen-test",
        "req-bug",
        good.id,
        "--out",
        str(env / "t"),
        "--app",
        "myapp:create_app",
        "--expect-status",
        "404",
    )
    assert code == 0, err
    files = [Path(x) for x in out.split()]
    assert len([f for f in files if f.suffix == ".py"]) == 2
    for f in files:
        if f.suffix == ".py":
            ast.parse(f.read_text())
            assert "myapp:create_app" in f.read_text()
    assert "pytest" in err


def test_gen_test_bad_expectations_and_unknown_ids(env: Path, amber: Run) -> None:
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(make_exchange(1))
    code, _, err = amber("gen-test", "req-1", "--out", "t", "--expect-json", "{nope")
    assert code == 2 and "--expect-json" in err
    code, _, err = amber("gen-test", "missing-id", "--out", "t")
    assert code == 1 and "amber ls" in err


ROOT = Path(__file__).resolve().parents[3]
LISTING = "tests.testing.apps.listing:create_app"


def _listing_store(env: Path) -> str:
    from tests.testing.apps.listing import make_source
    from tests.testing.reproduce_helpers import listing_exchange

    make_source(str(env / "source.db"))
    ex = dataclasses.replace(listing_exchange(), request_id="req-tags")
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(ex)
    return "req-tags"


def _pytest(tests: Path, **env: str) -> int:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    environ.pop("LISTING_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tests.parent,
        env=environ,
        capture_output=True,
        check=False,
    ).returncode


def test_gen_test_widens_a_listing_until_it_fails_then_shrinks_to_two_rows(
    env: Path, amber: Run
) -> None:
    """No rule, no id in the route: the first rows do not reproduce, widening does, and
    shrinking leaves the two rows with the shared slug and none of the request's extras;
    the test fails on the buggy build and passes on the fixed one."""
    rid = _listing_store(env)
    code, out, err = amber(
        "gen-test", rid, "--out", str(env / "t"), "--source-db", "sqlite:///source.db",
        "--app", LISTING, "--db-env", "LISTING_DB", "--reason", "test", "--no-trace",
    )  # fmt: skip
    assert code == 0, err
    assert "verify (10 rows): not reproduced" in err
    assert "reproduced with 2 rows (shrunk from 50)" in err
    fixture = next((env / "t" / "fixtures").glob("*.yaml"))
    from amber.fixtures import Fixture

    rows = Fixture.read(fixture).rows["tags"]
    assert [r["id"] for r in rows] == [17, 42]
    test = next((env / "t").glob("test_*.py"))
    text = test.read_text()
    assert "# amber: verified: reproduced with 2 rows (shrunk from 50)" in text
    request = text[text.index("REQUEST = ") : text.index("def test_")]
    assert '"query": ""' in request and '"headers": []' in request
    ast.parse(text)
    assert _pytest(env / "t") == 1
    assert _pytest(env / "t", LISTING_FIXED="1") == 0


def test_gen_test_does_not_widen_when_the_request_never_reached_the_app(
    env: Path, amber: Run
) -> None:
    """The capture masked a session cookie and amber.yaml declares no identity: every run
    fails in the test's own set-up, so widening would only repeat it: one verify, then
    the test marked UNVERIFIED with what to do."""
    from tests.testing.apps.listing import make_source
    from tests.testing.reproduce_helpers import listing_exchange

    make_source(str(env / "source.db"))
    ex = dataclasses.replace(
        listing_exchange(headers=(("Cookie", "session=[REDACTED:session-cookie]"),)),
        request_id="req-login",
    )
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(ex)
    code, _, err = amber(
        "gen-test", "req-login", "--out", str(env / "t"), "--source-db", "sqlite:///source.db",
        "--app", LISTING, "--db-env", "LISTING_DB", "--reason", "test", "--no-trace",
    )  # fmt: skip
    assert code == 1, err
    assert err.count("amber: verify (") == 1 and "set-up failed" in err
    assert "not widened: the request never reached the app" in err
    assert "testing.identity" in err and "widened until" not in err
    assert "UNVERIFIED" in next((env / "t").glob("test_*.py")).read_text()


def test_gen_test_takes_the_rows_the_traced_sql_read(env: Path, amber: Run) -> None:
    """With the SQL trace (the default on an SQLite source), the listing's SELECT gives the
    rows at once: no widening; the source file is not written."""
    rid = _listing_store(env)
    before = (env / "source.db").read_bytes()
    code, _, err = amber(
        "gen-test", rid, "--out", str(env / "t"), "--source-db", "sqlite:///source.db",
        "--app", LISTING, "--db-env", "LISTING_DB", "--reason", "test",
    )  # fmt: skip
    assert code == 0, err
    assert "trace: the request read rows of tags 50" in err and "widened" not in err
    assert "reproduced with 2 rows (shrunk from 50)" in err
    assert (env / "source.db").read_bytes() == before
    audit = (env / ".amber" / "audit.jsonl").read_text()
    assert "temporary snapshot copy for the SQL trace" in audit


def test_gen_test_marks_a_test_that_never_reproduces_as_unverified(
    env: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = _listing_store(env)
    monkeypatch.setenv("LISTING_FIXED", "1")  # the wrong build: it cannot fail
    code, out, err = amber(
        "gen-test", rid, "--out", str(env / "t"), "--source-db", "sqlite:///source.db",
        "--app", LISTING, "--db-env", "LISTING_DB", "--reason", "test", "--widen-max", "100",
    )  # fmt: skip
    assert code == 1
    assert "NOT reproduced" in err and "UNVERIFIED" in err
    text = next((env / "t").glob("test_*.py")).read_text()
    assert "# amber: UNVERIFIED: the fixture did not reproduce" in text
    assert any(p.endswith(".py") for p in out.split())


def test_gen_test_without_an_app_marks_the_test_not_verified(env: Path, amber: Run) -> None:
    rid = _listing_store(env)
    (env / "amber.yaml").write_text(
        "version: 1\nfixtures:\n  rules:\n    - route: GET /api/tags\n"
        "      seeds: ['tags.id = 1']\n"
    )
    code, _, err = amber(
        "gen-test", rid, "--out", "t", "--source-db", "sqlite:///source.db", "--reason", "x"
    )  # fmt: skip
    assert code == 0, err
    assert "not verified: no in-process app" in err
    text = next((env / "t").glob("test_*.py")).read_text()
    assert "# amber: UNVERIFIED: not checked against the recording" in text
    ast.parse(text)
    code, _, err = amber("gen-test", rid, "--out", "t2", "--source-db", "sqlite:///source.db")
    assert "no seed rows" not in err


def test_gen_test_on_the_shop_reproduces_and_shrinks(env: Path, amber: Run) -> None:
    """The example shop: the captured 500 of the call-centre customer reproduces from the
    rule's fixture and shrinks to the customer's row."""
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    from examples.shop.seed import BUG_CUSTOMER_ID
    from examples.shop.seed import seed

    seed(f"sqlite:///{env / 'shop.db'}")
    ex = make_exchange(
        3, path=f"/api/customers/{BUG_CUSTOMER_ID}/orders", status=500, request_id="req-shop"
    )
    ex = dataclasses.replace(ex, route="/api/customers/{customer_id}/orders")
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(ex)
    shutil.copy(ROOT / "examples" / "shop" / "amber.yaml", env / "amber.yaml")
    code, _, err = amber(
        "gen-test", "req-shop", "--out", str(env / "t"), "--source-db",
        "sqlite:///shop.db", "--reason", "test",
    )  # fmt: skip
    assert code == 0, err
    m = re.search(r"reproduced with (\d+) rows \(shrunk from (\d+)\)", err)
    assert m is not None, err
    assert int(m.group(1)) <= int(m.group(2))
    from amber.fixtures import Fixture

    fx = Fixture.read(next((env / "t" / "fixtures").glob("*.yaml")))
    assert [r["id"] for r in fx.rows["customers"]] == [BUG_CUSTOMER_ID]
    assert _pytest(env / "t") == 1
    assert _pytest(env / "t", SHOP_FIXED="1") == 0


def test_gen_test_takes_the_fixture_amber_fixtures_wrote(env: Path, amber: Run) -> None:
    """One extraction: `amber fixtures` writes the file, `gen-test --fixture` uses it (the
    source is not read again: it is gone), verifies it against the recording and shrinks
    it; without an app the file is copied as it is and the test marked not verified."""
    rid = _listing_store(env)
    code, _, err = amber(
        "fixtures", rid, "--source-db", "sqlite:///source.db", "-o", "listing.yaml",
        "--reason", "test", "--verify", "--app", LISTING, "--db-env", "LISTING_DB",
    )  # fmt: skip
    assert code == 0, err
    from amber.fixtures import Fixture

    given = Fixture.read(env / "listing.yaml")
    (env / "source.db").unlink()
    code, _, err = amber(
        "gen-test", rid, "--out", str(env / "t"), "--fixture", "listing.yaml",
        "--app", LISTING, "--db-env", "LISTING_DB",
    )  # fmt: skip
    assert code == 0, err
    m = re.search(r"reproduced with (\d+) rows \(shrunk from (\d+)\)", err)
    assert m is not None, err
    assert int(m.group(2)) == sum(given.row_counts.values())
    fixture = next((env / "t" / "fixtures").glob("*.yaml"))
    assert [r["id"] for r in Fixture.read(fixture).rows["tags"]] == [17, 42]
    text = next((env / "t").glob("test_*.py")).read_text()
    assert "# amber: verified: reproduced with 2 rows" in text and "listing.yaml" in text
    assert str(env) not in text
    assert _pytest(env / "t") == 1
    assert _pytest(env / "t", LISTING_FIXED="1") == 0
    # no app: copied unchanged, marked not verified
    code, _, err = amber("gen-test", rid, "--out", "t2", "--fixture", "listing.yaml")
    assert code == 0, err
    assert "not verified: no in-process app" in err
    copied = Fixture.read(next((env / "t2" / "fixtures").glob("*.yaml")))
    assert copied.rows == given.rows
    # bad combinations say what to do
    code, _, err = amber(
        "gen-test", rid, "--out", "t3", "--fixture", "listing.yaml", "--source-db", "x"
    )  # fmt: skip
    assert code == 2 and "pass one" in err
    code, _, err = amber("gen-test", rid, "--out", "t3", "--fixture", "missing.yaml")
    assert code == 2 and "no such file" in err


def test_gen_test_verifies_traces_and_shrinks_in_the_app_s_interpreter(
    env: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--app-python: every run goes to a child of that interpreter, which here cannot
    import SQLAlchemy, mitmproxy or rich (an app's venv with the test runtime only); the
    trace, verify and shrink give what they give in-process. AMBER_APP_PYTHON does the
    same for `amber fixtures --verify`."""
    from tests.testing.test_worker import BLOCKER
    from tests.testing.test_worker import HEAVY

    (env / "site").mkdir()
    (env / "site" / "sitecustomize.py").write_text(BLOCKER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(env / "site"), str(ROOT)]))
    monkeypatch.setenv("AMBER_TEST_BLOCK_IMPORTS", HEAVY)
    rid = _listing_store(env)
    code, _, err = amber(
        "gen-test", rid, "--out", str(env / "t"), "--source-db", "sqlite:///source.db",
        "--app", LISTING, "--db-env", "LISTING_DB", "--reason", "test",
        "--app-python", sys.executable,
    )  # fmt: skip
    assert code == 0, err
    assert "trace: the request read rows of tags 50" in err and "widened" not in err
    assert "reproduced with 2 rows (shrunk from 50)" in err
    monkeypatch.setenv("AMBER_APP_PYTHON", sys.executable)
    monkeypatch.setenv("LISTING_FIXED", "1")  # the child sees the fixed build: no bug
    code, _, err = amber(
        "fixtures", rid, "--source-db", "sqlite:///source.db", "-o", "listing.yaml",
        "--reason", "test", "--verify", "--app", LISTING, "--db-env", "LISTING_DB",
        "--widen-max", "0",
    )  # fmt: skip
    assert code == 1 and "not reproduced" in err, err
    monkeypatch.setenv("AMBER_APP_PYTHON", str(env / "no-such-python"))
    code, _, err = amber(
        "fixtures", rid, "--source-db", "sqlite:///source.db", "-o", "listing.yaml",
        "--reason", "test", "--verify", "--app", LISTING, "--db-env", "LISTING_DB",
    )  # fmt: skip
    assert code == 2 and "--app-python" in err and "no such interpreter" in err, err


def test_the_app_python_comes_from_the_flag_the_env_or_amber_yaml(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amber._config import load_config
    from amber.cli._verifying import app_python_of

    (env / "amber.yaml").write_text("version: 1\ntestgen:\n  app_python: venv/bin/python\n")
    config = load_config(env / "amber.yaml")
    monkeypatch.delenv("AMBER_APP_PYTHON", raising=False)
    assert app_python_of(config, None, False) == "venv/bin/python"
    monkeypatch.setenv("AMBER_APP_PYTHON", "/opt/app/bin/python")
    assert app_python_of(config, None, False) == "/opt/app/bin/python"
    assert app_python_of(config, "flag/python", False) == "flag/python"
    monkeypatch.delenv("AMBER_APP_PYTHON")
    (env / "amber.yaml").write_text("version: 1\n")
    plain = load_config(env / "amber.yaml")
    assert app_python_of(plain, None, False) is None  # in-process
    assert app_python_of(plain, None, True) == sys.executable  # --fresh-process
