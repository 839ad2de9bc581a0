from __future__ import annotations

import os
import stat
from pathlib import Path

from amber._audit import append_audit
from amber._audit import read_audit
from amber._audit import record


def test_append_only_private_and_tolerant(tmp_path: Path) -> None:
    log = tmp_path / "sub" / "audit.jsonl"
    append_audit(log, record("replay", ["amber", "replay"], reason="r1", target="t", sent=3))
    with log.open("a") as fp:
        fp.write("{not json\n")
    append_audit(log, record("shadow", ["amber", "shadow"], reason=None, target="t"))
    entries = list(read_audit(log))
    assert [e.get("command") for e in entries] == ["replay", None, "shadow"]
    assert entries[1] == {"unreadable_line": 2}
    assert entries[0]["sent"] == 3 and entries[0]["user"]
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(log.parent).st_mode) == 0o700
    assert list(read_audit(tmp_path / "missing.jsonl")) == []


TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def test_a_token_or_an_email_in_the_reason_is_never_stored_raw(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    reason = f"hotfix for ann.smith@corp.com, token {TOKEN}"
    argv = ["amber", "replay", "--reason", reason, f"--reason={reason}"]
    append_audit(log, record("replay", argv, reason=reason, target="t"))
    raw = log.read_bytes()
    assert TOKEN.encode() not in raw and b"ann.smith@corp.com" not in raw
    (entry,) = read_audit(log)
    assert entry["reason"].startswith("hotfix for ") and "[REDACTED:" in entry["reason"]
    assert entry["argv"][:3] == ["amber", "replay", "--reason"]
    # a plain reason is kept as typed
    assert record("replay", [], reason="nightly check")["reason"] == "nightly check"


def test_a_raw_byte_in_any_field_is_written_as_an_escape_and_read_back(tmp_path: Path) -> None:
    # a route or path holding a byte that is not UTF-8 (kept by surrogateescape) once made
    # the record unencodable and failed the run that audited it
    log = tmp_path / "audit.jsonl"
    raw = b"/p/caf\xe9".decode("utf-8", "surrogateescape")
    append_audit(log, {"routes": {raw: 2}, "refused": f"POST {raw}", "when": Path("x")})
    data = log.read_bytes()
    data.decode("utf-8")  # valid UTF-8 on disk
    assert b"\\udce9" in data and b"\xe9" not in data
    (entry,) = read_audit(log)
    assert entry == {"routes": {raw: 2}, "refused": f"POST {raw}", "when": "x"}
