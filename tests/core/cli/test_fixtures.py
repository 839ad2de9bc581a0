from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from amber._store import Store
from amber.fixtures import Fixture
from tests.conftest import make_exchange
from tests.core.test_store_readonly import ROOT
from tests.core.test_store_readonly import snapshot
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
    code, out, err = run_fixtures(ex.id, "--source-db", src, "-o", "fx.yaml", "--reason", "bug 42")
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


def test_fixtures_command_only_reads_the_store(env: Path) -> None:
    """The store is opened read-only: one whose writer died, leaving its exchange in a WAL
    nobody checkpointed, is read and left byte for byte as it was (WAL and -shm included)."""
    src = f"sqlite:///{env / 'src.db'}"
    build(src)
    db = env / "store" / "store.db"
    db.parent.mkdir()
    code = textwrap.dedent(f"""
        import os
        from amber._store import Store
        from tests.conftest import make_exchange
        store = Store.open({f"sqlite:///{db}"!r})
        store.add_many([make_exchange(path="/orders/100", request_id="in-the-wal")])
        os._exit(0)
    """)
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        check=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    before = snapshot(db)
    assert before["-wal"] is not None
    code_, out, err = run_fixtures(
        "in-the-wal", "--source-db", src, "-o", "fx.yaml", "--store", f"sqlite:///{db}"
    )
    assert code_ == 0, err
    assert snapshot(db) == before
