from __future__ import annotations

import base64
import gzip
import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.io import FlowReader
from mitmproxy.test import tflow
from mitmproxy.test import tutils

from amber._har import read_har
from amber._har import write_har
from amber._model import Exchange
from amber._model import Redaction
from amber._model import Request
from amber._model import Response
from amber.errors import ImportFormatError

DATA = Path(__file__).parent / "data"
T0 = 946681200.0  # mitmproxy's test epoch
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
    "9c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


def _exchanges() -> list[Exchange]:
    binary = bytes(range(256)) * 3
    return [
        Exchange(
            id="01HZZZZZZZZZZZZZZZZZZZZZZ1",
            request=Request(
                method="POST",
                scheme="https",
                host="api.example.com",
                port=443,
                path="/v1/upload",
                query="a=1&a=2&empty=&q=%20x",
                http_version="HTTP/2.0",
                headers=(
                    ("content-type", "application/octet-stream"),
                    ("x-dup", "one"),
                    ("X-Dup", "two"),
                    ("x-latin1", "caf\xe9 \xff"),  # non-UTF-8 bytes, decoded as Latin-1
                    ("x-request-id", "req-1"),
                    ("x-empty", ""),
                ),
                body=binary,
                host_header="api.example.com",
                timestamp_start=T0 + 0.123456,
                timestamp_end=T0 + 0.2,
            ),
            response=Response(
                status=201,
                reason="Created",
                http_version="HTTP/2.0",
                headers=(
                    ("content-type", "image/png"),
                    ("content-encoding", "gzip"),
                    ("set-cookie", "a=1; Path=/; HttpOnly"),
                    ("set-cookie", "b=2; Secure; SameSite=Lax"),
                ),
                body=PNG,
                content_encoding="gzip",
                timestamp_start=T0 + 0.25,
                timestamp_end=T0 + 0.5,
            ),
            client_addr="10.0.0.7:51234",
            request_id="req-1",
            route="/v1/upload",
            tags=("slow", "checkout"),
            redactions=(
                Redaction("authorization", "request.headers.authorization"),
                Redaction("email", "response.body$.email", "pseudonym"),
            ),
            meta={"capture": {"mode": "reverse"}, "n": 3},
        ),
        Exchange(  # an error and no response
            id="01HZZZZZZZZZZZZZZZZZZZZZZ2",
            request=Request(
                method="GET",
                scheme="http",
                host="::1",
                port=8080,
                path="/health check/caf\xe9",  # not URL-safe: kept in _amber_target
                headers=(("Host", "[::1]:8080"),),
                host_header="[::1]:8080",
                timestamp_start=T0 + 1,
                timestamp_end=None,
            ),
            error="Connection refused",
        ),
        Exchange(  # text bodies, a Latin-1 charset, a truncated body, an error with a response
            id="01HZZZZZZZZZZZZZZZZZZZZZZ3",
            request=Request(
                method="PUT",
                scheme="http",
                host="Example.COM",
                port=80,
                path="/caf%C3%A9/",
                query="x=1",
                http_version="HTTP/1.0",
                headers=(("Content-Type", "application/x-www-form-urlencoded"),),
                body=b"name=ana+maria&x=%26",
                body_truncated=True,
                timestamp_start=T0 + 2,
                timestamp_end=T0 + 2,
            ),
            response=Response(
                status=200,
                reason="",
                headers=(("Content-Type", "text/plain; charset=iso-8859-1"),),
                body="d\xe9j\xe0 vu".encode("latin-1"),
                timestamp_start=None,
                timestamp_end=None,
                body_truncated=True,
            ),
            error="peer closed connection early",
        ),
        Exchange(  # valid UTF-8 with NUL, and a body that starts with what looks like a BOM
            id="01HZZZZZZZZZZZZZZZZZZZZZZ4",
            request=Request(
                method="DELETE",
                scheme="https",
                host="h",
                port=8443,
                path="",
                timestamp_start=T0 + 3,
            ),
            response=Response(
                status=204, body=b"a\x00b", headers=(("content-type", "application/json"),)
            ),
        ),
    ]


def _har_bytes(exchanges: list[Exchange]) -> bytes:
    buf = io.BytesIO()
    assert write_har(exchanges, buf, creator_version="0.1.0") == len(exchanges)
    return buf.getvalue()


def test_round_trip_is_lossless() -> None:
    originals = _exchanges()
    back = list(read_har(io.BytesIO(_har_bytes(originals))))
    assert back == originals


