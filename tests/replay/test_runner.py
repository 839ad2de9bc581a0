from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from amber._ingest import Pipeline
from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id
from amber._pseudonym import Pseudonymizer
from amber._routes import Router
from amber._store import ExchangeQuery
from amber._store import ExchangeStream
from amber._store import Store
from amber.replay._auth import Auth
from amber.replay._runner import Outcome
from amber.replay._runner import Replayer
from amber.replay._runner import Target
from amber.replay._transport import FastTransport
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from tests.replay.conftest import AppState
from tests.replay.conftest import make_app
from tests.servers import serve

PIPELINE = Pipeline(
    Sanitizer(SanitizeConfig(), Pseudonymizer(b"runner-test-key-0123456789")), Router()
)


def record(
    url: str, calls: Sequence[tuple[str, str, bytes]], client_addr: str = "192.0.2.9"
) -> list[Exchange]:
    """Drive a real app with a real client, then sanitize what was seen, like capture does.

    `calls` may use `{token}` and `{order}` placeholders for values from earlier responses.
    """
    out = []
    token = order = ""
    with httpx.Client(base_url=url) as client:
        for method, path, body in calls:
            path = path.format(order=order)
            headers = {"content-type": "application/json", "x-request-id": new_id()}
            if token:
                headers["authorization"] = f"Bearer {token}"
            t = time.time()
            r = client.request(method, path, content=body, headers=headers)
            if path == "/login":
                token = r.json()["access_token"]
            if path == "/orders" and method == "POST":
                order = r.json()["id"]
            req = r.request
            ex = Exchange(
                id=new_id(t),
                request=Request(
                    method,
                    "http",
                    "127.0.0.1",
                    80,
                    req.url.path,
                    req.url.query.decode(),
                    headers=tuple((k.decode(), v.decode()) for k, v in req.headers.raw),
                    body=body,
                    timestamp_start=t,
                ),
                response=Response(
                    r.status_code,
                    r.reason_phrase,
                    headers=tuple((k.decode(), v.decode()) for k, v in r.headers.raw),
                    body=r.content,
                    timestamp_start=t,
                    timestamp_end=time.time(),
                ),
                client_addr=client_addr,
            )
            out.append(PIPELINE.process(ex, encoded=False))
    return out


SESSION = [
    ("POST", "/login", b'{"username": "ann", "password": "hunter2hunter2"}'),
    ("POST", "/orders", b'{"sku": "SKU-1", "qty": 2}'),
    ("GET", "/orders/{order}", b""),
]


def replay(exchanges: list[Exchange], url: str, **kw: object) -> list[Outcome]:
    outcomes: list[Outcome] = []
    r = Replayer(Target(url), **kw)  # type: ignore[arg-type]
    asyncio.run(r.run(exchanges, outcomes.append))
    return outcomes


def test_session_replay_carries_rotating_token_and_minted_ids(app_url: str) -> None:
    recorded = record(app_url, SESSION)
    assert b"hunter2" not in recorded[0].request.body  # the capture sanitized it
    assert "[REDACTED:" in dict(recorded[1].request.headers)["authorization"]
    fresh = AppState()
    with serve(make_app(fresh)) as other:
        outcomes = replay(recorded, other)
    assert [o.response.status if o.response else o.error for o in outcomes] == [200, 201, 200]
    # the token the new build minted was sent, never a marker
    sent_auth = [dict(s["headers"]).get("authorization", "") for s in fresh.seen]
    assert sent_auth[0] == "" and sent_auth[1][7:] in fresh.tokens and sent_auth[2] == sent_auth[1]
    assert "[REDACTED" not in str([s["headers"] for s in fresh.seen])
    # a masked password in a body stays masked: replay.auth.login supplies real credentials
    # the order id minted by the new build replaced the recorded one in the path
    assert fresh.seen[2]["path"] == f"/orders/{next(iter(fresh.orders))}"
    # the bodies carry-over learning parsed come with the outcome (parsed once for the run)
    for o in outcomes:
        assert o.response is not None and o.exchange.response is not None
        if o.parsed is not None:
            assert o.parsed[0] is o.exchange.response.body and o.parsed[2] is o.response.body
            assert o.parsed[3] == orjson.loads(o.response.body)
    assert any(o.parsed is not None for o in outcomes)


