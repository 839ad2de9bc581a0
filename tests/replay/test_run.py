"""The replay use case, driven through an in-memory transport (no server, no CLI)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from amber._config import Config
from amber._ingest import Pipeline
from amber._model import Exchange
from amber._model import Response
from amber._pseudonym import Pseudonymizer
from amber._routes import Router
from amber._runs import RunLog
from amber._runs import RunResult
from amber._store import ExchangeQuery
from amber._store import Store
from amber.errors import UsageError
from amber.replay._noise import NoiseRules
from amber.replay._run import NO_KEY_WARNING
from amber.replay._run import ReplaySettings
from amber.replay._run import ReplaySummary
from amber.replay._run import Selection
from amber.replay._run import SendOptions
from amber.replay._run import drive
from amber.replay._run import replay_exchanges
from amber.replay._run import result_cleaner
from amber.replay._runner import Target
from amber.replay._targets import Safety
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from tests.conftest import make_exchange
from tests.replay.apps import people
from tests.servers import serve


class Events:
    """Records what a run tells."""

    def __init__(self) -> None:
        self.starts: list[tuple[str, int | None]] = []
        self.results: list[RunResult] = []
        self.notices: list[str] = []

    def started(self, run_id: str, total: int | None) -> None:
        self.starts.append((run_id, total))

    def result(self, result: RunResult) -> None:
        self.results.append(result)

    def notice(self, message: str) -> None:
        self.notices.append(message)


JSON = (("Content-Type", "application/json"),)


class Upper:
    """A `Clean` that shows where it was applied: text upper-cased, responses marked."""

    warning: str | None = None

    def __init__(self) -> None:
        self.responses = 0
        self.rules: list[NoiseRules | None] = []

    def __call__(self, value: str | None) -> str | None:
        return value and value.upper()

    def response(
        self,
        actual: Response,
        recorded: Exchange | None,
        rules: NoiseRules | None = None,
        parsed: object = None,
    ) -> Response:
        self.responses += 1
        self.rules.append(rules)
        return actual

    def parsed(self, body: bytes) -> Any:
        return None


def app(request: httpx.Request) -> httpx.Response:
    """The recording answered `{"ok": true}`; /users/2 now says false."""
    return httpx.Response(200, json={"ok": request.url.path != "/users/2/orders"})


def settings(**kw: object) -> ReplaySettings:
    base = ReplaySettings(
        target=Target("http://app"),
        clean=Upper(),
        sending=SendOptions(concurrency=1, transport=httpx.MockTransport(app)),
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


@pytest.fixture
def three(store: Store) -> list[Exchange]:
    exs = [make_exchange(i, resp_headers=JSON) for i in range(3)]
    store.add_many(exs)
    return exs


def test_a_replay_compares_stores_and_reports_each_exchange(
    store: Store, three: list[Exchange], tmp_path: Path
) -> None:
    events = Events()
    audit = tmp_path / "audit.jsonl"
    s = replay_exchanges(
        store,
        settings(
            safety=Safety(reason="check", audit_log=audit, argv=("amber", "replay")),
            params={"filters": {"limit": None}},
        ),
        events,
    )
    assert (s.state, s.sent, s.ok, s.mismatch, s.error, s.skipped) == ("completed", 3, 2, 1, 0, 0)
    assert events.starts == [(s.run_id, 3)]
    assert [r.ok for r in events.results] == [True, True, False]
    diff = events.results[2]
    # values from the target are cleaned before they are kept
    assert diff.differences == [
        {"path": "body$.ok", "kind": "value", "expected": "TRUE", "actual": "FALSE"}
    ]
    assert (diff.method, diff.path, diff.route, diff.recorded_status) == (
        "GET",
        "/users/2/orders",
        "/users/{id}/orders",
        200,
    )
    log = RunLog(store)
    assert list(log.results(s.run_id)) == events.results
    info = log.get(s.run_id)
    assert (info.kind, info.state, info.summary) == (
        "replay",
        "completed",
        dict(s.counts(), elapsed_s=s.elapsed_s),
    )
    assert info.params == {
        "ids": [],
        "concurrency": 1,
        "rate": None,
        "speed": 0.0,
        "filters": {"limit": None},
    }
    (record,) = [json.loads(x) for x in audit.read_text().splitlines()]
    assert (record["command"], record["reason"], record["run"], record["sent"]) == (
        "replay",
        "check",
        s.run_id,
        3,
    )
    # what was sent, by method and route (routes are the store's sanitized templates)
    assert record["methods"] == {"GET": 3}
    assert sum(record["routes"].values()) == 3 and "/users/{id}/orders" in record["routes"]


def test_ids_select_and_noise_explains(store: Store, three: list[Exchange]) -> None:
    from amber.replay._noise import NoiseFile

    noise = NoiseFile.from_mapping({"global": {"ignore_paths": ["$.ok"]}})
    clean = Upper()
    s = replay_exchanges(
        store, settings(selection=Selection(ids=(three[2].id,)), noise=noise, clean=clean)
    )
    assert (s.sent, s.ok) == (1, 1)
    (r,) = RunLog(store).results(s.run_id)
    assert r.ignored == 1 and r.exchange_id == three[2].id
    # the cleaner is given the rules (what they ignore need not be sanitized)
    [rules] = clean.rules
    assert rules is not None and rules.ignore_paths == ("$.ok",)


def test_truncated_request_bodies_are_skipped_or_sent_with_a_notice(store: Store) -> None:
    ex = make_exchange(1, method="POST", resp_headers=JSON)
    ex = dataclasses.replace(ex, request=dataclasses.replace(ex.request, body_truncated=True))
    store.add(ex)
    events = Events()
    assert replay_exchanges(store, settings(skip_truncated=True), events).skipped == 1
    assert not events.notices
    assert replay_exchanges(store, settings(), events).sent == 1
    assert events.notices == [
        f"warning: {ex.id}: request body was truncated at capture; "
        "replaying it anyway (--skip-truncated to skip)"
    ]


def test_production_rules_refuse_before_a_run_starts(store: Store, three: list[Exchange]) -> None:
    prod = Target("http://app", name="prod", label="production")
    with pytest.raises(UsageError, match="--reason"):
        replay_exchanges(store, settings(target=prod))
    assert RunLog(store).list() == []
    events = Events()
    s = replay_exchanges(store, settings(target=prod, safety=Safety(reason="INC-1")), events)
    assert events.notices == [
        "reads against production target 'prod' are limited to 10 requests/s (--rate to change)"
    ]
    assert RunLog(store).get(s.run_id).params["rate"] == 10.0


def test_a_run_that_fails_is_finished_as_failed_and_audited(
    store: Store, three: list[Exchange], tmp_path: Path
) -> None:
    class Broken(Events):
        def result(self, result: RunResult) -> None:
            raise RuntimeError("sink broke")

    audit = tmp_path / "audit.jsonl"
    with pytest.raises(RuntimeError, match="sink broke"):
        replay_exchanges(store, settings(safety=Safety(audit_log=audit)), Broken())
    (info,) = RunLog(store).list()
    assert info.state == "failed"
    assert json.loads(audit.read_text())["state"] == "failed"


def test_drive_names_how_a_run_ended(store: Store) -> None:
    log = RunLog(store)
    ended: list[str] = []

    async def done() -> None:
        pass

    async def interrupted() -> None:
        raise KeyboardInterrupt

    for main in (done(), interrupted()):
        writer = log.writer(log.start("replay", "t", {}))
        assert drive(main, writer, ended.append) == ended[-1]
    assert ended == ["completed", "interrupted"]


def test_selection_counts_methods_by_id_or_query(store: Store) -> None:
    exs = [make_exchange(i, method=m) for i, m in enumerate(["GET", "POST", "DELETE", "POST"])]
    store.add_many(exs)
    unsafe = ("POST", "DELETE")
    assert Selection(ids=(exs[0].id, exs[1].id)).count_methods(store, unsafe) == 1
    assert Selection().count_methods(store, unsafe) == 3
    assert Selection(query=ExchangeQuery(methods=["GET"])).count_methods(store, unsafe) == 0
    assert Selection(query=ExchangeQuery(limit=1)).count_methods(store, unsafe) == 3
    assert Selection().total(store) == 4 and Selection(ids=("x",)).total(store) is None


def test_the_default_events_hear_nothing(store: Store, three: list[Exchange]) -> None:
    assert replay_exchanges(store, settings()).sent == 3


# -- compared in sanitized space, against a real server --------------------------------

PEOPLE_KEY = "people-capture-key-0123456789abcdef"


def _people_store(tmp_path: Path, url: str) -> tuple[Store, list[Exchange]]:
    pipeline = Pipeline(
        Sanitizer(SanitizeConfig(), Pseudonymizer(PEOPLE_KEY.encode())), Router(["/people/{pid}"])
    )
    exs = people.capture(url, [f"/people/{i % 2}" for i in range(6)], pipeline)
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    store.add_many(exs)
    return store, exs


def _replay_people(store: Store, url: str, key: str = PEOPLE_KEY) -> tuple[ReplaySummary, Events]:
    events = Events()
    s = replay_exchanges(
        store,
        ReplaySettings(
            target=Target(url),
            clean=result_cleaner(Config(), {"AMBER_KEY": key}),
            sending=SendOptions(concurrency=2),
        ),
        events,
    )
    return s, events


def test_replaying_captured_traffic_against_the_same_build_shows_no_difference(
    tmp_path: Path,
) -> None:
    with serve(people.make_app()) as url:
        store, exs = _people_store(tmp_path, url)
        stored = b"".join(ex.response.body for ex in exs if ex.response)
        assert all(v.encode() not in stored for v in people.RAW)  # capture replaced them
        s, events = _replay_people(store, url)
    # names in a person's context, usernames, emails, phones, addresses, customer ids,
    # tokens and the session cookie: the same real value met the capture's pseudonym
    assert (s.sent, s.ok, s.mismatch, s.error) == (6, 6, 0, 0), events.results
    assert events.notices == []
    store.close()


def test_a_real_difference_is_reported_with_sanitized_values_only(tmp_path: Path) -> None:
    with serve(people.make_app()) as url:
        store, exs = _people_store(tmp_path, url)
    with serve(people.make_app(broken=True)) as url:
        s, events = _replay_people(store, url)
    assert (s.sent, s.ok, s.mismatch) == (6, 3, 3)
    paths = {d["path"] for r in events.results for d in r.differences}
    assert paths == {"body$.user.email", "body$.user.name"}
    (email,) = {
        (d["expected"], d["actual"])
        for r in events.results
        for d in r.differences
        if d["path"] == "body$.user.email"
    }
    recorded = json.loads(exs[1].response.body)["user"]["email"]  # type: ignore[union-attr]
    assert email[0] == json.dumps(recorded) and email[1] != email[0]
    assert "example" in email[1]  # a pseudonym, in the synthetic range
    # nothing raw in the results, nor anywhere in the store's file
    kept = b"".join(RunLog(store).results_json(s.run_id)) + repr(events.results).encode()
    blob = kept + b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
    for value in people.RAW:
        assert value.encode() not in blob, value
    store.close()


def test_without_the_capture_key_the_run_says_why_pseudonyms_differ(tmp_path: Path) -> None:
    with serve(people.make_app()) as url:
        store, _ = _people_store(tmp_path, url)
        events = Events()
        s = replay_exchanges(
            store,
            ReplaySettings(target=Target(url), clean=result_cleaner(Config(), {})),
            events,
        )
    assert s.mismatch == 6 and events.notices == [NO_KEY_WARNING]
    store.close()
