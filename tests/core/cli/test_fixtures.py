from __future__ import annotations

import json
from pathlib import Path

from amber._store import Store
from amber.fixtures import Fixture
from tests.conftest import make_exchange
from tests.fixtures.conftest import build


def run_fixtures(*argv: str) -> tuple[int, str, str]:
    """`amber fixtures ...` through the CLI's entry point."""
    import contextlib
    import io

    from amber.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["fixtures", *argv])
    return code, out.getvalue(), err.getvalue()


def test_fixtures_command_proposes_extracts_and_audits(env: Path) -> None:
    src = f"sqlite:///{env / 'src.db'}"
    build(src)
    ex = make_exchange(path="/orders/100")
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(ex)
    code, out, err = run_fixtures(ex.id, "--source-db", src, "-o", "fx.yaml",
                           "--reason", "bug 42")
    assert code == 0, err
    assert "orders.id = {path.id}" in err and "wrote fx.yaml" in out
    fx = Fixture.read(env / "fx.yaml")
    assert fx.row_counts["orders"] == 1 and fx.meta["exchange"] == ex.id
    record = json.loads((env / ".amber" / "audit.jsonl").read_text())
    assert record["reason"] == "bug 42" and record["tables"]["orders"] == 1
    assert record["command"] == "fixtures" and record["rows"] == sum(fx.row_counts.values())
    assert record["argv"][:3] == ["amber", "fixtures", ex.id] and record["user"]


def test_fixtures_command_unreachable_db(env: Path) -> None:
    ex = make_exchange(path="/orders/100")
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(ex)
    code, _, err = run_fixtures(ex.id, "--source-db", "postgresql://x:pw@127.0.0.1:1/db")
    assert code == 1 and "cannot read source database" in err and "pw" not in err