def test_round_trip_of_pretty_printed_amber_har(tmp_path: Path) -> None:
    originals = _exchanges()
    doc = json.loads(_har_bytes(originals))
    path = tmp_path / "pretty.har"
    path.write_text(json.dumps(doc, indent=2))
    assert list(read_har(path)) == originals
    assert list(read_har(str(path))) == originals


def test_empty_har() -> None:
    data = _har_bytes([])
    assert json.loads(data)["log"]["entries"] == []
    assert list(read_har(io.BytesIO(data))) == []


REQUIRED_REQUEST = {
    "method",
    "url",
    "httpVersion",
    "cookies",
    "headers",
    "queryString",
    "headersSize",
    "bodySize",
}
REQUIRED_RESPONSE = {
    "status",
    "statusText",
    "httpVersion",
    "cookies",
    "headers",
    "content",
    "redirectURL",
    "headersSize",
    "bodySize",
}


def test_output_has_every_required_har_1_2_field() -> None:
    doc = json.loads(_har_bytes(_exchanges()))
    log = doc["log"]
    assert log["version"] == "1.2"
    assert log["creator"] == {"name": "amber", "version": "0.1.0"}
    assert len(log["entries"]) == 4
    for entry in log["entries"]:
        assert entry["request"]["url"].isascii()
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)
        assert entry["startedDateTime"].endswith("Z")
        assert REQUIRED_REQUEST <= set(entry["request"])
        assert REQUIRED_RESPONSE <= set(entry["response"])
        assert {"size", "mimeType"} <= set(entry["response"]["content"])
        timings = entry["timings"]
        assert {"send", "wait", "receive"} <= set(timings)
        assert all(timings[k] >= 0 for k in ("send", "wait", "receive"))
        assert entry["time"] == pytest.approx(
            timings["send"] + timings["wait"] + timings["receive"]
        )
        if "postData" in entry["request"]:
            assert {"mimeType", "text"} <= set(entry["request"]["postData"])
    first = log["entries"][0]
    assert first["startedDateTime"] == "1999-12-31T23:00:00.123Z"
    assert first["time"] == pytest.approx(500 - 123.456, abs=0.01)
    assert first["request"]["url"] == "https://api.example.com/v1/upload?a=1&a=2&empty=&q=%20x"
    assert first["request"]["queryString"][:2] == [
        {"name": "a", "value": "1"},
        {"name": "a", "value": "2"},
    ]
    assert first["request"]["postData"]["encoding"] == "base64"
    assert first["response"]["content"]["encoding"] == "base64"
    assert [c["name"] for c in first["response"]["cookies"]] == ["a", "b"]
    assert first["response"]["cookies"][0]["httpOnly"] is True
    assert first["response"]["cookies"][1]["sameSite"] == "Lax"
    assert log["entries"][1]["request"]["url"] == "http://[::1]:8080/health%20check/caf%C3%A9"
    no_response = log["entries"][1]["response"]
    assert no_response["status"] == 0 and no_response["_error"] == "Connection refused"
    third = log["entries"][2]
    assert third["response"]["content"]["text"] == "d\xe9j\xe0 vu"
    assert third["request"]["postData"]["params"] == [
        {"name": "name", "value": "ana maria"},
        {"name": "x", "value": "&"},
    ]


def test_mitmproxy_reads_amber_har(tmp_path: Path) -> None:
    path = tmp_path / "out.har"
    path.write_bytes(_har_bytes(_exchanges()))
    with path.open("rb") as fp:
        flows = list(FlowReader(fp).stream())
    assert len(flows) == 4
    first = flows[0]
    assert isinstance(first, http.HTTPFlow) and first.response is not None
    assert first.request.method == "POST"
    assert first.request.pretty_url.endswith("/v1/upload?a=1&a=2&empty=&q=%20x")
    assert first.response.status_code == 201
    assert first.response.content == PNG  # re-encoded with gzip by mitmproxy, then decoded
    assert first.response.headers.get_all("set-cookie") == [
        "a=1; Path=/; HttpOnly",
        "b=2; Secure; SameSite=Lax",
    ]
    third = flows[2]
    assert isinstance(third, http.HTTPFlow) and third.response is not None
    assert third.response.content == "d\xe9j\xe0 vu".encode("latin-1")


class _Recorder(io.BytesIO):
    pass


