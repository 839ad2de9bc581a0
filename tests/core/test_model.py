from __future__ import annotations

import pytest

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import content_encoding
from amber._model import decode_header_bytes
from amber._model import extract_request_id
from amber._model import header_get_all
from amber._model import new_id
from tests.conftest import make_exchange


def test_ids_sort_by_time_and_are_unique() -> None:
    ids = [new_id(946681200.0 + i) for i in range(100)]
    assert ids == sorted(ids)
    assert len({new_id(946681200.0) for _ in range(1000)}) == 1000
    assert all(len(i) == 26 for i in ids)


def test_request_id_from_common_headers() -> None:
    assert extract_request_id((("X-Request-ID", "abc"),)) == "abc"
    assert extract_request_id((("X-Correlation-Id", "c-1"),)) == "c-1"
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert extract_request_id((("traceparent", tp),)) == "4bf92f3577b34da6a3ce929d0e0e4736"
    amzn = "Self=1-67891234-abc;Root=1-67891233-abcdef012345678912345678;Sampled=1"
    assert extract_request_id((("X-Amzn-Trace-Id", amzn),)) == "1-67891233-abcdef012345678912345678"
    # configured names win; the response is searched when the request has none
    assert extract_request_id((("X-Request-ID", "a"), ("X-Trace", "t")), (), ["X-Trace"]) == "t"
    assert extract_request_id((), (("x-request-id", "from-server"),)) == "from-server"
    assert extract_request_id((("traceparent", "garbage"),)) is None


def test_headers_keep_repeats_and_order() -> None:
    ex = make_exchange(1)
    assert header_get_all(ex.request.headers, "accept") == ["*/*", "application/json"]


def test_non_utf8_header_bytes_are_kept() -> None:
    assert decode_header_bytes(b"caf\xe9") == "café"  # Latin-1 fallback
    assert decode_header_bytes("café".encode()) == "café"


def test_decoded_views() -> None:
    latin = (("Content-Type", "text/plain; charset=latin-1"),)
    resp = Response(200, headers=latin, body=b"caf\xe9")
    assert resp.text == "café"
    assert not resp.is_binary
    png = Response(200, headers=(("Content-Type", "image/png"),), body=b"\x89PNG\r\n\x1a\n\x00\x00")
    assert png.is_binary
    bad = Response(200, headers=(("Content-Type", "text/plain; charset=nope"),), body=b"abc")
    assert bad.text == "abc"


def test_url_and_target() -> None:
    r = Request("GET", "https", "api.example.com", 443, "/a", query="b=1")
    assert r.url == "https://api.example.com/a?b=1"
    assert Request("GET", "http", "::1", 8080, "/").url == "http://[::1]:8080/"


def test_dict_round_trip_with_binary_bodies() -> None:
    ex = make_exchange(3, body=bytes(range(256)), req_body=b"plain")
    d = ex.to_dict()
    assert d["response"]["body_encoding"] == "base64"
    assert Exchange.from_dict(d) == ex


def test_duration_and_truncation() -> None:
    ex = make_exchange(1)
    assert ex.duration_ms is not None and abs(ex.duration_ms - 12.0) < 1e-3
    assert not ex.truncated
    ex.request.body_truncated = True
    assert ex.truncated


@pytest.mark.parametrize(
    ("headers", "want"),
    [
        ((("Content-Type", "text/plain"), ("Content-Encoding", " GZIP ")), "GZIP"),
        ((("content-encoding", "br"), ("content-encoding", "gzip")), "br"),  # the first one
        ((("Content-Encoding", "Identity"),), None),
        ((("Content-Encoding", "  "),), None),
        ((), None),
    ],
)
def test_content_encoding(headers: tuple[tuple[str, str], ...], want: str | None) -> None:
    assert content_encoding(headers) == want
