"""A RawFlow becomes an exchange in the wire form the proxy saw (nothing decoded yet)."""

from __future__ import annotations

from amber.capture._raw import raw_to_exchange
from tests.capture.test_writer import SECRET
from tests.capture.test_writer import raw


def test_raw_to_exchange_keeps_the_wire_form() -> None:
    ex = raw_to_exchange(raw(3, body=b"\x1f\x8b not really gzip"))
    assert ex.request.path == "/items/3" and ex.request.query == f"token={SECRET}"
    assert ex.request.body == b"\x1f\x8b not really gzip"
    assert ex.response is not None and ex.response.status == 200
    err = raw_to_exchange(raw(4, status=None))
    assert err.response is None and err.error == "connection refused"


def test_the_host_header_is_what_the_client_sent_in_every_http_version() -> None:
    h1 = raw(1)
    assert raw_to_exchange(h1).request.host_header == "api.example.com"
    h2 = raw(2)._replace(
        http_version=b"HTTP/2.0",
        authority=b"h2.example.com",
        req_headers=((b"content-type", b"application/json"),),
    )
    ex = raw_to_exchange(h2)
    assert ex.request.host_header == "h2.example.com" and ex.request.http_version == "HTTP/2.0"
    no_host = raw(3)._replace(req_headers=())
    assert raw_to_exchange(no_host).request.host_header is None