def test_writer_streams_one_entry_at_a_time() -> None:
    buf = _Recorder()
    originals = _exchanges()
    seen: list[int] = []

    def gen() -> Iterator[Exchange]:
        for i, ex in enumerate(originals):
            # everything yielded before is already on the file
            seen.append(buf.getvalue().count(b'"_amber_id"'))
            assert seen[-1] == i
            yield ex

    assert write_har(gen(), buf, creator_version="x") == 4
    assert seen == [0, 1, 2, 3]
    lines = buf.getvalue().split(b"\n")
    assert lines[0].endswith(b'"entries":[')
    assert lines[-2] == b"]}}"


def test_reader_streams_amber_layout() -> None:
    data = _har_bytes(_exchanges())
    fp = io.BytesIO(data)
    it = read_har(fp)
    next(it)
    assert fp.tell() < len(data)


def test_timestamps_to_ms_without_amber_extras() -> None:
    doc = json.loads(_har_bytes(_exchanges()))
    for entry in doc["log"]["entries"]:
        for key in [k for k in entry if k.startswith("_amber")]:
            del entry[key]
    back = list(read_har(io.BytesIO(json.dumps(doc).encode())))
    ex, orig = back[0], _exchanges()[0]
    assert ex.id != orig.id and len(ex.id) == 26
    assert ex.request.timestamp_start == pytest.approx(orig.request.timestamp_start, abs=1e-3)
    assert orig.request.timestamp_end is not None and ex.request.timestamp_end is not None
    assert ex.request.timestamp_end == pytest.approx(orig.request.timestamp_end, abs=1e-3)
    assert ex.response is not None and orig.response is not None
    assert ex.response.timestamp_start == pytest.approx(orig.response.timestamp_start, abs=1e-3)
    assert ex.response.timestamp_end == pytest.approx(orig.response.timestamp_end, abs=1e-3)
    # what HAR itself carries survives without the extras
    assert ex.request.headers == orig.request.headers
    assert ex.request.body == orig.request.body  # base64 postData
    assert ex.response.body == orig.response.body
    assert ex.response.content_encoding == "gzip"  # from the header
    assert ex.request_id == "req-1"  # lifted from the headers
    assert ex.route == ""
    assert back[1].response is None and back[1].error == "Connection refused"


def test_chrome_devtools_har() -> None:
    exchanges = list(read_har(DATA / "chrome_devtools.har"))
    # the websocket entry is skipped
    assert [e.request.method for e in exchanges] == ["GET", "POST", "GET", "POST", "GET"]
    page, cart, logo, login, failed = exchanges

    assert page.request.scheme == "https" and page.request.host == "shop.example.com"
    assert page.request.port == 443
    assert page.request.path == "/products" and page.request.query == "page=2&sort=price%20asc"
    assert page.request.http_version == "HTTP/2.0"
    assert page.request.host_header == "shop.example.com"  # from :authority
    assert not any(k.startswith(":") for k, _ in page.request.headers)
    assert page.request.header("cookie") == "session=abc123; theme=dark"
    assert page.response is not None
    assert page.response.text.startswith("<!doctype html><title>Produits \u2013 page 2")
    assert "9,99 \u20ac" in page.response.text
    assert page.response.content_encoding == "br"
    assert [v for k, v in page.response.headers if k == "set-cookie"] == [
        "seen=1; Path=/",
        "ab=B; Path=/; Secure",
    ]
    assert page.request_id == "req-7f3a"
    assert page.request.timestamp_start == pytest.approx(1709630100.120)
    # blocked + dns + connect + send = 12.0 ms; then wait 30 ms; receive 2 ms
    assert page.request.timestamp_end == pytest.approx(1709630100.132)
    assert page.response.timestamp_start == pytest.approx(1709630100.162)
    assert page.response.timestamp_end == pytest.approx(1709630100.164)
    assert page.duration_ms == pytest.approx(44.0, abs=1e-3)
    assert page.error is None and page.route == "" and len(page.id) == 26

    assert cart.request.json() == {"sku": "A-1", "quantity": 2}
    assert cart.response is not None and cart.response.status == 201
    assert cart.response.reason == "Created"
    assert cart.request_id == "4bf92f3577b34da6a3ce929d0e0e4736"

    assert logo.response is not None
    assert logo.response.body == PNG
    assert logo.response.content_type == "image/png"
    assert logo.request.http_version == "HTTP/1.1"

    assert login.request.body == b"user=ana+maria&next=%2Fcart%3Fx%3D1"
    assert login.response is not None and login.response.status == 302
    assert login.response.body == b""
    assert login.request_id == "corr-99"

    assert failed.response is None
    assert failed.error == "net::ERR_CONNECTION_REFUSED"


