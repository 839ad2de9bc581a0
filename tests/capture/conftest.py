"""Real servers on 127.0.0.1 for capture tests: an echo app under uvicorn and `amber capture`.

- `echo_app` (session): a Starlette app in a background uvicorn thread. Every HTTP request it
  sees is recorded (method, raw target, headers as bytes, body) and answered with an echo or
  with a canned response a test registered (`echo_app.canned(path, ...)`).
- `capture_proxy` (function): a factory that starts `.venv/bin/amber capture` as a real
  subprocess in front of the app, waits for its port, and stops it with SIGINT (or SIGTERM)
  on teardown, asserting a clean exit and that the store holds everything amber said it kept.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import brotli
import orjson
import pytest
import uvicorn
import zstandard
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.responses import StreamingResponse
from starlette.routing import Route
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from amber._store import Store

AMBER = str(Path(sys.executable).with_name("amber"))
KEY_A = "capture-e2e-key-aaaaaaaaaaaaaaaaaaaaaaaa"
KEY_B = "capture-e2e-key-bbbbbbbbbbbbbbbbbbbbbbbb"

# Secrets the app plants in its own responses (the tests check the store never holds them).
APP_SECRETS: dict[str, str] = {
    "resp_password": "RespPassw0rd!Zebra-771",
    "resp_stripe": "sk_live_51RespStripeKeyQwErTy12345",
    "resp_aws": "AKIAQWERTYUIOPASDFGH",
    "resp_email": "resp.victim.person@corp-mail.io",
    "resp_card": "4111111111111111",
    "resp_github": "ghp_RespGithubTokenAbCdEfGhIjKlMnOpQrStUv",
    "cookie_session": "sessRespCookieValue9f8e7d6c5b4a3210",
    "cookie_refresh": "refreshRespCookie0123456789abcdefXYZ",
    "html_token": "ghp_HtmlGithubTokenZyXwVuTsRqPoNmLkJiHgFe",
    "html_email": "html.leak.person@corp-mail.io",
    "gzip_resp_secret": "sk_live_51GzipRespStripeKeyAsDfGh98765",
    "br_resp_secret": "sk_live_51BrotliRespStripeKeyZxCv4321",
    "zstd_resp_secret": "sk_live_51ZstdRespStripeKeyPoIuYt5678",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(cond: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- the echo app ---------------------------------------------------------------------------


@dataclass
class Seen:
    """One request as the app received it (header names as uvicorn gives them: lowercase)."""

    method: str
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> list[bytes]:
        n = name.lower().encode()
        return [v for k, v in self.headers if k.lower() == n]


@dataclass
class Canned:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def deterministic_bytes(size: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """`size` bytes of a repeating, non-trivial pattern, in chunks (for huge bodies)."""
    block = hashlib.sha256(b"amber").digest() * (chunk // 32)
    left = size
    while left > 0:
        part = block[: min(chunk, left)]
        left -= len(part)
        yield part


def secrets_json() -> bytes:
    s = APP_SECRETS
    return orjson.dumps(
        {
            "user": {"email": s["resp_email"], "password": s["resp_password"]},
            "billing": {"card_number": s["resp_card"], "note": f"key {s['resp_stripe']}"},
            "infra": [{"aws_access_key_id": s["resp_aws"]}, {"token": s["resp_github"]}],
            "ok": True,
        }
    )


def compressed_body(enc: str) -> bytes:
    """What `/_compressed/{enc}` sends: JSON with a secret, content-encoded with `enc`."""
    secret = APP_SECRETS[f"{enc}_resp_secret"]
    body = orjson.dumps({"api_key": secret, "msg": f"leaked {secret} here", "pad": "x" * 200})
    return compress(body, enc)


def html_body() -> bytes:
    s = APP_SECRETS
    return (
        f"<html><body><p>Contact {s['html_email']}</p>"
        f"<pre>token: {s['html_token']}</pre></body></html>"
    ).encode()


def compress(body: bytes, enc: str) -> bytes:
    if enc == "gzip":
        return gzip.compress(body, mtime=0)
    if enc == "br":
        return bytes(brotli.compress(body))
    if enc == "zstd":
        return bytes(zstandard.ZstdCompressor().compress(body))
    raise ValueError(enc)


class EchoApp:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._canned: dict[str, Canned] = {}
        self.port = 0
        self.ws_messages: list[str] = []
        self.stream_sent: dict[str, list[float]] = {}  # X-Test-Id -> when each event was sent
        self.app = Starlette(
            routes=[
                Route("/_secrets", self.secrets_route, methods=["GET", "POST"]),
                Route("/_compressed/{enc}", self.compressed_route),
                Route("/_html", self.html_route),
                Route("/_status/{code:int}", self.status_route),
                Route("/_slow", self.slow_route),
                Route("/_huge/{size:int}", self.huge_route),
                Route("/_hang", self.hang_route),
                Route("/_stream/{kind}", self.stream_route),
                WebSocketRoute("/_ws", self.ws_route),
                Route(
                    "/_echo/{rest:path}",
                    self.echo_route,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                ),
                Route(
                    "/{rest:path}",
                    self.sink_route,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                ),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # test helpers

    def canned(
        self,
        path: str,
        body: bytes,
        *,
        status: int = 200,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        """Answer `path` (exact, no query) with exactly this status, headers and body."""
        with self._lock:
            self._canned[path] = Canned(status, headers or [], body)

    def requests_with(self, header: str, value: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if value.encode() in s.header(header)]

    def one(self, test_id: str) -> Seen:
        found = self.requests_with("x-test-id", test_id)
        assert len(found) == 1, f"app saw {len(found)} requests with x-test-id {test_id}"
        return found[0]

    # routes

    async def _record(self, request: Request) -> Seen:
        body = await request.body()
        scope = request.scope
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        seen = Seen(request.method, target, list(scope["headers"]), body)
        with self._lock:
            self.seen.append(seen)
        return seen

    async def echo_route(self, request: Request) -> Response:
        seen = await self._record(request)
        echo = {
            "method": seen.method,
            "target": seen.target.decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in seen.headers],
            "body_b64": base64.b64encode(seen.body).decode(),
            "sha256": hashlib.sha256(seen.body).hexdigest(),
        }
        return Response(orjson.dumps(echo), media_type="application/json")

    async def sink_route(self, request: Request) -> Response:
        """Record the request; answer a canned response or just the body's hash (no echo)."""
        seen = await self._record(request)
        canned = self._canned.get(request.url.path)
        if canned is not None:
            return _raw_response(canned)
        return Response(
            orjson.dumps(
                {"sha256": hashlib.sha256(seen.body).hexdigest(), "length": len(seen.body)}
            ),
            media_type="application/json",
        )

    async def secrets_route(self, request: Request) -> Response:
        await self._record(request)
        s = APP_SECRETS
        resp = Response(secrets_json(), media_type="application/json")
        resp.raw_headers.append(
            (b"set-cookie", f"session={s['cookie_session']}; Path=/; HttpOnly".encode())
        )
        resp.raw_headers.append(
            (b"set-cookie", f"refresh_token={s['cookie_refresh']}; Path=/; Secure".encode())
        )
        return resp

    async def compressed_route(self, request: Request) -> Response:
        await self._record(request)
        enc = request.path_params["enc"]
        return Response(
            compressed_body(enc), media_type="application/json", headers={"content-encoding": enc}
        )

    async def html_route(self, request: Request) -> Response:
        await self._record(request)
        return Response(html_body(), media_type="text/html")

    async def status_route(self, request: Request) -> Response:
        await self._record(request)
        return Response(
            b'{"error": "boom"}',
            status_code=request.path_params["code"],
            media_type="application/json",
        )

    async def slow_route(self, request: Request) -> Response:
        await self._record(request)
        await asyncio.sleep(float(request.query_params.get("s", "0.5")))
        return Response(b'{"slow": true}', media_type="application/json")

    async def hang_route(self, request: Request) -> Response:
        await self._record(request)
        await asyncio.sleep(3600)
        return Response(b"")

    async def huge_route(self, request: Request) -> Response:
        await self._record(request)
        size = request.path_params["size"]

        async def gen() -> AsyncIterator[bytes]:
            for part in deterministic_bytes(size):
                yield part

        return StreamingResponse(
            gen(), media_type="application/octet-stream", headers={"content-length": str(size)}
        )

    async def stream_route(self, request: Request) -> Response:
        """A live stream (`kind` sse or ndjson) of `n` events, `gap` seconds apart, each
        padded to about `size` bytes; with `abort=1` the connection breaks after the first.
        The time.monotonic() at which each event is handed to the server is kept under the
        request's X-Test-Id, for the test to compare with when its client got it."""
        await self._record(request)
        q = request.query_params
        kind, n, gap = request.path_params["kind"], int(q.get("n", "2")), float(q.get("gap", "1"))
        sent = self.stream_sent.setdefault(request.headers.get("x-test-id", ""), [])

        async def events() -> AsyncIterator[bytes]:
            for i in range(n):
                if i:
                    await asyncio.sleep(gap)
                    if q.get("abort"):
                        raise ConnectionAbortedError("the app dies mid-stream")
                sent.append(time.monotonic())
                yield stream_event(kind, i, int(q.get("size", "0")))

        media = "text/event-stream" if kind == "sse" else "application/x-ndjson"
        return StreamingResponse(events(), media_type=media)

    async def ws_route(self, ws: WebSocket) -> None:
        await ws.accept()
        with contextlib.suppress(Exception):
            while True:
                msg = await ws.receive_text()
                self.ws_messages.append(msg)
                await ws.send_text(f"echo:{msg}")


