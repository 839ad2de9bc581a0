from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from pathlib import Path

import httpx

from amber._config import Config
from amber._model import Exchange
from amber._model import Request
from amber._model import new_id
from amber._runs import RunLog
from amber._store import Store
from amber.replay._auth import Auth
from amber.replay._run import SendOptions
from amber.replay._run import result_cleaner
from amber.replay._runner import Target
from amber.replay._shadow_run import ShadowRunner
from amber.replay._shadow_run import ShadowRunSettings
from amber.replay._shadow_run import Triple
from amber.replay._shadow_run import shadow_exchanges
from amber.replay._targets import Safety
from tests.conftest import make_exchange


def test_order_baseline_candidate_baseline2_and_writes_skipped() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host} {request.method} {request.url.path}")
        return httpx.Response(200, json={"host": request.url.host})

    transport = httpx.MockTransport(handler)
    runner = ShadowRunner(
        Target("http://base"),
        Target("http://cand"),
        Target("http://base2"),
        transport=transport,
        concurrency=1,
    )
    exs = [
        Exchange(new_id(), Request(m, "http", "x", 80, f"/{i}"))
        for i, m in enumerate(["GET", "POST", "DELETE", "GET"])
    ]
    # writes as they would be sent: any method but the four reads, and method overrides
    exs.insert(3, Exchange(new_id(), Request("PURGE", "http", "x", 80, "/cache")))
    exs.insert(
        3,
        Exchange(
            new_id(),
            Request("POST", "http", "x", 80, "/q", headers=(("X-HTTP-Method-Override", "DELETE"),)),
        ),
    )
    exs.insert(
        3,
        Exchange(
            new_id(),
            Request("GET", "http", "x", 80, "/g", headers=(("X-HTTP-Method-Override", "DELETE"),)),
        ),
    )
    triples: list[Triple] = []
    asyncio.run(runner.run(exs, triples.append))
    assert seen == [
        "base GET /0",
        "cand GET /0",
        "base2 GET /0",
        "base GET /3",
        "cand GET /3",
        "base2 GET /3",
    ]
    assert runner.skipped_writes == 5
    assert [t.candidate.response.json()["host"] for t in triples] == ["cand", "cand"]  # type: ignore[union-attr]


def test_one_baseline_is_asked_twice() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(204)

    runner = ShadowRunner(
        Target("http://base"),
        Target("http://cand"),
        transport=httpx.MockTransport(handler),
        allow_writes=True,
    )
    asyncio.run(
        runner.run([Exchange(new_id(), Request("POST", "http", "x", 80, "/"))], lambda t: None)
    )
    assert hosts == ["base", "cand", "base"] and runner.skipped_writes == 0


