from __future__ import annotations

import base64
from pathlib import Path

import pytest

from amber._store import Store
from tests.conftest import make_exchange
from tests.core.cli.conftest import Run

GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_clean_artifacts_pass(env: Path, amber: Run) -> None:
    (env / "out").mkdir()
    (env / "out" / "test_x.py").write_text(
        'HEADERS = {"authorization": "Bearer [REDACTED:authorization]"}\n'
        'EMAIL = "jordan.smith@example.com"\nIP = "192.0.2.17"\n'
    )
    code, out, err = amber("scan", str(env / "out"))
    assert code == 0, out
    assert "1 files" in err and "0 findings" in err


def test_findings_name_place_and_rule_never_the_value(env: Path, amber: Run) -> None:
    p = env / "fixture.yaml"
    p.write_text(f"rows:\n  - token: ok\n  - note: 'deploy with {GH}'\n  - mail: x@corp.io\n")
    code, out, _ = amber("scan", str(p))
    assert code == 1
    assert f"{p}:3:" in out and "github" in out.lower()
    assert f"{p}:4:" in out
    assert GH not in out and "x@corp.io" not in out


def test_json_lines_are_typed_findings_of_strings(env: Path, amber: Run) -> None:
    import json

    p = env / "fixture.yaml"
    p.write_text(f"rows:\n  - note: 'deploy with {GH}'\n")
    leaky = make_exchange(1, body=b'{"note": "' + GH.encode() + b'"}')
    with Store.open(f"sqlite:///{env / 'leaky.db'}") as s:
        s.add(leaky)
    code, out, _ = amber("scan", "--json", str(p), str(env / "leaky.db"))
    assert code == 1 and GH not in out
    lines = [json.loads(x) for x in out.splitlines()]
    assert lines and all(set(x) == {"type", "where", "rule", "location"} for x in lines)
    assert all(x["type"] == "finding" for x in lines)
    assert all(type(x[k]) is str for x in lines for k in ("where", "rule", "location"))
    # a text line has no location inside it: "" (a string still), not null
    assert {x["location"] for x in lines if x["where"].startswith(f"{p}:")} == {""}
    assert any(x["location"] == "response.body$.note" for x in lines)


def test_scans_inside_a_store_with_compressed_bodies(env: Path, amber: Run) -> None:
    # a store written without the sanitizer (e.g. by an old or buggy tool) must be caught,
    # including in zstd-compressed bodies that a byte search of the file cannot see
    # (the key is neutral: `k` would be a signed-URL parameter, found by the field rules)
    leaky = make_exchange(
        1, body=b'{"note": "' + GH.encode() + b'", "pad": "' + b"z" * 9000 + b'"}'
    )
    with Store.open(f"sqlite:///{env / 'leaky.db'}") as s:
        s.add(leaky)
    code, out, _ = amber("scan", str(env / "leaky.db"))
    assert code == 1
    assert f"exchange {leaky.id}: response.body$.note: github-token" in out
    assert GH not in out


