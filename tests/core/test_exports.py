from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from amber._exports import read_jsonl
from amber._exports import write_curl
from amber._exports import write_jsonl
from amber._model import Exchange
from amber._model import Redaction
from amber._model import Request
from amber._model import Response
from amber.errors import ImportFormatError

T0 = 946681200.0
BINARY = bytes(range(256)) + b"\x00\x00end"


def _exchanges() -> list[Exchange]:
    return [
        Exchange(
            id="01HZZZZZZZZZZZZZZZZZZZZZZ1",
            request=Request(
                method="POST",
                scheme="https",
                host="api.example.com",
                port=443,
                path="/v1/items",
                query="a=1&a=2&filter[name]=x",
                headers=(
                    ("Host", "api.example.com"),
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Length", "263"),
                    ("Connection", "keep-alive"),
                    ("X-Dup", "one"),
                    ("X-Dup", "two"),
                    ("X-Quote", 'it\'s "quoted" $HOME `x` \\ !'),
                    ("X-Empty", ""),
                    ("X-Request-ID", "req-1"),
                ),
                body=BINARY,
                timestamp_start=T0,
            ),
            response=Response(status=201, body=b"\x89PNG\x00"),
            request_id="req-1",
            redactions=(Redaction("r", "request.headers.authorization"),),
            tags=("t",),
            meta={"k": "v"},
        ),
        Exchange(
            id="01HZZZZZZZZZZZZZZZZZZZZZZ2",
            request=Request(
                method="PUT",
                scheme="http",
                host="api.example.com",
                port=80,
                path="/v1/text",
                headers=(("Content-Type", "text/plain; charset=utf-8"),),
                body="line 1\nline 2\ttab 'quote' \\ caf\u00e9 \u2603 $(rm -rf /)\r\n".encode(),
                timestamp_start=T0 + 1,
            ),
            error="connection reset\nby peer",
        ),
        Exchange(
            id="01HZZZZZZZZZZZZZZZZZZZZZZ3",
            request=Request(
                method="GET",
                scheme="http",
                host="api.example.com",
                port=80,
                path="/v1/get",
                query="x=%20y",
                headers=(("Accept-Encoding", "gzip"),),
                timestamp_start=T0 + 2,
            ),
            response=Response(status=200),
        ),
        Exchange(
            id="01HZZZZZZZZZZZZZZZZZZZZZZ4",
            request=Request(
                method="PATCH",
                scheme="http",
                host="api.example.com",
                port=80,
                path="/v1/at",
                body=b"@/etc/passwd",
                timestamp_start=T0 + 3,
            ),
            response=Response(status=204),
        ),
        Exchange(
            id="01HZZZZZZZZZZZZZZZZZZZZZZ6",
            request=Request(
                method="POST",
                scheme="http",
                host="api.example.com",
                port=80,
                path="/v1/dash",
                body=b"-n\x00%d%s\\",
                timestamp_start=T0 + 3,
            ),
            response=Response(status=204),
        ),
        Exchange(
            id="01HZZZZZZZZZZZZZZZZZZZZZZ5",
            request=Request(
                method="DELETE",
                scheme="http",
                host="api.example.com",
                port=80,
                path="/v1/latin",
                body=b"caf\xe9 \xff\xfe",
                headers=(("Content-Type", "text/plain; charset=latin-1"),),
                timestamp_start=T0 + 4,
            ),
            response=Response(status=200),
        ),
    ]


# -- JSONL ------------------------------------------------------------------------------


def test_jsonl_round_trip(tmp_path: Path) -> None:
    originals = _exchanges()
    buf = io.BytesIO()
    assert write_jsonl(originals, buf) == len(originals)
    lines = buf.getvalue().splitlines()
    assert len(lines) == len(originals)
    assert orjson.loads(lines[0])["id"] == originals[0].id
    assert list(read_jsonl(io.BytesIO(buf.getvalue()))) == originals
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"\n" + buf.getvalue() + b"\n\n")
    assert list(read_jsonl(path)) == originals


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        (b"{not json", "x.jsonl:2: not valid JSON"),
        (b"[1, 2]", "x.jsonl:2: expected a JSON object"),
        (b'{"id": "a"}', "x.jsonl:2: not an amber exchange: missing field 'request'"),
        (b'{"id": "a", "request": {"method": "GET"}}', "x.jsonl:2: not an amber exchange"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path: Path, second_line: bytes, message: str) -> None:
    buf = io.BytesIO()
    write_jsonl(_exchanges()[:1], buf)
    path = tmp_path / "x.jsonl"
    path.write_bytes(buf.getvalue() + second_line + b"\n")
    it = read_jsonl(path)
    assert next(it).id == "01HZZZZZZZZZZZZZZZZZZZZZZ1"
    with pytest.raises(ImportFormatError) as exc:
        next(it)
    assert str(exc.value).startswith(message.replace("x.jsonl", str(path)))
    assert "\n" not in str(exc.value)


