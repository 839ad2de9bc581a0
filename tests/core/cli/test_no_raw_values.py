"""One output gate: a target's raw values reach no artifact of `amber replay` or `amber shadow`.

The targets answer with real names, usernames, emails, phones, addresses, customer ids,
`api_token` and `refresh_token` values in JSON, an email in a header and a session in
`Set-Cookie`; a GitHub token is pasted into `--reason`. Every artifact is then read as bytes:
the store's file (run tables), `--json` output, the terminal, the HTML report, the noise
file, the audit log and `amber runs`.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

from amber._config import Config
from amber._ingest import Pipeline
from amber._pseudonym import Pseudonymizer
from amber._routes import Router
from amber._store import Store
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from tests.core.cli.conftest import Run
from tests.replay.apps import people
from tests.servers import serve

REASON_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def test_no_raw_value_from_a_target_is_written_or_printed_anywhere(env: Path, amber: Run) -> None:
    key = "test-key-0123456789abcdef"  # the env fixture's AMBER_KEY: capture's and the run's
    pipeline = Pipeline(
        Sanitizer(SanitizeConfig(), Pseudonymizer(key.encode())), Router(["/people/{pid}"])
    )
    assert Config().section("sanitize") == {}
    outputs: list[str] = []
    with ExitStack() as stack:
        good = stack.enter_context(serve(people.make_app(drift=True)))
        good2 = stack.enter_context(serve(people.make_app(drift=True)))
        broken = stack.enter_context(serve(people.make_app(broken=True, drift=True)))
        with Store.open(f"sqlite:///{env / 'store.db'}") as s:
            s.add_many(people.capture(good, [f"/people/{i % 2}" for i in range(40)], pipeline))
        reason = f"checking the fix, token {REASON_TOKEN}"
        code, out, err = amber(
            "shadow",
            "--baseline",
            good,
            "--baseline2",
            good2,
            "--candidate",
            broken,
            "--save-noise",
            str(env / "noise.yaml"),
            "--html",
            str(env / "report.html"),
            "--json",
            "--reason",
            reason,
        )
        outputs += [out, err]
        assert code == 1, out + err
        report = json.loads(out)
        fields = [f["path"] for r in report["routes"] for f in r["fields"] if f["reported"]]
        assert {"body$.user.email", "body$.user.name"} <= set(fields)
        code, out, err = amber("shadow", "--baseline", good, "--candidate", broken)
        outputs += [out, err]
        code, out, err = amber(
            "replay", "--target", broken, "--noise", str(env / "noise.yaml"), "--reason", reason
        )
        outputs += [out, err]
        assert code == 1 and "body$.user.name" in out + err, out + err
        code, out, err = amber("replay", "--target", broken, "--json")
        outputs += [out, err]
        assert code == 1
        run_ids = {json.loads(x)["run"] for x in out.splitlines() if '"run"' in x}
    for args in (("runs",), ("runs", "--json"), *(("runs", r) for r in run_ids)):
        code, out, err = amber(*args)
        assert code == 0, out + err
        outputs += [out, err]
    noise = (env / "noise.yaml").read_text()
    assert "served_at" in noise  # learned from the two baselines, in sanitized space
    artifacts = {
        "terminal and --json": "".join(outputs).encode(),
        "HTML report": (env / "report.html").read_bytes(),
        "noise file": noise.encode(),
        "audit log": (env / ".amber" / "audit.jsonl").read_bytes(),
        "store": b"".join(p.read_bytes() for p in env.glob("store.db*")),
    }
    assert REASON_TOKEN.encode() not in b"".join(artifacts.values())
    assert b"checking the fix" in artifacts["audit log"]
    for where, blob in artifacts.items():
        for value in people.RAW:
            assert value.encode() not in blob, f"{value!r} in the {where}"