def stream_event(kind: str, i: int, size: int = 0) -> bytes:
    """Event `i` of `/_stream/{kind}`: one SSE event or one NDJSON line."""
    data = orjson.dumps({"n": i, "pad": "x" * max(0, size - 20)})
    return b"id: %d\ndata: %s\n\n" % (i, data) if kind == "sse" else data + b"\n"


def _raw_response(canned: Canned) -> Response:
    resp = Response(canned.body, status_code=canned.status)
    # Replace Starlette's headers with exactly the canned ones (content-length kept true).
    resp.raw_headers = [(b"content-length", str(len(canned.body)).encode())] + [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in canned.headers
    ]
    return resp


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own handlers
        pass


@pytest.fixture(scope="session")
def echo_app() -> Iterator[EchoApp]:
    """The echo app on a free loopback port, served by uvicorn in a background thread."""
    app = EchoApp()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    app.port = sock.getsockname()[1]
    config = uvicorn.Config(
        app.app,
        log_level="error",
        ws="wsproto",
        lifespan="off",
        timeout_keep_alive=30,
        h11_max_incomplete_event_size=1 << 20,
    )
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="uvicorn to start")
    try:
        yield app
    finally:
        server.should_exit = True
        server.force_exit = True  # don't wait for a request still hanging in /_hang
        thread.join(timeout=10)
        assert not thread.is_alive(), "uvicorn did not stop"
        sock.close()


