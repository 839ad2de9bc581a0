from __future__ import annotations

from pathlib import Path

from amber._store import Store
from tests.conftest import make_exchange
from tests.core.cli.conftest import Run


def test_plain_output_in_pipes_is_complete_and_tab_separated(env: Path, amber: Run) -> None:
    long_path = "/search/" + "x" * 300
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add_many(
            [
                make_exchange(1, path=long_path, query="q=1"),
                make_exchange(2, status=None, error="refused"),
            ]
        )
    code, out, _ = amber("ls")
    lines = out.splitlines()
    assert lines[0].split("\t")[:4] == ["ID", "CAPTURED (UTC)", "METHOD", "STATUS"]
    assert lines[1].split("\t")[3] == "ERR"  # newest first; an upstream error
    assert long_path + "?q=1" in lines[2].split("\t")


def test_empty_store(env: Path, amber: Run) -> None:
    Store.open(f"sqlite:///{env / 'store.db'}").close()
    code, out, _ = amber("ls", "--oldest-first")
    assert code == 0 and out.splitlines() == [
        "ID\tCAPTURED (UTC)\tMETHOD\tSTATUS\tMS\tROUTE\tPATH\tREQUEST ID"
    ]


def test_json_lines_are_typed_and_each_field_keeps_its_type(env: Path, amber: Run) -> None:
    import json

    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add_many([make_exchange(1), make_exchange(2, status=None, error="refused")])
    code, out, _ = amber("ls", "--json")
    ok, failed = (json.loads(x) for x in out.splitlines()[::-1])
    assert code == 0 and ok["type"] == failed["type"] == "exchange" and list(ok) == list(failed)
    # nulls only where docs/cli.md says so: status and duration (no response), error
    for key in ok:
        if key in ("status", "error", "duration_ms", "request_id"):
            continue
        assert type(ok[key]) is type(failed[key]), key
    assert isinstance(ok["truncated"], bool) and isinstance(ok["started_at"], float)
    assert failed["status"] is None and failed["error"] == "refused"
    code, out, _ = amber("stats", "--json")
    assert json.loads(out)["type"] == "stats"
    code, out, _ = amber("show", ok["id"], "--json")
    assert json.loads(out)["type"] == "exchange"
