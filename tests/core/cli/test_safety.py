"""Production safety: refusals name the flags that allow them; every action is audited."""

from __future__ import annotations

import json
import os
import stat
from contextlib import ExitStack
from pathlib import Path

from amber._store import Store
from tests.conftest import make_exchange
from tests.core.cli.conftest import Run
from tests.core.cli.conftest import apps


def config(env: Path, url: str) -> None:
    (env / "amber.yaml").write_text(
        f"targets:\n  prod: {{url: '{url}', label: production, rate: 50}}\n"
        f"  local: {{url: '{url}', label: local}}\n"
    )


def test_production_needs_a_reason_and_confirmed_writes(recorded: Path, amber: Run) -> None:
    with ExitStack() as stack:
        (url,) = apps(stack, 1)
        config(recorded, url)
        code, _, err = amber("replay", "--target", "prod")
        assert code == 2 and "--reason" in err and "production" in err
        code, _, err = amber("replay", "--target", "prod", "--reason", "INC-1")
        assert code == 2 and "--allow-writes --confirm prod" in err
        assert "24 writes" in err  # 12 logins + 12 order creations
        # the target's URL instead of its name is that target: refused the same way
        code, _, err = amber("replay", "--target", url + "/")
        assert code == 2 and "labelled production" in err and "--reason" in err
        assert "is target 'prod' in amber.yaml" in err
        code, _, err = amber(
            "replay",
            "--target",
            "prod",
            "--reason",
            "INC-1",
            "--allow-writes",
            "--confirm",
            "local",
        )
        assert code == 2 and "--confirm prod" in err
        # reads only: allowed, and slowed down to the target's rate
        code, out, err = amber(
            "replay",
            "--target",
            "prod",
            "--reason",
            "INC-1",
            "--method",
            "GET",
            "--json",
            "--exit-zero",
        )
        assert code == 0, err
        assert "limited to 50 requests/s" in err
        code, out, err = amber(
            "replay",
            "--target",
            "prod",
            "--reason",
            "INC-1",
            "--allow-writes",
            "--confirm",
            "prod",
            "--json",
            "--exit-zero",
        )
        assert code == 0, err
        sent = json.loads(out.splitlines()[-1])["sent"]
        assert sent == 60
        # a local target needs none of this
        code, _, err = amber("replay", "--target", "local", "--json", "--exit-zero")
        assert code == 0, err


def test_refused_runs_are_audited(recorded: Path, amber: Run) -> None:
    with ExitStack() as stack:
        (url,) = apps(stack, 1)
        (recorded / "amber.yaml").write_text(
            f"targets:\n  prod: {{url: '{url}', label: production, rate: 50}}\n"
        )
        code, _, _ = amber("replay", "--target", url, "--reason", "INC-2")
        assert code == 2
        code, _, _ = amber("shadow", "--baseline", "prod", "--candidate", url)
        assert code == 2
    code, out, _ = amber("audit", "--json")
    entries = [json.loads(x) for x in out.splitlines()]
    assert [(e["command"], e["target"], e["sent"]) for e in entries] == [
        ("replay", "prod", 0),
        ("shadow", "prod", 0),
    ]
    assert entries[0]["writes"] == 24 and "refusing to send 24 writes" in entries[0]["refused"]
    assert entries[0]["reason"] == "INC-2" and "--reason" in entries[1]["refused"]


def test_every_target_command_is_audited(recorded: Path, amber: Run) -> None:
    with ExitStack() as stack:
        (url,) = apps(stack, 1)
        config(recorded, url)
        amber(
            "replay",
            "--target",
            "local",
            "--reason",
            "checking the fix",
            "--exit-zero",
            "--method",
            "GET",
            "--json",
        )
        amber(
            "shadow", "--baseline", "local", "--candidate", "local", "--reason", "canary", "--json"
        )
    code, out, _ = amber("audit", "--json")
    entries = [json.loads(x) for x in out.splitlines()]
    assert [e["command"] for e in entries] == ["replay", "shadow"]
    replay, shadow = entries
    assert replay["reason"] == "checking the fix" and replay["sent"] == 36
    assert replay["target"].startswith("http://127.0.0.1:")
    assert shadow["requests"] == 36 and shadow["reason"] == "canary"
    log = recorded / ".amber" / "audit.jsonl"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    code, out, _ = amber("audit", "--command", "shadow")
    assert "canary" in out and "checking the fix" not in out