# -- curl -------------------------------------------------------------------------------


def _curl_script(exchanges: list[Exchange], base_url: str | None = None) -> str:
    buf = io.BytesIO()
    assert write_curl(exchanges, buf, base_url=base_url) == len(exchanges)
    return buf.getvalue().decode("utf-8")


def test_curl_output_shape() -> None:
    script = _curl_script(_exchanges())
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "# amber 01HZZZZZZZZZZZZZZZZZZZZZZ1 request_id=req-1 recorded=201\n" in script
    assert (
        "# amber 01HZZZZZZZZZZZZZZZZZZZZZZ2 request_id=- recorded=error: connection reset by peer\n"
    ) in script
    assert "Content-Length" not in script and "Connection" not in script
    assert "-H 'Host:" not in script  # same as the URL's
    assert "--globoff" in script  # filter[name]
    assert "-X PUT" in script and "-X POST" not in script
    assert "--compressed" in script
    assert "@-" not in script
    assert "'https://api.example.com/v1/items?a=1&a=2&filter[name]=x'" in script


def test_curl_keeps_a_host_header_that_differs_from_the_url() -> None:
    ex = Exchange(
        id="x",
        request=Request(
            method="GET",
            scheme="http",
            host="10.0.0.5",
            port=8080,
            path="/",
            headers=(("Host", "shop.example.com"),),
        ),
    )
    assert "-H 'Host: shop.example.com'" in _curl_script([ex])
    assert "Host:" not in _curl_script([ex], base_url="http://127.0.0.1:1")


def test_curl_is_valid_bash(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    path = tmp_path / "replay.sh"
    path.write_text(_curl_script(_exchanges()), encoding="utf-8")
    result = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


class _Echo(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.received.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": list(self.headers.items()),
                "body": body,
            }
        )
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Echo", (_Echo,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_curl_commands_run_against_a_local_server(
    tmp_path: Path, echo_server: tuple[str, list[dict[str, Any]]]
) -> None:
    bash, curl = shutil.which("bash"), shutil.which("curl")
    if bash is None or curl is None:
        pytest.skip("bash and curl are needed to run the generated commands")
    base_url, received = echo_server
    exchanges = _exchanges()
    path = tmp_path / "replay.sh"
    path.write_text(_curl_script(exchanges, base_url=base_url), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = "*"
    result = subprocess.run(
        [bash, str(path)],
        capture_output=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert len(received) == len(exchanges)

    post, put, get, patch, dash, delete = received
    assert post["method"] == "POST"
    assert post["path"] == "/v1/items?a=1&a=2&filter[name]=x"
    assert post["body"] == BINARY
    headers = post["headers"]
    assert [v for k, v in headers if k == "X-Dup"] == ["one", "two"]
    assert ("X-Quote", 'it\'s "quoted" $HOME `x` \\ !') in headers
    assert ("X-Empty", "") in headers
    assert ("Content-Type", "application/octet-stream") in headers
    assert not any(k.lower() == "connection" and v == "keep-alive" for k, v in headers)

    assert put["method"] == "PUT"
    assert put["body"] == exchanges[1].request.body

    assert get["method"] == "GET" and get["path"] == "/v1/get?x=%20y" and get["body"] == b""
    assert patch["method"] == "PATCH" and patch["body"] == b"@/etc/passwd"
    assert not any(k.lower() == "content-type" for k, _ in patch["headers"])
    assert dash["method"] == "POST" and dash["body"] == b"-n\x00%d%s\\"
    assert delete["method"] == "DELETE" and delete["body"] == b"caf\xe9 \xff\xfe"
