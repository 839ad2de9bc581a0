from __future__ import annotations

import socket
import threading

import httpx
import pytest

from amber import _aio
from amber.replay._transport import FastTransport
from tests.replay.conftest import AppState


@pytest.fixture(autouse=True, params=["asyncio", "uvloop"])
def loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on asyncio's loop and on uvloop (what the CLI uses)."""
    monkeypatch.setenv(_aio.LOOP_ENV, request.param)
    return str(request.param)


def raw_server(reply: bytes, *, close: bool = True) -> tuple[int, threading.Thread]:
    """A one-shot socket server answering any request with `reply` (for broken servers)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def run() -> None:
        conn, _ = srv.accept()
        conn.recv(65536)
        conn.sendall(reply)
        if close:
            conn.close()
        srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return srv.getsockname()[1], t


def send(port: int, **kw: object) -> object:
    async def main() -> object:
        t = FastTransport(**kw)  # type: ignore[arg-type]
        try:
            return await t.send_raw("http", "127.0.0.1", port, "GET", b"/", [], b"", 2.0)
        finally:
            await t.aclose()

    return _aio.run(main())


def test_body_delimited_by_close_and_chunked() -> None:
    port, _ = raw_server(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close")
    r = send(port)
    assert r.status == 200 and r.body == b"until close"  # type: ignore[attr-defined]
    port, _ = raw_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    r = send(port)
    assert r.body == b"abcde"  # type: ignore[attr-defined]


def test_garbage_and_early_close_are_protocol_errors() -> None:
    port, _ = raw_server(b"SMTP ready\r\n\r\n")
    with pytest.raises(httpx.RemoteProtocolError):
        send(port)
    port, _ = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
    with pytest.raises(httpx.RemoteProtocolError, match="before a complete response"):
        send(port)


def test_connections_are_reused(app_url: str, app_state: AppState) -> None:
    port = int(app_url.rsplit(":", 1)[1])

    async def main() -> int:
        t = FastTransport()
        for _ in range(20):
            r = await t.send_raw("http", "127.0.0.1", port, "GET", b"/echo", [], b"", 5.0)
            assert r.status == 200
        n = sum(len(p.idle) for p in t._pools.values())
        await t.aclose()
        return n

    assert _aio.run(main()) == 1


def test_tls_errors_say_what_to_do() -> None:
    port, _ = raw_server(b"HTTP/1.1 200 OK\r\n\r\n")

    async def main() -> None:
        t = FastTransport()
        try:
            await t.send_raw("https", "127.0.0.1", port, "GET", b"/", [], b"", 2.0)
        finally:
            await t.aclose()

    with pytest.raises(httpx.ConnectError, match="--insecure"):
        _aio.run(main())


def test_work_while_in_flight_runs_after_the_write_and_its_failure_frees_the_connection(
    app_url: str, app_state: AppState
) -> None:
    from amber.replay._transport import encode_request

    port = int(app_url.rsplit(":", 1)[1])

    async def main() -> None:
        t = FastTransport()
        pool = t.pool("http", "127.0.0.1", port)
        payload = encode_request(pool, "POST", "/echo", [], b"abc")
        seen_at_call: list[int] = []

        def work() -> None:  # the request is on the wire, its response not yet read
            seen_at_call.append(len(pool.idle))

        r = await t.request(pool, payload, in_flight=work)
        assert r.status == 200 and seen_at_call == [0]  # the connection was in use

        def broken() -> None:
            raise RuntimeError("sink failed")

        with pytest.raises(RuntimeError, match="sink failed"):
            await t.request(pool, payload, in_flight=broken)
        assert not t._busy and not pool.idle  # not timed, not reused: closed
        r = await t.request(pool, payload)  # the transport goes on with a new connection
        assert r.status == 200
        await t.aclose()

    _aio.run(main())


def test_keep_host_sends_the_recorded_host_to_a_real_server() -> None:
    """`--keep-host`: a real server receives the recorded `Host` (with its port, an IPv6
    literal as is, a non-ASCII name in IDNA form), not the target's."""
    from starlette.applications import Starlette
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from amber._model import Exchange
    from amber._model import Request
    from amber._model import Response
    from amber._model import new_id
    from amber.replay._runner import Outcome
    from amber.replay._runner import Replayer
    from amber.replay._runner import Target
    from tests.servers import serve

    async def echo(request: StarletteRequest) -> PlainTextResponse:
        return PlainTextResponse(request.headers.get("host", ""))

    recorded = ["api.example:8443", "[2001:db8::1]:8080", "bücher.example", "shop.example"]
    exchanges = [
        Exchange(
            id=new_id(),
            request=Request("GET", "http", "api.example", 80, "/h", host_header=h),
            response=Response(200),
            client_addr=f"192.0.2.{i}",
        )
        for i, h in enumerate(recorded)
    ]
    with serve(Starlette(routes=[Route("/h", echo)])) as url:
        for keep in (True, False):
            outcomes: list[Outcome] = []
            _aio.run(Replayer(Target(url, keep_host=keep)).run(exchanges, outcomes.append))
            got = {o.exchange.request.host_header: o.response for o in outcomes}
            assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
            received = [got[h].body.decode() for h in recorded]  # type: ignore[union-attr]
            if keep:
                assert received == [
                    "api.example:8443",
                    "[2001:db8::1]:8080",
                    "xn--bcher-kva.example",
                    "shop.example",
                ]
            else:
                assert received == [url.removeprefix("http://")] * 4


def test_idna_host() -> None:
    from amber.replay._transport import idna_host

    assert idna_host("bücher.example:8080") == "xn--bcher-kva.example:8080"
    assert idna_host("api.example") == "api.example"
    assert idna_host("x" * 70 + "ü.example") == "x" * 70 + "ü.example"  # a label too long
