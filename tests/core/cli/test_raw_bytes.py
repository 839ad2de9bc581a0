"""An exchange with raw non-UTF-8 bytes (`GET /p/caf\\xe9`) through the commands: shown,
listed, counted, exported and imported again, with the same strings where the output is
exact (JSON, exports) and escaped (`\\xe9`) where it is for reading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amber._model import Exchange
from amber._store import Store
from tests.conftest import make_exchange
from tests.core.cli.conftest import Run
from tests.core.test_store_text import RAW
from tests.core.test_store_text import hostile
from tests.replay.conftest import AppState
from tests.replay.conftest import make_app
from tests.servers import serve


@pytest.fixture
def stored(env: Path) -> Exchange:
    ex = hostile(1)
    with Store.open(f"sqlite:///{env / 'store.db'}") as store:
        store.add_many([ex, make_exchange(2)])
    return ex


def test_show_gives_the_exact_exchange_as_json_and_escapes_it_as_text(
    stored: Exchange, amber: Run
) -> None:
    code, out, _ = amber("show", stored.id, "--json")
    assert code == 0
    assert Exchange.from_dict(json.loads(out)) == stored
    code, out, _ = amber("show", stored.id)
    assert code == 0
    assert "> G\\xc9T /p/caf\\xe9?q=\\xff&x=1 HTTP/1.1" in out
    assert "X-B\\xe9: v\\xe9l" in out and "X-Raw: \\x80\\x00" in out
    code, out, _ = amber("show", "rid-\udce9")  # the request id, as a shell passes raw bytes
    assert code == 0 and stored.id in out


def test_ls_and_stats_list_and_filter_it(stored: Exchange, amber: Run) -> None:
    code, out, _ = amber("ls", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["path"] for r in rows] == ["/users/2/orders", RAW]
    code, out, _ = amber("ls", "--path", RAW, "--json")
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == [stored.id]
    code, out, _ = amber("ls", "--route", stored.route)
    assert code == 0 and "/p/caf\\xe9?q=\\xff&x=1" in out and len(out.splitlines()) == 2
    code, out, _ = amber("stats", "--json")
    assert code == 0
    assert {r["route"] for r in json.loads(out)["routes"]} == {
        "G\\xc9T /p/{raw}\\xe9",
        "GET /users/{id}/orders",
    }


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_export_and_import_keep_the_raw_bytes(
    stored: Exchange, env: Path, amber: Run, fmt: str
) -> None:
    out_file = env / f"out.{fmt}"
    code, _, err = amber("export", "--format", fmt, "-o", str(out_file))
    assert code == 0, err
    target = f"sqlite:///{env / 'copy.db'}"
    code, _, err = amber("import", str(out_file), "--store", target)
    assert code == 0 and "imported 2 exchanges" in err
    with Store.open(target, read_only=True) as copy:
        got = copy.get(stored.id)
    req = got.request
    assert (req.method, req.path, req.query, req.host) == (
        "G\udcc9T",
        RAW,
        "q=\udcff&x=1",
        "h\udce9st.internal",
    )
    assert ("X-B\udce9", "v\udce9l") in req.headers


def test_export_as_curl_writes_the_bytes_in_ansi_c_quotes(stored: Exchange, amber: Run) -> None:
    code, out, _ = amber("export", "--format", "curl", "--path", RAW)
    assert code == 0
    assert "$'http://h\\xe9st.internal:8000/p/caf\\xe9?q=\\xff&x=1'" in out


def test_a_replay_of_it_is_kept_and_read_back(env: Path, amber: Run) -> None:
    """`RunLog` wrote results with orjson, which refuses the surrogate-escaped byte: the
    replay of such an exchange failed once it was sent. Its result is stored, printed as
    JSON with the exact path, and read back by `amber runs`."""
    ex = make_exchange(1, path=RAW, status=404, body=b"not found")
    with Store.open(f"sqlite:///{env / 'store.db'}") as store:
        store.add_many([ex])
    with serve(make_app(AppState())) as url:
        code, out, err = amber("replay", ex.id, "--target", url, "--json", "--exit-zero")
    assert code == 0, err
    result, summary = (json.loads(line) for line in out.splitlines())
    assert result["path"] == RAW and summary["sent"] == 1
    code, out, _ = amber("runs", summary["run"], "--json")
    head, stored = (json.loads(line) for line in out.splitlines())
    assert code == 0 and head["type"] == "run" and stored["path"] == RAW
    code, out, _ = amber("runs", summary["run"])
    [row] = [line for line in out.splitlines() if line.startswith(ex.id)]
    assert code == 0 and row.split()[1:5] == ["GET", "/p/caf\\xe9", "404", "400"]
