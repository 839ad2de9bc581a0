from __future__ import annotations

import json
from pathlib import Path

from amber._audit import append_audit
from amber._audit import record
from amber._audit import refusal
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


def test_json_lines_are_typed_and_each_field_keeps_its_type(env: Path, amber: Run) -> None:
    log = env / ".amber" / "audit.jsonl"
    append_audit(log, record("replay", ["amber", "replay"], reason=None, target="http://x", sent=3))
    append_audit(log, refusal("shadow", ["amber"], reason="r", target="prod", refused="no"))
    # an older extraction record (no command), a damaged line, a record with odd types
    with log.open("a") as fp:
        fp.write('{"when": "2026-01-01T00:00:00Z", "user": "u", "source": "replica"}\n')
        fp.write("{not json\n")
        fp.write('{"when": null, "user": 7, "command": "replay", "argv": ["a", 1], "type": "x"}\n')
    code, out, _ = amber("audit", "--json")
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["type"] for x in lines] == ["audit", "audit", "audit", "unreadable", "audit"]
    assert lines[3] == {"type": "unreadable", "line": 4}
    for e in lines[:3] + lines[4:]:
        for k in ("when", "user", "command"):
            assert type(e[k]) is str, (k, e)
        assert all(type(a) is str for a in e["argv"])
        for k in ("target", "source", "reason"):
            assert e[k] is None or type(e[k]) is str, (k, e)
    assert lines[0]["sent"] == 3 and lines[0]["source"] is None and lines[0]["reason"] is None
    assert lines[1]["refused"] == "no" and lines[1]["target"] == "prod"
    assert lines[2]["command"] == "fixtures" and lines[2]["argv"] == []
    assert lines[2]["source"] == "replica" and lines[2]["target"] is None
    assert lines[4]["user"] == "7" and lines[4]["argv"] == ["a", "1"] and lines[4]["when"] == ""