def test_firefox_shaped_minimal_entries() -> None:
    doc: dict[str, Any] = {
        "log": {
            "version": "1.2",
            "creator": {"name": "Firefox"},
            "entries": [
                {
                    "startedDateTime": "2024-03-05T10:15:00.120+01:00",
                    "time": 25,
                    "request": {
                        "method": "get",
                        "url": "http://localhost:5000/a?b=1",
                        "headers": [],
                    },
                    "response": {
                        "status": 200,
                        "httpVersion": "HTTP/2",
                        "headers": [{"name": "Content-Type", "value": "image/jpeg"}],
                        "content": {"size": 2048, "mimeType": "image/jpeg"},
                    },
                },
                {"request": {"method": "GET", "url": "https://x.test"}, "response": {"status": 0}},
                {"request": {"method": "GET", "url": "https://x.test/y"}},
                {"request": {"method": "GET", "url": "data:image/png;base64,AAAA"}},
            ],
        }
    }
    exchanges = list(read_har(io.BytesIO(json.dumps(doc).encode())))
    assert len(exchanges) == 3
    first = exchanges[0]
    assert first.request.method == "GET"
    assert first.request.port == 5000 and first.request.path == "/a"
    assert first.request.timestamp_start == pytest.approx(1709630100.120)
    assert first.response is not None
    assert first.response.http_version == "HTTP/2.0"
    assert first.response.body == b"" and first.response.body_truncated  # left out by Firefox
    assert first.duration_ms == pytest.approx(25.0, abs=1e-3)
    assert exchanges[1].request.path == "/"
    assert exchanges[1].response is None and exchanges[1].error == "no response recorded"
    assert exchanges[2].response is None


def test_post_data_with_only_multipart_params() -> None:
    mime = "multipart/form-data; boundary=XyZ"
    doc = {
        "log": {
            "entries": [
                {
                    "startedDateTime": "2024-01-01T00:00:00Z",
                    "request": {
                        "method": "POST",
                        "url": "https://x.test/upload",
                        "headers": [{"name": "Content-Type", "value": mime}],
                        "postData": {
                            "mimeType": mime,
                            "params": [
                                {"name": "title", "value": "hi"},
                                {
                                    "name": "file",
                                    "fileName": "a.txt",
                                    "contentType": "text/plain",
                                    "value": "abc",
                                },
                            ],
                        },
                    },
                    "response": {"status": 200, "content": {"text": "b2s=", "encoding": "base64"}},
                }
            ]
        }
    }
    (ex,) = read_har(io.BytesIO(json.dumps(doc).encode()))
    assert ex.request.body == (
        b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nabc\r\n--XyZ--\r\n"
    )
    assert ex.response is not None and ex.response.body == b"ok"


def test_mitmproxy_savehar_output_imports() -> None:
    with warnings.catch_warnings():
        # importing mitmproxy.addons pulls in ldap3, which trips a pyasn1 DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        from mitmproxy.addons.savehar import SaveHar
    resp = tutils.tresp(
        headers=http.Headers(
            [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]
        ),
        content=b"",
    )
    resp.content = b'{"ok": true}'
    flows = [
        tflow.tflow(req=tutils.treq(method=b"POST", content=b"a=1"), resp=resp),
        tflow.tflow(err=True),
    ]
    har = SaveHar().make_har(flows)
    exchanges = list(read_har(io.BytesIO(json.dumps(har).encode("utf-8"))))
    assert len(exchanges) == 2
    ok, failed = exchanges
    assert ok.request.url == "http://address:22/path"
    assert ok.request.body == b"a=1"
    assert ok.response is not None and ok.response.json() == {"ok": True}
    assert ok.response.content_encoding == "gzip"
    assert ok.request.timestamp_start == pytest.approx(T0)
    assert failed.response is None and failed.error == "error"