def test_the_pseudonym_key_is_a_finding(
    env: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "super-secret-amber-key-123456"
    monkeypatch.setenv("AMBER_KEY", key)
    noise = base64.b64encode(b"x").decode()
    (env / "report.json").write_text(f'{{"key": "{noise}", "k": "{key}"}}')
    code, out, _ = amber("scan", str(env / "report.json"))
    assert code == 1 and "amber-key" in out and key not in out


def test_missing_path_is_a_usage_error(env: Path, amber: Run) -> None:
    code, _, err = amber("scan", str(env / "nope"))
    assert code == 2 and "no such file" in err


def test_scans_the_compressed_results_of_runs(env: Path, amber: Run) -> None:
    from amber._runs import RunLog
    from amber._runs import RunResult

    with Store.open(f"sqlite:///{env / 'runs.db'}") as s:
        s.add(make_exchange(1))
        log = RunLog(s)
        clean = log.start("replay", "http://127.0.0.1:1", {})
        log.add(clean, [RunResult("A", 1.0, 200, 1.0, True)])
        leaky = log.start("replay", "http://127.0.0.1:1", {})
        # a difference whose value escaped cleaning (a bug, or a result written by hand)
        log.add(
            leaky,
            [
                RunResult(
                    f"E{i}",
                    1.0,
                    200,
                    1.0,
                    False,
                    differences=[
                        {
                            "path": "body$.token",
                            "expected": "[REDACTED:github-token]",
                            "actual": GH if i == 700 else "[REDACTED:sensitive-key]",
                            "pad": "p" * 200,
                        }
                    ],
                )
                for i in range(800)
            ],
        )
    code, out, _ = amber("scan", str(env / "runs.db"))
    assert code == 1, out
    assert f"run {leaky} result 700 (exchange E700): differences[0].actual: " in out
    assert [line for line in out.splitlines() if " run " in line] == [
        f"{env / 'runs.db'} run {leaky} result 700 (exchange E700): differences[0].actual: "
        "sensitive-key"
    ]
    assert clean not in out and GH not in out


def test_a_json_snapshot_is_checked_with_its_keys(env: Path, amber: Run) -> None:
    """A generated test's snapshot is a JSON document: a barcode under `gtin` is no card
    there, as it was none at capture; a key under `api_key` is still a finding."""
    snap = env / "snap.json"
    snap.write_text('{\n  "body": {"json": {"gtin": "4039621723216", "oid": "2.5.29.17"}}\n}\n')
    code, out, err = amber("scan", str(snap))
    assert code == 0, out
    snap.write_text('{\n  "body": {"json": {"api_key": "f00dfeed0123456789abcdef"}}\n}\n')
    code, out, _ = amber("scan", str(snap))
    assert code == 1 and "body.json.api_key: sensitive-key" in out
    assert "f00dfeed" not in out


def test_a_json_document_with_a_log_string_is_no_har(env: Path, amber: Run) -> None:
    """Only `{"log": {...}` opens a HAR file: a snapshot or a JSON log whose first member is
    a `"log"` string is read as JSON with its keys (a `gtin` barcode under its key is no
    card; a token under `api_key` is a finding), not misread as a HAR that fails to parse."""
    doc = env / "snap.json"
    doc.write_text('{"log": "deploy started", "gtin": "4039621723216"}\n')
    code, out, err = amber("scan", str(doc))
    assert code == 0, out
    assert "not readable as har" not in err
    doc.write_text('{"log": "deploy started", "api_key": "f00dfeed0123456789abcdef"}\n')
    code, out, _ = amber("scan", str(doc))
    assert code == 1 and "api_key: sensitive-key" in out
    har = env / "flows.har"
    har.write_text('{ "log" : {"version": "1.2", "entries": []}}\n')
    code, out, err = amber("scan", str(har))
    assert code == 0 and "not readable" not in err


def test_amber_s_own_pseudonyms_percent_encoded_are_no_finding(env: Path, amber: Run) -> None:
    """A generated test's form body holds amber's pseudonyms percent-encoded (`%40`, `%2B`):
    they are its own output there as in plain text; a real address encoded so is a finding."""
    p = env / "test_form.py"
    p.write_text(
        'BODY = b"name=Jordan+Smith&phone=%2B1+202-555-0147&email=jordan.smith%40example.com"\n'
        'BODY2 = "phone=%2B1%20(202)%20555-0147"\n'
    )
    code, out, _ = amber("scan", str(p))
    assert code == 0, out
    p.write_text(
        'BODY = b"name=Jordan+Smith&email=ann.lee%40corp.io&phone=%2B44%2020%207123%204567"\n'
    )
    code, out, _ = amber("scan", str(p))
    assert code == 1 and "email" in out and "phone" in out, out
    assert "corp.io" not in out and "7123" not in out