# -- amber capture as a subprocess ------------------------------------------------------------

READY_LINE = "amber capture: listening on"
"""What `amber capture` prints once the proxy accepts connections and records."""
READY_DEADLINE = 600.0

SUMMARY = re.compile(
    r"seen (\d+), stored (\d+), filtered (\d+), sampled out (\d+), in flight (\d+); "
    r"dropped (\d+): ([^;]*); (\d+) hook errors"
)


@dataclass
class Summary:
    seen: int
    stored: int
    filtered: int
    sampled_out: int
    in_flight: int
    dropped: int
    drops: dict[str, int]  # by reason as the line names it: "queue full", "unstorable"...
    hook_errors: int


@dataclass
class CaptureProcess:
    proc: subprocess.Popen[bytes]
    port: int
    db_path: Path
    log_path: Path
    returncode: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    @property
    def output(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def summary(self) -> Summary:
        found = SUMMARY.findall(self.output)
        assert found, f"no summary line in amber capture's output:\n{self.output}"
        *counts, drops, hook_errors = found[-1]
        by_reason = {r: int(n) for n, _, r in (d.partition(" ") for d in drops.split(", "))}
        return Summary(*(int(x) for x in counts), by_reason, int(hook_errors))

    def wait_listening(self, deadline: float = READY_DEADLINE) -> None:
        """Wait for amber's ready line, which it prints once its port accepts connections and
        its writer runs; fail as soon as the process exits instead. The deadline only keeps a
        hung start from hanging the run: a loaded machine is slow, not broken."""
        end = time.monotonic() + deadline
        while READY_LINE not in self.output:
            if self.proc.poll() is not None:
                raise AssertionError(f"amber capture exited {self.proc.returncode}:\n{self.output}")
            if time.monotonic() > end:
                raise AssertionError(
                    f"amber capture printed no ready line in {deadline:.0f} s:\n{self.output}"
                )
            time.sleep(0.05)
        assert port_open(self.port), f"ready line, but port {self.port} is closed:\n{self.output}"

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60.0) -> int:
        if self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                self.returncode = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"amber capture ignored {sig!r}:\n{self.output}") from None
        return self.returncode

    def store_bytes(self) -> bytes:
        """The raw bytes of every file of the SQLite store (db, -wal, -shm, -journal)."""
        out = b""
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = Path(str(self.db_path) + suffix)
            if p.exists():
                out += p.read_bytes()
        return out

    def exchanges(self) -> list[Any]:
        with Store.open(self.store_url, create=False) as store:
            return list(store.iter_exchanges())

    def wait_stored(self, n: int, timeout: float = 20.0) -> None:
        """Poll the store (while the proxy runs) until it holds at least `n` exchanges."""

        def enough() -> bool:
            if not self.db_path.exists():
                return False
            with Store.open(self.store_url, create=False) as store:
                return store.count() >= n

        wait_for(enough, timeout, f"{n} exchanges in the store")


