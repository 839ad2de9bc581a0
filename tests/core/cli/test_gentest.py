from __future__ import annotations

import ast
from pathlib import Path

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
