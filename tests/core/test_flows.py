from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy import version
from mitmproxy.io import FlowReader
from mitmproxy.io import FlowWriter
from mitmproxy.io import tnetstring
from mitmproxy.test import tflow
from mitmproxy.test import tutils

from amber._exports import write_jsonl
from amber._flows import detect_format
from amber._flows import exchange_from_flow
from amber._flows import read_flows
from amber._har import read_har
from amber._har import write_har
from amber.errors import ImportFormatError

T0 = 946681200.0


def _gzip_flow() -> http.HTTPFlow:
    resp = tutils.tresp(
        headers=http.Headers(
            [(b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip")]
        )
    )
    resp.content = b'{"hello": "world"}'  # encoded with gzip by mitmproxy
    req = tutils.treq(
        method=b"POST",
        path=b"/api/caf\xc3\xa9/\xff?q=1&q=2",
        headers=http.Headers(
            [
                (b"Host", b"api.example.com"),
                (b"X-Dup", b"1"),
                (b"x-dup", b"2"),
                (b"X-Bytes", b"caf\xe9"),  # not UTF-8
                (b"X-Request-ID", b"abc-123"),
            ]
        ),
        content=b"\x00\x01binary\xff",
    )
    return tflow.tflow(req=req, resp=resp)


def test_exchange_from_flow_fields() -> None:
    f = _gzip_flow()
    ex = exchange_from_flow(f)
    req = ex.request
    assert len(ex.id) == 26
    assert (req.method, req.scheme, req.host, req.port) == ("POST", "http", "address", 22)
    assert req.path == "/api/caf\xc3\xa9/\xff"  # not UTF-8 as a whole: Latin-1, byte for byte
    assert req.query == "q=1&q=2"
    assert req.headers == (
        ("Host", "api.example.com"),
        ("X-Dup", "1"),
        ("x-dup", "2"),
        ("X-Bytes", "caf\xe9"),
        ("X-Request-ID", "abc-123"),
    )
    assert req.host_header == "api.example.com"
    assert req.body == b"\x00\x01binary\xff"
    assert req.content_encoding is None
    assert req.http_version == "HTTP/1.1"
    assert (req.timestamp_start, req.timestamp_end) == (T0, T0 + 1)
    assert ex.response is not None
    assert ex.response.status == 200 and ex.response.reason == "OK"
    assert ex.response.body == b'{"hello": "world"}'
    assert ex.response.content_encoding == "gzip"
    assert (ex.response.timestamp_start, ex.response.timestamp_end) == (T0 + 2, T0 + 3)
    assert ex.client_addr == "127.0.0.1:22"
    assert ex.request_id == "abc-123"
    assert ex.error is None and ex.route == ""


def test_decode_false_keeps_raw_bytes() -> None:
    f = _gzip_flow()
    ex = exchange_from_flow(f, decode=False)
    assert ex.response is not None and f.response is not None
    assert ex.response.body == f.response.raw_content
    assert ex.response.body[:2] == b"\x1f\x8b"
    assert ex.response.content_encoding is None


def test_body_that_does_not_decode_is_kept_as_sent() -> None:
    resp = tutils.tresp(
        headers=http.Headers([(b"Content-Encoding", b"gzip")]), content=b"not gzip at all"
    )
    ex = exchange_from_flow(tflow.tflow(resp=resp))
    assert ex.response is not None
    assert ex.response.body == b"not gzip at all"
    assert ex.response.content_encoding is None


def test_http2_authority_error_and_ipv6_client() -> None:
    req = tutils.treq(http_version=b"HTTP/2.0", authority=b"h2.example.com", headers=http.Headers())
    f = tflow.tflow(req=req, err=True)
    f.client_conn.peername = ("2001:db8::1", 443, 0, 0)  # type: ignore[assignment]
    ex = exchange_from_flow(f)
    assert ex.request.http_version == "HTTP/2.0"
    assert ex.request.host_header == "h2.example.com"
    assert ex.response is None
    assert ex.error == "error"
    assert ex.client_addr == "[2001:db8::1]:443"


def test_streamed_body_is_marked_truncated() -> None:
    resp = tutils.tresp(headers=http.Headers([(b"content-length", b"100")]))
    resp.raw_content = None
    ex = exchange_from_flow(tflow.tflow(resp=resp))
    assert ex.response is not None
    assert ex.response.body == b"" and ex.response.body_truncated
    assert not ex.request.body_truncated


def _flow_file(path: Path) -> None:
    with path.open("wb") as fp:
        w = FlowWriter(fp)  # type: ignore[no-untyped-call]
        w.add(_gzip_flow())
        w.add(tflow.tflow(err=True))
        w.add(tflow.twebsocketflow())  # skipped
        w.add(tflow.ttcpflow())  # skipped
        w.add(tflow.tflow(resp=True))


def test_read_flows_from_path_and_file(tmp_path: Path) -> None:
    path = tmp_path / "flows.mitm"
    _flow_file(path)
    exchanges = list(read_flows(path))
    assert len(exchanges) == 3
    assert exchanges[0].response is not None
    assert exchanges[0].response.body == b'{"hello": "world"}'
    assert exchanges[1].error == "error" and exchanges[1].response is None
    assert exchanges[2].status == 200
    with path.open("rb") as fp:
        assert len(list(read_flows(fp))) == 3
    assert len(list(read_flows(io.BytesIO(path.read_bytes())))) == 3


def test_empty_flow_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mitm"
    path.write_bytes(b"")
    assert list(read_flows(path)) == []


def test_newer_flow_format_says_what_to_do(tmp_path: Path) -> None:
    state = tflow.tflow(resp=True).get_state()
    state["version"] = version.FLOW_FORMAT_VERSION + 1
    path = tmp_path / "flows.mitm"
    with path.open("wb") as fp:
        tnetstring.dump(state, fp)
    with pytest.raises(ImportFormatError) as exc:
        list(read_flows(path))
    ours = version.FLOW_FORMAT_VERSION
    assert str(exc.value) == (
        f"{path}: written by a newer mitmproxy (flow format {ours + 1}, this one reads "
        f"up to {ours}): export it as HAR from that mitmproxy "
        "(mitmdump -nr FILE --set hardump=out.har) and import the HAR"
    )


def test_unknown_old_flow_format(tmp_path: Path) -> None:
    state = tflow.tflow(resp=True).get_state()
    state["version"] = (0, 9)
    path = tmp_path / "old.mitm"
    with path.open("wb") as fp:
        tnetstring.dump(state, fp)
    with pytest.raises(ImportFormatError, match=r"old.mitm: written in flow format \(0, 9\)"):
        list(read_flows(path))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello world", "not a mitmproxy flow file"),
        (b'{"log": {"entries": []}}', "this is JSON (HAR or JSONL)"),
        (b"12:not a dict", "not a mitmproxy flow file"),
    ],
)
def test_not_a_flow_file(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "x.mitm"
    path.write_bytes(data)
    with pytest.raises(ImportFormatError, match=re.escape(message)):
        list(read_flows(path))


def test_truncated_flow_file(tmp_path: Path) -> None:
    path = tmp_path / "flows.mitm"
    _flow_file(path)
    data = path.read_bytes()
    first = io.BytesIO()
    FlowWriter(first).add(_gzip_flow())  # type: ignore[no-untyped-call]
    cut = tmp_path / "cut.mitm"
    cut.write_bytes(data[: len(first.getvalue()) + 50])
    with pytest.raises(ImportFormatError, match="cut.mitm: damaged after 1 flows"):
        list(read_flows(cut))


def test_detect_format(tmp_path: Path) -> None:
    flows = tmp_path / "a.mitm"
    _flow_file(flows)
    assert detect_format(flows) == "flows"
    exchanges = list(read_flows(flows))

    har = tmp_path / "a.har"
    with har.open("wb") as fp:
        write_har(exchanges, fp, creator_version="t")
    assert detect_format(har) == "har"
    pretty = tmp_path / "pretty.har"
    pretty.write_text("\ufeff" + json.dumps(json.loads(har.read_bytes()), indent=2))
    assert detect_format(pretty) == "har"

    jsonl = tmp_path / "a.jsonl"
    with jsonl.open("wb") as fp:
        write_jsonl(exchanges, fp)
    assert detect_format(str(jsonl)) == "jsonl"

    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ImportFormatError, match="empty"):
        detect_format(empty)
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"GET / HTTP/1.1\r\n")
    with pytest.raises(ImportFormatError, match="not HAR, JSONL or a mitmproxy flow file"):
        detect_format(junk)