def test_the_shadow_use_case_reports_regressions_beyond_the_noise(
    store: Store, tmp_path: Path
) -> None:
    # baselines and candidate all drift in `at`; the candidate renames user 1
    ticks = itertools.count()

    def handler(request: httpx.Request) -> httpx.Response:
        name = "bob" if request.url.host == "cand" and request.url.path == "/users/1" else "ann"
        return httpx.Response(200, json={"name": name, "at": next(ticks)})

    json_headers = (("Content-Type", "application/json"),)
    exs = [
        make_exchange(
            i, path=f"/users/{i}", body=b'{"name": "ann", "at": 0}', resp_headers=json_headers
        )
        for i in range(4)
    ]
    exs.append(make_exchange(9, method="POST", path="/users", resp_headers=json_headers))
    store.add_many(exs)
    audit = tmp_path / "audit.jsonl"
    settings = ShadowRunSettings(
        Target("http://base"),
        Target("http://cand"),
        clean=result_cleaner(Config(), {"AMBER_KEY": "k" * 32}),
        sending=SendOptions(concurrency=1, transport=httpx.MockTransport(handler)),
        safety=Safety(reason="canary", audit_log=audit),
        params={"fail_on": None},
    )
    s = shadow_exchanges(store, settings)
    assert (s.state, s.requests, s.skipped_writes) == ("completed", 4, 1)
    assert [(r, f.path) for r, f in s.report.regressions()] == [("GET /users/{id}", "body$.name")]
    assert s.reasons and s.meta()["baseline2"] == "http://base"
    assert "at" in s.learned_noise()
    results = {r.path: r for r in RunLog(store).results(s.run_id)}
    assert results["/users/1"].regression_paths == ["body$.name"] and not results["/users/1"].ok
    assert results["/users/2"].ok and results["/users/2"].noise_paths == ["body$.at"]
    assert results["/users/2"].recorded_status == 200
    info = RunLog(store).get(s.run_id)
    assert (info.kind, info.state, info.summary) == (
        "shadow",
        "completed",
        {
            "requests": 4,
            "regressions": 1,
            "skipped_writes": 1,
            "errors": {"baseline": 0, "candidate": 0, "baseline2": 0},
            "gate": s.reasons,
        },
    )
    assert info.params == {"ids": [], "allow_writes": False, "fail_on": None}
    record = json.loads(audit.read_text())
    assert (record["command"], record["requests"], record["regressions"]) == ("shadow", 4, 1)
    assert record["target"] == "baseline http://base candidate http://cand"
    assert record["methods"] == {"GET": 4} and sum(record["routes"].values()) == 4


def test_each_target_logs_in_with_its_own_credentials() -> None:
    made: list[Auth] = []

    def auth() -> Auth:
        made.append(Auth(headers={"Authorization": f"Bearer {len(made)}"}))
        return made[-1]

    runner = ShadowRunner(
        Target("http://base"),
        Target("http://cand"),
        auth=auth,
        transport=httpx.MockTransport(lambda r: httpx.Response(204)),
    )
    assert [r.auth for r in (runner.primary, runner.candidate, runner.secondary)] == made
    assert len({id(a) for a in made}) == 3


def test_shadow_compares_every_side_in_sanitized_space(tmp_path: Path) -> None:
    """Three instances of the build the traffic was captured from: nothing regresses, the
    only noise is the timestamp (no pseudonymized field), and what the run keeps from a
    broken candidate names the field with pseudonyms, never the raw values."""
    from amber._ingest import Pipeline
    from amber._pseudonym import Pseudonymizer
    from amber._routes import Router
    from amber.sanitize import SanitizeConfig
    from amber.sanitize import Sanitizer
    from tests.replay.apps import people
    from tests.servers import serve

    key = "shadow-capture-key-0123456789abcdef"
    pipeline = Pipeline(
        Sanitizer(SanitizeConfig(), Pseudonymizer(key.encode())), Router(["/people/{pid}"])
    )
    with (
        Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store,
        serve(people.make_app(drift=True)) as base,
        serve(people.make_app(drift=True)) as base2,
        serve(people.make_app(drift=True, broken=True)) as broken,
    ):
        store.add_many(people.capture(base, [f"/people/{i % 2}" for i in range(20)], pipeline))
        settings = ShadowRunSettings(
            Target(base),
            Target(base2),
            clean=result_cleaner(Config(), {"AMBER_KEY": key}),
            baseline2=Target(base),
            sending=SendOptions(concurrency=2),
        )
        same = shadow_exchanges(store, settings)
        bad = shadow_exchanges(store, dataclasses.replace(settings, candidate=Target(broken)))
        kept = b"".join(RunLog(store).results_json(bad.run_id))
    assert same.report.regressions() == [] and not same.reasons
    fields = {f.path for r in same.report.routes for f in r.fields}
    assert fields == {"body$.served_at"}
    assert "served_at" in same.learned_noise() and "user" not in same.learned_noise()
    assert {f.path for _, f in bad.report.regressions()} == {"body$.user.email", "body$.user.name"}
    shown = repr(bad.report).encode() + kept
    for value in people.RAW:
        assert value.encode() not in shown, value