def test_base64_text_and_gzip_untouched() -> None:
    body = gzip.compress(b"hello")  # a HAR body is decoded; amber keeps whatever it holds
    doc = {
        "log": {
            "entries": [
                {
                    "startedDateTime": "2024-01-01T00:00:00.5Z",
                    "request": {"method": "GET", "url": "https://x.test/"},
                    "response": {
                        "status": 200,
                        "content": {"text": base64.b64encode(body).decode(), "encoding": "base64"},
                    },
                }
            ]
        }
    }
    (ex,) = read_har(io.BytesIO(json.dumps(doc).encode()))
    assert ex.response is not None and ex.response.body == body
    assert ex.request.timestamp_start == pytest.approx(1704067200.5)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"entries": []}, "no top-level 'log'"),
        ({"log": {}}, "'log.entries' is missing"),
        ({"log": {"entries": {}}}, "'log.entries' is missing"),
        (
            {
                "log": {
                    "entries": [
                        {"request": {"method": "GET", "url": "http://a/"}},
                        {"request": {"method": "GET"}},
                    ]
                }
            },
            "entries[1]: request.url: missing",
        ),
        (
            {"log": {"entries": [{"request": {"url": "http://a/"}}]}},
            "entries[0]: request.method: missing",
        ),
        ({"log": {"entries": [{"response": {}}]}}, "entries[0]: request: missing"),
        ({"log": {"entries": [[]]}}, "entries[0]: entry: not an object"),
        (
            {"log": {"entries": [{"request": {"method": "GET", "url": "/relative"}}]}},
            "entries[0]: request.url: not an absolute URL",
        ),
        (
            {
                "log": {
                    "entries": [
                        {
                            "startedDateTime": "yesterday",
                            "request": {"method": "GET", "url": "http://a/"},
                        }
                    ]
                }
            },
            "entries[0]: startedDateTime: not an ISO 8601 time",
        ),
        (
            {
                "log": {
                    "entries": [{"request": {"method": "GET", "url": "http://a/", "headers": "x"}}]
                }
            },
            "entries[0]: request.headers: not a list",
        ),
    ],
)
def test_malformed_har_names_entry_and_field(doc: Any, message: str) -> None:
    fp = io.BytesIO(json.dumps(doc).encode())
    fp.name = "bad.har"
    with pytest.raises(ImportFormatError) as exc:
        list(read_har(fp))
    assert message in str(exc.value)
    assert str(exc.value).startswith("bad.har: ")
    assert "\n" not in str(exc.value)


def test_invalid_json_and_damaged_amber_har() -> None:
    with pytest.raises(ImportFormatError, match="invalid JSON"):
        list(read_har(io.BytesIO(b"{not json")))
    data = _har_bytes(_exchanges())
    cut = data[: data.index(b"\n", data.index(b"\n") + 1) + 40]  # damage the second entry
    with pytest.raises(ImportFormatError, match=r"entries\[1\]: invalid JSON"):
        list(read_har(io.BytesIO(cut)))


def test_a_truncated_har_says_so_and_what_to_do() -> None:
    doc = json.dumps(
        {"log": {"entries": [{"request": {"method": "GET", "url": "http://a/", "headers": []}}]}}
    ).encode()
    for cut in (10, len(doc) // 2, len(doc) - 1):
        with pytest.raises(
            ImportFormatError,
            match="ends in the middle of its JSON .*: it is truncated; export or copy it again",
        ):
            list(read_har(io.BytesIO(doc[:cut])))
    # amber's own HAR, cut at a line end: every entry is JSON, the closing line is missing
    lines = _har_bytes(_exchanges()).splitlines(keepends=True)
    read = []
    with pytest.raises(
        ImportFormatError,
        match=r"ends after entries\[1\] without the closing "
        r"'\]}}' .*truncated",
    ):
        read.extend(read_har(io.BytesIO(b"".join(lines[:3]))))
    assert len(read) == 2  # the entries before the cut are read
    with pytest.raises(ImportFormatError, match="ends before its first entry"):
        list(read_har(io.BytesIO(lines[0])))


def test_a_redaction_action_outside_the_closed_set_is_an_error() -> None:
    doc = json.loads(_har_bytes(_exchanges()))
    index = next(i for i, e in enumerate(doc["log"]["entries"]) if e.get("_amber_redactions"))
    doc["log"]["entries"][index]["_amber_redactions"][1]["action"] = "hash"
    with pytest.raises(ImportFormatError) as exc:
        list(read_har(io.BytesIO(json.dumps(doc).encode())))
    assert (
        f"entries[{index}]: _amber_redactions[1].action: expected one of mask, "
        "pseudonym, drop, got 'hash'"
    ) in str(exc.value)


def test_bom_is_skipped() -> None:
    data = (
        b"\xef\xbb\xbf"
        + json.dumps(
            {"log": {"entries": [{"request": {"method": "GET", "url": "http://a/"}}]}}
        ).encode()
    )
    assert len(list(read_har(io.BytesIO(data)))) == 1