def test_without_carry_the_marker_header_is_dropped(app_url: str) -> None:
    recorded = record(app_url, SESSION)
    fresh = AppState()
    with serve(make_app(fresh)) as other:
        outcomes = replay(recorded, other, carry_state=False)
    assert [o.response.status for o in outcomes if o.response] == [200, 401, 401]
    assert all("authorization" not in dict(s["headers"]) for s in fresh.seen)


def test_static_auth_headers_replace_markers(app_url: str, app_state: AppState) -> None:
    app_state.tokens.add("static-token-for-staging")
    recorded = record(app_url, SESSION)[1:2]
    outcomes = replay(
        recorded,
        app_url,
        auth=Auth(headers={"Authorization": "Bearer static-token-for-staging"}),
        carry_state=False,
    )
    assert outcomes[0].response is not None and outcomes[0].response.status == 201


def test_login_flow_from_config(app_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGING_PASSWORD", "pw")
    auth = Auth.from_mapping(
        {
            "login": {
                "path": "/login",
                "json": {"username": "ci", "password": "${STAGING_PASSWORD}"},
                "token": {"json": "$.access_token"},
            }
        }
    )
    recorded = record(app_url, SESSION)[1:2]
    outcomes = replay(recorded, app_url, auth=auth, carry_state=False)
    assert outcomes[0].response is not None and outcomes[0].response.status == 201


def test_path_prefix_gzip_head_and_bodies(app_url: str, app_state: AppState) -> None:
    def ex(method: str, path: str, body: bytes = b"") -> Exchange:
        return Exchange(
            new_id(),
            Request(
                method,
                "http",
                "x",
                80,
                path,
                "a=1&a=2",
                headers=(("content-type", "text/plain"), ("content-encoding", "gzip")),
                body=body,
            ),
        )

    with serve(make_app(app_state), root_path="") as url:
        outcomes = replay(
            [ex("POST", "/echo", b"\x00\xffbinary"), ex("GET", "/gz"), ex("HEAD", "/echo")], url
        )
    post, gz, head = outcomes
    assert post.response is not None and post.response.json()["len"] == 8
    assert app_state.seen[0]["body"] == b"\x00\xffbinary"
    assert app_state.seen[0]["query"] == "a=1&a=2"
    # bodies are stored decoded, so content-encoding is never forwarded
    assert "content-encoding" not in dict(app_state.seen[0]["headers"])
    assert gz.response is not None and gz.response.json() == {"compressed": True}
    assert gz.response.content_encoding == "gzip"
    assert head.response is not None and head.response.status == 200 and head.response.body == b""


def test_faults_are_reported_per_exchange(app_url: str) -> None:
    def ex(path: str) -> Exchange:
        return Exchange(new_id(), Request("GET", "http", "x", 80, path))

    outcomes = replay([ex("/big"), ex("/loop"), ex("/echo")], app_url, max_body=1024 * 1024)
    by = {o.exchange.request.path: o for o in outcomes}
    assert by["/big"].body_capped and len(by["/big"].response.body) == 1024 * 1024  # type: ignore[union-attr]
    assert by["/loop"].response is not None and by["/loop"].response.status == 302  # not followed
    assert by["/echo"].response is not None and by["/echo"].response.status == 200
    timed = []
    asyncio.run(
        Replayer(Target(app_url, timeout=0.3)).run([ex("/slow"), ex("/echo")], timed.append)
    )
    assert timed[0].error is not None and "timeout" in timed[0].error
    assert timed[1].response is not None  # the run continued


def test_target_down_is_an_error_not_a_crash() -> None:
    from tests.servers import free_port

    outcomes = replay(
        [Exchange(new_id(), Request("GET", "http", "x", 80, "/"))],
        f"http://127.0.0.1:{free_port()}",
    )
    assert outcomes[0].response is None and "connection failed" in (outcomes[0].error or "")


def test_speed_follows_the_recorded_schedule(app_url: str) -> None:
    """Through FastTransport (the hot path), on a fake clock: see FakeClock below."""
    clock = FakeClock()
    t0 = 1_000_000.0
    exs = [
        Exchange(
            new_id(t0 + i * 0.05),
            Request("GET", "http", "x", 80, "/echo", timestamp_start=t0 + i * 0.05),
            client_addr=f"198.51.100.{i}",
        )
        for i in range(10)
    ]
    outcomes = replay(exs, app_url, speed=0.5, clock=clock, sleep=clock.sleep)
    assert all(o.response is not None and o.response.status == 200 for o in outcomes)
    assert sorted((o.scheduled_at, o.sent_mono) for o in outcomes) == [
        (pytest.approx(100.0 + i * 0.1), pytest.approx(100.0 + i * 0.1)) for i in range(10)
    ]


def test_session_state_survives_idle_gaps(app_url: str) -> None:
    recorded = record(app_url, SESSION)
    for i, ex in enumerate(recorded):  # recorded 0.2 s apart: each request finishes first
        ex.request.timestamp_start = 1_000_000.0 + i * 0.2
    fresh = AppState()
    with serve(make_app(fresh)) as other:
        outcomes = replay(recorded, other, speed=1.0)
    assert [o.response.status for o in outcomes if o.response] == [200, 201, 200]


def test_session_key_none_disables_ordering(app_url: str, app_state: AppState) -> None:
    exs = [
        Exchange(new_id(), Request("GET", "http", "x", 80, "/echo"), client_addr="192.0.2.1")
        for i in range(20)
    ]
    outcomes = replay(exs, app_url, concurrency=8, session_key="none")
    assert len(outcomes) == 20


def test_session_order_is_kept(app_url: str, app_state: AppState) -> None:
    exs = [
        Exchange(
            new_id(),
            Request("POST", "http", "x", 80, "/echo", body=str(i).encode()),
            client_addr="192.0.2.1",
        )
        for i in range(30)
    ]
    replay(exs, app_url, concurrency=16)
    assert [s["body"] for s in app_state.seen] == [str(i).encode() for i in range(30)]


def test_fast_transport_speaks_httpx(app_url: str) -> None:
    async def main() -> httpx.Response:
        async with httpx.AsyncClient(transport=FastTransport()) as client:
            return await client.post(f"{app_url}/echo", content=b"abc")

    r = asyncio.run(main())
    assert r.status_code == 200 and r.json()["len"] == 3


def echo_exchanges(n: int) -> list[Exchange]:
    return [
        Exchange(
            new_id(),
            Request("POST", "http", "x", 80, "/echo", body=str(i).encode()),
            client_addr="192.0.2.1",
        )
        for i in range(n)
    ]


def test_an_outcome_is_handed_over_while_the_next_request_is_in_flight(
    app_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real = Replayer._payload

    def payload(self: Replayer, ex: Exchange, state: object) -> bytes:
        events.append(f"send {ex.request.body.decode()}")
        return real(self, ex, state)  # type: ignore[arg-type]

    monkeypatch.setattr(Replayer, "_payload", payload)
    r = Replayer(Target(app_url), concurrency=1)
    asyncio.run(
        r.run(
            echo_exchanges(4),
            lambda o: events.append(f"outcome {o.exchange.request.body.decode()}"),
        )
    )
    assert events == [
        "send 0",
        "send 1",
        "outcome 0",
        "send 2",
        "outcome 1",
        "send 3",
        "outcome 2",
        "outcome 3",
    ]


def test_async_sinks_get_every_outcome_in_order(app_url: str) -> None:
    got: list[str] = []

    async def sink(o: Outcome) -> None:
        await asyncio.sleep(0)
        got.append(o.exchange.request.body.decode())

    asyncio.run(Replayer(Target(app_url), concurrency=1).run(echo_exchanges(5), sink))
    assert got == ["0", "1", "2", "3", "4"]


def test_a_cancelled_run_hands_over_every_finished_outcome(app_url: str) -> None:
    """Ctrl-C keeps the partial run: the outcome a worker holds back (to hand it over once
    its next request is on the wire) reaches the sink when the run is cancelled."""
    got: list[str] = []

    async def sink(o: Outcome) -> None:
        got.append(o.exchange.request.body.decode())
        if len(got) == 1:
            await asyncio.sleep(30)  # the user presses Ctrl-C meanwhile

    async def main() -> None:
        task = asyncio.ensure_future(
            Replayer(Target(app_url), concurrency=1).run(echo_exchanges(5), sink)
        )
        while not got:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert got == ["0", "1"]  # 1 was answered while the sink was busy with 0


def test_a_failing_sink_stops_the_run(app_url: str) -> None:
    def sink(o: Outcome) -> None:
        raise RuntimeError("the store is gone")

    with pytest.raises(RuntimeError, match="the store is gone"):
        asyncio.run(Replayer(Target(app_url), concurrency=2).run(echo_exchanges(6), sink))


def test_with_a_rate_an_outcome_does_not_wait_for_the_next_slot(app_url: str) -> None:
    events: list[str] = []
    clock = FakeClock()

    async def sleep(delay: float) -> None:
        events.append(f"wait {delay:g}")
        await clock.sleep(delay)

    r = Replayer(Target(app_url), concurrency=1, rate=1, clock=clock, sleep=sleep)  # 1/s
    asyncio.run(
        r.run(
            echo_exchanges(3),
            lambda o: events.append(f"outcome {o.exchange.request.body.decode()}"),
        )
    )
    # handed over before the wait for the next slot, not a second later when it is sent
    assert events == ["outcome 0", "wait 1", "outcome 1", "wait 1", "outcome 2"]


def test_a_store_stream_is_read_in_a_thread_and_decoded_on_the_loop(
    app_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    store.add_many(echo_exchanges(600))  # more than two of the feed's chunks
    threads: dict[str, set[int]] = {"rows": set(), "decode": set()}
    real_pages, real_decode = ExchangeStream.pages, ExchangeStream.decode
    sizes: list[int] = []

    def pages(self: ExchangeStream) -> Iterator[list[Any]]:
        for page in real_pages(self):
            threads["rows"].add(threading.get_ident())
            sizes.append(len(page))
            yield page

    def decode(self: ExchangeStream, row: Any) -> Exchange:
        threads["decode"].add(threading.get_ident())
        return real_decode(self, row)

    monkeypatch.setattr(ExchangeStream, "pages", pages)
    monkeypatch.setattr(ExchangeStream, "decode", decode)
    outcomes: list[Outcome] = []
    loop_thread: list[int] = []

    async def main() -> None:
        loop_thread.append(threading.get_ident())
        await Replayer(Target(app_url), concurrency=1).run(
            store.iter_exchanges(ExchangeQuery(), page=50), outcomes.append
        )

    asyncio.run(main())
    assert [o.exchange.request.body for o in outcomes] == [str(i).encode() for i in range(600)]
    assert all(o.response is not None and o.response.status == 200 for o in outcomes)
    assert threads["decode"] == set(loop_thread)
    assert threads["rows"] and not threads["rows"] & threads["decode"]
    assert sizes == [50] * 12  # read a page (the stream's `page` rows) at a time
    store.close()


def test_a_row_that_cannot_be_decoded_fails_the_run(
    app_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    store.add_many(echo_exchanges(5))
    real_decode = ExchangeStream.decode
    seen = []

    def decode(self: ExchangeStream, row: Any) -> Exchange:
        ex = real_decode(self, row)
        if ex.request.body == b"3":
            raise ValueError("corrupt row")
        seen.append(ex)
        return ex

    monkeypatch.setattr(ExchangeStream, "decode", decode)
    outcomes: list[Outcome] = []
    with pytest.raises(ValueError, match="corrupt row"):
        asyncio.run(
            Replayer(Target(app_url), concurrency=1).run(
                store.iter_exchanges(ExchangeQuery()), outcomes.append
            )
        )
    # what was replayed before the bad row is still handed over
    assert [o.exchange.request.body for o in outcomes] == [b"0", b"1", b"2"]
    store.close()


def test_accept_skips_exchanges_on_the_loop_without_an_outcome(app_url: str) -> None:
    asked: list[tuple[bytes, int]] = []

    def accept(ex: Exchange) -> bool:
        asked.append((ex.request.body, threading.get_ident()))
        return int(ex.request.body) % 3 != 0

    outcomes: list[Outcome] = []
    loop_thread: list[int] = []

    async def main() -> None:
        loop_thread.append(threading.get_ident())
        await Replayer(Target(app_url), concurrency=2).run(
            echo_exchanges(10), outcomes.append, accept=accept
        )

    asyncio.run(main())
    assert sorted(int(o.exchange.request.body) for o in outcomes) == [1, 2, 4, 5, 7, 8]
    assert len(asked) == 10 and {t for _, t in asked} == set(loop_thread)


# -- the transport seam: the replayer's logic through httpx.MockTransport (no app, no socket) --


class FakeClock:
    """Virtual time for `Replayer(clock=..., sleep=...)`: it moves only when a sleeper wakes.

    A sleeper gives way to the other tasks once, then wakes with the clock at its wake time
    (sleepers resume in the order they slept, which is the order of their wake times for the
    rate limiter and the recorded schedule). Nothing waits for real time."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.wakes: list[float] = []  # every wake time asked for, in order

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        wake = self.now + delay
        self.wakes.append(wake)
        await asyncio.sleep(0)
        self.now = max(self.now, wake)


T0 = 1_760_000_000.0


def get(path: str, client: str = "192.0.2.1", at: float = T0, **kw: Any) -> Exchange:
    return Exchange(
        new_id(at),
        Request("GET", "http", "api", 80, path, timestamp_start=at, **kw),
        client_addr=client,
    )


def mock_run(exchanges: list[Exchange], handler: Any, **kw: Any) -> list[Outcome]:
    """Replay through `httpx.MockTransport(handler)`; the outcomes in the order handed over."""
    outcomes: list[Outcome] = []
    r = Replayer(Target("http://target.test/v2"), transport=httpx.MockTransport(handler), **kw)
    asyncio.run(r.run(exchanges, outcomes.append))
    return outcomes


def test_any_httpx_transport_receives_the_built_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"ok": True}, headers={"x-from": "mock"})

    ex = Exchange(
        new_id(),
        Request(
            "POST",
            "http",
            "api",
            80,
            "/orders",
            "a=1&a=2",
            body=b'{"sku": 1}',
            headers=(
                ("Host", "api.example"),
                ("Connection", "keep-alive"),
                ("Content-Length", "10"),
                ("X-Drop-Me", "1"),
                ("Authorization", "Bearer [REDACTED:authorization]"),
                ("content-type", "application/json"),
            ),
            host_header="api.example",
        ),
    )
    [outcome] = mock_run([ex], handler, drop_headers=["x-drop-me"], carry_state=False)
    [request] = seen
    assert str(request.url) == "http://target.test/v2/orders?a=1&a=2"
    assert request.content == b'{"sku": 1}'
    assert [(k, v) for k, v in request.headers.items() if k not in ("host", "content-length")] == [
        ("content-type", "application/json")
    ]
    assert request.headers["host"] == "target.test"
    assert outcome.error is None and outcome.response is not None
    assert outcome.response.status == 201 and outcome.response.json() == {"ok": True}
    assert dict(outcome.response.headers)["x-from"] == "mock"


def test_speed_sends_on_the_recorded_schedule_scaled() -> None:
    clock = FakeClock()
    sent: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.path, clock()))
        return httpx.Response(200)

    offsets = [0.0, 0.4, 1.0, 1.0, 2.5]  # recorded seconds after the first request
    exs = [get(f"/r{i}", client=f"198.51.100.{i}", at=T0 + off) for i, off in enumerate(offsets)]
    outcomes = mock_run(exs, handler, speed=2.0, concurrency=2, clock=clock, sleep=clock.sleep)
    # at twice the recorded pace, each request goes out when the schedule says, not before
    assert sent == [(f"/v2/r{i}", pytest.approx(100.0 + off / 2)) for i, off in enumerate(offsets)]
    assert sorted((o.scheduled_at, o.sent_mono) for o in outcomes) == [
        (pytest.approx(100.0 + off / 2), pytest.approx(100.0 + off / 2)) for off in offsets
    ]


def test_concurrency_bounds_the_requests_in_flight() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):  # the response takes a while: other workers run meanwhile
            await asyncio.sleep(0)
        in_flight -= 1
        return httpx.Response(200)

    outcomes = mock_run(
        [get(f"/{i}") for i in range(30)], handler, concurrency=3, session_key="none"
    )
    assert len(outcomes) == 30 and peak == 3


def test_rate_spaces_requests_across_workers() -> None:
    clock = FakeClock()
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock())
        return httpx.Response(200)

    mock_run(
        [get(f"/{i}") for i in range(6)],
        handler,
        rate=4.0,
        concurrency=3,
        session_key="none",
        clock=clock,
        sleep=clock.sleep,
    )
    assert sent == [pytest.approx(100.0 + i * 0.25) for i in range(6)]


def test_a_session_is_sent_in_recorded_order_one_request_at_a_time() -> None:
    events: list[tuple[str, str, int]] = []
    in_flight: dict[str, int] = {}
    overlapped = False

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal overlapped
        user, n = request.headers["x-user"], int(request.url.path.rsplit("/", 1)[1])
        in_flight[user] = in_flight.get(user, 0) + 1
        assert in_flight[user] == 1, f"two requests of session {user} in flight"
        overlapped = overlapped or sum(in_flight.values()) > 1
        events.append(("start", user, n))
        for _ in range(n % 4 + 1):  # uneven response times: a session could overtake itself
            await asyncio.sleep(0)
        in_flight[user] -= 1
        return httpx.Response(200)

    exs = [get(f"/{i}", headers=(("x-user", "ann" if i % 3 else "bob"),)) for i in range(24)]
    outcomes = mock_run(exs, handler, concurrency=4, session_key="header:x-user")
    assert len(outcomes) == 24
    for user in ("ann", "bob"):
        sent = [n for kind, u, n in events if u == user]
        assert sent == [i for i in range(24) if (i % 3 != 0) == (user == "ann")]
    assert overlapped  # the two sessions did run side by side


def login_app(seen: list[httpx.Request]) -> Any:
    """A mock app: /login mints a token per client, /orders an id; both checked later."""
    tokens: dict[str, str] = {}
    orders: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        who = request.headers["x-client"]
        path = request.url.path
        if path == "/v2/login":
            tokens[who] = f"token-of-{who}-{len(seen)}"
            return httpx.Response(200, json={"access_token": tokens[who]})
        if request.headers.get("authorization") != f"Bearer {tokens.get(who)}":
            return httpx.Response(401)
        if path == "/v2/orders":
            orders[who] = f"ord_{who}_{len(seen):04d}"
            return httpx.Response(
                201, json={"id": orders[who]}, headers={"location": f"/orders/{orders[who]}"}
            )
        if path == f"/v2/orders/{orders.get(who)}":
            return httpx.Response(200, json={"id": orders[who]})
        return httpx.Response(404)

    return handler


def recorded_session(who: str) -> list[Exchange]:
    """What capture stored for one client: the token masked, the ids of that day."""
    auth = (("x-client", who), ("Authorization", "Bearer [REDACTED:authorization]"))

    def ex(
        method: str, path: str, status: int, body: bytes, headers: Any = (), resp_headers: Any = ()
    ) -> Exchange:
        return Exchange(
            new_id(),
            Request(method, "http", "api", 80, path, headers=headers),
            Response(
                status, body=body, headers=(("content-type", "application/json"), *resp_headers)
            ),
            client_addr=who,
        )

    return [
        ex(
            "POST",
            "/login",
            200,
            b'{"access_token": "[REDACTED:access-token]"}',
            (("x-client", who),),
        ),
        ex(
            "POST",
            "/orders",
            201,
            b'{"id": "ord_recorded_1"}',
            auth,
            (("location", "/orders/ord_recorded_1"),),
        ),
        ex("GET", "/orders/ord_recorded_1", 200, b'{"id": "ord_recorded_1"}', auth),
    ]


def test_each_session_carries_its_own_learned_token_and_ids() -> None:
    seen: list[httpx.Request] = []
    ann, bob = recorded_session("ann"), recorded_session("bob")
    interleaved = [x for pair in zip(ann, bob, strict=True) for x in pair]
    outcomes = mock_run(interleaved, login_app(seen), concurrency=2)
    assert [o.response.status for o in outcomes if o.response] == [200, 200, 201, 201, 200, 200]
    for who in ("ann", "bob"):
        mine = [r for r in seen if r.headers["x-client"] == who]
        token = orjson.loads(
            next(
                o.response.body
                for o in outcomes
                if o.response
                and o.exchange.client_addr == who
                and o.exchange.request.path == "/login"
            )
        )["access_token"]
        assert [r.headers.get("authorization") for r in mine] == [
            None,
            f"Bearer {token}",
            f"Bearer {token}",
        ]
        assert mine[2].url.path.startswith(f"/v2/orders/ord_{who}_")
    login = [o for o in outcomes if o.exchange.request.path == "/login"]
    assert all(o.parsed is not None and o.parsed[2] is o.response.body for o in login)  # type: ignore[union-attr]
    assert "REDACTED" not in repr([r.headers.raw for r in seen])


def test_without_carry_over_nothing_learned_is_sent() -> None:
    seen: list[httpx.Request] = []
    outcomes = mock_run(recorded_session("ann"), login_app(seen), carry_state=False)
    assert [o.response.status for o in outcomes if o.response] == [200, 401, 401]
    assert all("authorization" not in r.headers for r in seen)
    assert all(o.parsed is None for o in outcomes)  # nothing learned: nothing parsed
    assert seen[2].url.path == "/v2/orders/ord_recorded_1"


def test_transport_failures_are_outcomes_and_the_run_goes_on() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/down":
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/v2/slow":
            raise httpx.ReadTimeout("too slow", request=request)
        return httpx.Response(200)

    clock = FakeClock()
    outcomes = mock_run(
        [get("/down"), get("/slow"), get("/fine")],
        handler,
        concurrency=1,
        clock=clock,
        sleep=clock.sleep,
    )
    down, slow, fine = outcomes
    assert down.response is None and down.error == "connection failed: connection refused"
    assert slow.response is None and slow.error == "timeout after 30s"
    assert down.sent_mono == slow.sent_mono == 100.0 and down.latency_ms is not None
    assert fine.error is None and fine.response is not None and fine.response.status == 200


def test_the_fast_payload_and_the_httpx_request_are_the_same_request() -> None:
    """`_payload` (FastTransport) and `build` (any httpx transport) encode one `parts`."""
    from amber.replay._auth import Login

    auth = Auth(
        headers={"X-Api-Key": "k1"},
        token="T0K",
        login=Login("POST", "/login", {}, inject=("cookie", "session")),
    )
    exs = [
        get("/plain", headers=(("accept", "*/*"), ("Connection", "close"))),
        get(
            "/cookies",
            headers=(
                ("Cookie", "theme=dark; sid=[REDACTED:cookie]"),
                ("X-Api-Key", "[REDACTED:api-key]"),
                ("x-é", "ü"),
            ),
        ),
        Exchange(
            new_id(),
            Request(
                "PUT",
                "http",
                "api",
                80,
                "/p",
                "q=1",
                body=b"\x00\xff",
                headers=(("Host", "api.example"),),
                host_header="api.example",
            ),
        ),
    ]

    def as_fast(r: Replayer, ex: Exchange) -> tuple[str, list[tuple[str, str]], bytes]:
        head, _, body = r._payload(ex, r.state("s")).partition(b"\r\n\r\n")
        line, *fields = head.decode("utf-8", "surrogateescape").split("\r\n")
        return line, [tuple(f.split(": ", 1)) for f in fields], body  # type: ignore[misc]

    def as_httpx(r: Replayer, ex: Exchange) -> tuple[str, list[tuple[str, str]], bytes]:
        req = r.build(ex, r.state("s"))
        line = f"{req.method} {req.url.raw_path.decode()} HTTP/1.1"
        return line, [(k.decode(), v.decode()) for k, v in req.headers.raw], req.content

    for keep_host in (False, True):
        fast = Replayer(Target("http://target.test:8080/v2", keep_host=keep_host), auth=auth)
        other = Replayer(
            Target("http://target.test:8080/v2", keep_host=keep_host),
            auth=auth,
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
        )
        for ex in exs:
            line, headers, body = as_fast(fast, ex)
            want_line, want_headers, want_body = as_httpx(other, ex)
            assert (line, body) == (want_line, want_body)
            assert sorted(headers) == sorted(want_headers)
            host = [v for k, v in headers if k.lower() == "host"]
            assert host == (
                ["api.example"] if keep_host and ex.request.host_header else ["target.test:8080"]
            )
    cookies = [v for k, v in as_fast(fast, exs[1])[1] if k.lower() == "cookie"]
    assert cookies == ["theme=dark; session=T0K"]  # one Cookie header, the masked one gone


def test_response_header_fields_are_decoded_once_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`_decoded` keeps the text of each raw header field it decoded (they repeat from
    response to response), at most `HEADER_TEXTS`; Content-Encoding in any case still
    decodes the body."""
    import gzip

    from amber.replay import _transport
    from amber.replay._transport import RawResponse

    monkeypatch.setattr(_transport, "HEADER_TEXTS", 3)
    r = Replayer(Target("http://127.0.0.1:1"))

    def raw(*fields: tuple[bytes, bytes], body: bytes = b"{}") -> RawResponse:
        return RawResponse(200, "OK", "HTTP/1.1", list(fields), body)

    a = r._decoded(raw((b"Server", b"uvicorn"), (b"X-Name", b"caf\xc3\xa9 \xff")), 1.0, 2.0)
    b = r._decoded(raw((b"Server", b"uvicorn"), (b"X-Name", b"caf\xc3\xa9 \xff")), 1.0, 2.0)
    assert a.headers == b.headers == (("Server", "uvicorn"), ("X-Name", "caf\xe9 \ufffd"))
    assert a.content_encoding is None and a.body == b"{}"
    zipped = r._decoded(
        raw((b"CONTENT-ENCODING", b" GZIP "), body=gzip.compress(b"hello")), 1.0, 2.0
    )
    assert zipped.body == b"hello" and zipped.content_encoding == "GZIP"
    assert zipped.headers == (("CONTENT-ENCODING", " GZIP "),)
    for i in range(10):
        r._decoded(raw((b"X-Request-Id", b"%d" % i)), 1.0, 2.0)
    assert len(r._header_texts.texts) <= 3