def test_audited_command_lines_hide_secrets() -> None:
    from amber._audit import mask_argv

    masked = mask_argv(
        [
            "amber",
            "replay",
            "--target",
            "https://ci:hunter2@staging/x",
            "--token",
            "abc",
            "--password=xyz",
            "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        ]
    )
    assert masked == [
        "amber",
        "replay",
        "--target",
        "https://ci:***@staging/x",
        "--token",
        "***",
        "--password=***",
        "***",
    ]


def test_the_key_is_in_no_artifact(env: Path, amber: Run) -> None:
    key = os.environ["AMBER_KEY"]
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(make_exchange(1, status=500, body=b'{"email": "a@corp.io"}'))
    amber("export", "--format", "jsonl", "-o", str(env / "out.jsonl"))
    amber("gen-test", "req-1", "--out", str(env / "tests"))
    for path in env.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert key.encode() not in data and key.encode().hex().encode() not in data, path
    code, out, _ = amber("scan", str(env))
    # the planted test data may produce findings; the key must not be one of them
    assert "amber-key" not in out
    (env / "leak.txt").write_text(f"oops {key}\n")
    code, out, _ = amber("scan", str(env / "leak.txt"))
    assert code == 1 and "amber-key" in out and key not in out


def test_production_sources_need_a_reason_and_are_audited(env: Path, amber: Run) -> None:
    from tests.fixtures.conftest import build

    src = f"sqlite:///{env / 'replica.db'}"
    build(src)
    ex = make_exchange(path="/orders/100")
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(ex)
    (env / "amber.yaml").write_text(
        f"sources:\n  replica: {{url: '{src}', label: production}}\n"
        f"  copy: {{url: '{src}', label: local}}\n"
    )
    code, _, err = amber("fixtures", ex.id, "--source-db", "replica", "-o", "a.yaml")
    assert code == 2 and "labelled production" in err and "--reason" in err
    assert not (env / "a.yaml").exists()
    code, _, err = amber("gen-test", ex.id, "--out", "t", "--source-db", "replica")
    assert code == 2 and "--reason" in err and not (env / "t").exists()
    code, _, err = amber("fixtures", ex.id, "--source-db", "nope")
    assert code == 2 and "unknown source database 'nope'" in err and "replica" in err
    code, _, err = amber(
        "fixtures", ex.id, "--source-db", "replica", "-o", "a.yaml", "--reason", "INC-9: NULL email"
    )
    assert code == 0, err
    code, _, err = amber("fixtures", ex.id, "--source-db", "copy", "-o", "b.yaml")
    assert code == 0, err
    code, out, _ = amber("audit", "--json", "--command", "fixtures")
    entries = [json.loads(x) for x in out.splitlines()]
    assert [(e["source"], e.get("label"), e["reason"]) for e in entries] == [
        ("replica", "production", "INC-9: NULL email"),
        ("copy", "local", None),
    ]
    assert entries[0]["rows"] == sum(entries[0]["tables"].values()) > 0
    assert entries[0]["argv"][:4] == ["amber", "fixtures", ex.id, "--source-db"]


def test_unlabelled_remote_sources_are_warned_about(env: Path, amber: Run) -> None:
    ex = make_exchange(path="/orders/100")
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add(ex)
    code, _, err = amber(
        "fixtures", ex.id, "--source-db", "postgresql://ro:pw@db.invalid:1/app", "--reason", "x"
    )
    assert code == 1 and "unlabelled source database" in err
    assert "pw@" not in err and "ro:***@db.invalid" in err
