from __future__ import annotations

import json
from pathlib import Path

from amber._audit import append_audit
from amber._audit import record
from tests.core.cli.conftest import Run


def test_filters(env: Path, amber: Run) -> None:
    log = env / ".amber" / "audit.jsonl"
    append_audit(log, record("replay", ["amber"], reason="a", target="http://x"))
    append_audit(log, record("shadow", ["amber"], reason="b", target="http://y"))
    code, out, _ = amber("audit", "--json", "--target", "y")
    assert [json.loads(x)["reason"] for x in out.splitlines()] == ["b"]
    code, out, _ = amber("audit", "--since", "1h")
    assert "replay" in out and "shadow" in out
    code, out, _ = amber("audit", "--file", str(env / "none.jsonl"))
    assert "no audit entries" in out