def test_amber_har_through_mitmproxy_and_back(tmp_path: Path) -> None:
    """amber HAR -> mitmproxy's HAR import -> flow file -> amber, and -> mitmproxy's savehar."""
    req = tutils.treq(
        host="::1",
        port=8080,
        http_version=b"HTTP/2.0",
        headers=http.Headers([(b"x-dup", b"1"), (b"x-dup", b"2")]),
    )
    exchanges = [
        exchange_from_flow(_gzip_flow()),
        exchange_from_flow(tflow.tflow(req=req, resp=True)),
        exchange_from_flow(tflow.tflow(err=True)),
    ]
    har = io.BytesIO()
    write_har(exchanges, har, creator_version="t")
    har.seek(0)
    flows = list(FlowReader(har).stream())
    path = tmp_path / "via-mitmproxy.mitm"
    with path.open("wb") as fp:
        w = FlowWriter(fp)  # type: ignore[no-untyped-call]
        for f in flows:
            w.add(f)
    back = list(read_flows(path))
    assert [e.request.url for e in back[1:]] == [e.request.url for e in exchanges[1:]]
    # HAR URLs are ASCII: mitmproxy gets the non-UTF-8 path percent-encoded
    assert back[0].request.path == "/api/caf%C3%83%C2%A9/%C3%BF"
    assert back[0].response is not None and exchanges[0].response is not None
    assert back[0].response.body == exchanges[0].response.body
    # mitmproxy 11 keeps Content-Encoding on HAR import; 12 keeps the decoded body without it
    assert back[0].response.content_encoding in ("gzip", None)
    # mitmproxy's HAR import rewrites Host and adds Content-Length; the rest survives
    assert back[0].request.headers[1:5] == exchanges[0].request.headers[1:5]
    assert back[1].request.http_version == "HTTP/2"  # mitmproxy's HAR import spells it so
    assert back[2].response is None and back[2].error == "no response recorded"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ldap3/pyasn1, via addons
        from mitmproxy.addons.savehar import SaveHar
    saved = SaveHar().make_har([f for f in flows if isinstance(f, http.HTTPFlow)])
    again = list(read_har(io.BytesIO(json.dumps(saved).encode())))
    assert again[1].request.host == "::1" and again[1].request.port == 8080
    assert again[1].request.http_version == "HTTP/2.0"