def capture_env(key: str | None = KEY_A) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AMBER_")
        and k
        not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
    }
    if key is not None:
        env["AMBER_KEY"] = key
    return env


class CaptureRunner:
    """Starts `amber capture` subprocesses in front of the echo app and stops them all."""

    def __init__(self, app: EchoApp, tmp: pytest.TempPathFactory) -> None:
        self.app = app
        self.tmp = tmp
        self.started: list[CaptureProcess] = []

    def start(
        self,
        *extra: str,
        key: str | None = KEY_A,
        upstream: str | None = None,
        store: str | None = None,
        check_teardown: bool = True,
        wait: bool = True,
    ) -> CaptureProcess:
        d = self.tmp.mktemp("capture")
        port = free_port()
        db = d / "store.db"
        log = d / "capture.log"
        args = [
            AMBER,
            "capture",
            "--upstream",
            upstream or self.app.url,
            "--listen",
            f"127.0.0.1:{port}",
            "--store",
            store or f"sqlite:///{db}",
            *extra,
        ]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=capture_env(key),
                cwd=d,
            )
        cp = CaptureProcess(proc, port, db, log, extra={"check": check_teardown})
        self.started.append(cp)
        if wait:
            cp.wait_listening()
        return cp

    __call__ = start

    def close_all(self) -> None:
        """Stop every proxy still running (SIGINT) and check each one ended cleanly."""
        errors = []
        for cp in self.started:
            was_running = cp.returncode is None
            try:
                code = cp.stop(signal.SIGINT)
            except AssertionError as e:
                errors.append(str(e))
                continue
            if was_running and cp.extra["check"]:
                errors += check_clean(cp, code)
        assert not errors, "\n".join(errors)


def check_clean(cp: CaptureProcess, code: int) -> list[str]:
    """Exit code 0, no drops in the summary line, and the store holds all it reports."""
    if code != 0:
        return [f"amber capture exited {code}:\n{cp.output}"]
    s = cp.summary()
    kept = s.seen - s.filtered - s.sampled_out
    if s.dropped or s.in_flight or s.hook_errors:
        return [f"amber capture dropped exchanges: {s}"]
    if s.stored != kept:
        return [f"stored {s.stored} of {kept} kept exchanges: {s}"]
    with Store.open(cp.store_url, create=False) as st:
        n = st.count()
    if n != s.stored:
        return [f"store holds {n}, the summary says {s.stored}"]
    return []


@pytest.fixture
def capture_proxy(
    echo_app: EchoApp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CaptureRunner]:
    """Call it to start a proxy: `capture_proxy(*extra_args, key=KEY_A, upstream=, store=)`.

    Teardown stops every proxy still running with SIGINT and asserts exit code 0, that
    amber's summary reports no drops, and that the store holds every exchange it kept.
    """
    runner = CaptureRunner(echo_app, tmp_path_factory)
    yield runner
    runner.close_all()
