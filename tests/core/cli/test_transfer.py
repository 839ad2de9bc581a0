from __future__ import annotations

import json
from pathlib import Path

from amber._har import write_har
from amber._store import Store
from tests.conftest import T0
from tests.conftest import make_exchange
from tests.core.cli.conftest import DATA
from tests.core.cli.conftest import Run


def write_incident_har(path: Path) -> None:
    """A HAR as a production proxy would export it: secrets included, an incident at t=60."""
    exs = []
    for i in range(120):
        status = 500 if (i >= 60 and i % 3 == 0) else 200
        exs.append(
            make_exchange(
                i,
                status=status,
                path=f"/users/{i}/orders" if i % 2 else f"/products/{i}",
                req_headers=(
                    ("Authorization", "Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dcXYZ"),
                    ("X-Request-ID", f"req-{i}"),
                    ("Cookie", "sessionid=abc123secret"),
                ),
                body=b'{"email": "jane.doe@corp-mail.io", "ok": true}',
            )
        )
    with path.open("wb") as fp:
        write_har(exs, fp, creator_version="test")


def test_import_sanitizes_then_ls_show_export_stats(env: Path, amber: Run) -> None:
    har = env / "prod.har"
    write_incident_har(har)
    code, _, err = amber("import", str(har))
    assert code == 0, err
    assert "imported 120 exchanges" in err

    code, out, _ = amber("ls", "--status", "5xx", "--limit", "0", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 20 and all(r["status"] == 500 for r in rows)
    assert rows[0]["started_at"] > rows[-1]["started_at"]  # newest first

    code, out, _ = amber(
        "ls", "--route", "/users/{id}/orders", "--status", "500", "--since", str(T0 + 100), "--json"
    )
    assert {json.loads(line)["path"] for line in out.splitlines()} == {
        "/users/105/orders",
        "/users/111/orders",
        "/users/117/orders",
    }

    code, out, _ = amber("show", "req-63")
    assert code == 0
    assert "GET /users/63/orders" in out and "500" in out
    assert "sk_live_4eC39HqLyjWDarjtT1zdp7dcXYZ" not in out and "abc123secret" not in out
    assert "jane.doe@corp-mail.io" not in out and "example." in out  # pseudonymized email

    for fmt in ("har", "jsonl", "curl"):
        code, _, err = amber(
            "export", "--format", fmt, "-o", str(env / f"out.{fmt}"), "--status", "5xx"
        )
        assert code == 0, err
        data = (env / f"out.{fmt}").read_bytes()
        assert b"sk_live_4eC39HqLyjWDarjtT1zdp7dcXYZ" not in data
        assert b"abc123secret" not in data and b"jane.doe" not in data
    har_doc = json.loads((env / "out.har").read_text())
    assert har_doc["log"]["version"] == "1.2" and len(har_doc["log"]["entries"]) == 20

    code, out, _ = amber("stats", "--json", "--bucket", "30s")
    doc = json.loads(out)
    assert doc["incident_start"] == (int(T0 + 60) // 30) * 30
    routes = {r["route"]: r for r in doc["routes"]}
    assert routes["GET /users/{id}/orders"]["5xx"] == 10
    code, out, _ = amber("stats")
    assert "errors rise from" in out and "/users/{id}/orders" in out


def test_reimport_of_own_export_skips_duplicates(env: Path, amber: Run) -> None:
    har = env / "prod.har"
    write_incident_har(har)
    amber("import", str(har))
    amber("export", "--format", "jsonl", "-o", str(env / "all.jsonl"))
    code, _, err = amber("import", str(env / "all.jsonl"))
    assert code == 0 and "skipped 120 already stored" in err


def test_import_of_a_browser_har(env: Path, amber: Run) -> None:
    code, _, err = amber("import", str(DATA / "chrome_devtools.har"))
    assert code == 0, err
    code, out, _ = amber("ls", "--json", "--limit", "0")
    methods = sorted(json.loads(line)["method"] for line in out.splitlines())
    assert methods == ["GET", "GET", "GET", "POST", "POST"]  # the websocket entry is skipped
    code, out, _ = amber("ls", "--status", "error", "--json")
    assert len(out.splitlines()) == 1


def test_bad_inputs_exit_nonzero_with_one_line(env: Path, amber: Run) -> None:
    (env / "broken.har").write_text('{"log": {"entries": [{"request": {}}]}}')
    code, _, err = amber("import", str(env / "broken.har"))
    assert code == 1 and err.startswith("amber import: error:")
    assert len(err.strip().splitlines()) == 1

    code, _, err = amber("show", "does-not-exist")
    assert code == 1 and "amber ls" in err

    code, _, err = amber("ls", "--status", "5xz")
    assert code == 2 and "--status" in err

    code, _, err = amber("ls", "--since", "yesterday-ish")
    assert code == 2 and "ISO 8601" in err


def test_import_without_key_is_refused_before_touching_the_store(
    env: Path, amber: Run, monkeypatch: object
) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.delenv("AMBER_KEY")
    try:
        har = env / "prod.har"
        write_incident_har(har)
        code, _, err = amber("import", str(har))
    finally:
        mp.undo()
    assert code == 1 and "AMBER_KEY" in err
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        assert s.count() == 0


def test_corrupt_store_is_reported_and_kept(env: Path, amber: Run) -> None:
    (env / "store.db").write_bytes(b"garbage" * 100)
    code, _, err = amber("ls")
    assert code == 1 and "not a readable amber store" in err
    assert (env / "store.db").read_bytes() == b"garbage" * 100
