from __future__ import annotations

import json

import pytest

from amber._model import Exchange
from amber._model import Redaction
from amber._model import Request
from amber._model import Response
from amber.sanitize import Sanitizer
from amber.sanitize._urls import url_param_verdict

SIGNED = (
    "https://cdn.example.net/b/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Signature=9f2c4e1a7b3d5f60&X-Amz-Expires=900"
)


def url(s: Sanitizer, text: str) -> tuple[str, list[Redaction]]:
    out: list[Redaction] = []
    return s.urls.url(text, "u", out), out


def exchange(
    *,
    req_headers: tuple[tuple[str, str], ...] = (),
    resp_headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    ctype: str = "application/json",
    path: str = "/",
    query: str = "",
) -> Exchange:
    req = Request(
        method="GET",
        scheme="https",
        host="api.example.com",
        port=443,
        path=path,
        query=query,
        headers=req_headers,
    )
    resp = Response(status=200, headers=(("Content-Type", ctype), *resp_headers), body=body)
    return Exchange(id="e1", request=req, response=resp)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Amz-Signature", "9f2c4e1a"),
        ("X-Goog-Signature", "ab12"),
        ("oauth_signature", "abc%3D"),
        ("sig", "x"),
        ("Key-Pair-Id", "APKAEXAMPLE"),
        ("code", "SplxlOBeZQQYbYS6WxSbIA"),
        ("code", "qwertyuiopas"),
        ("k", "AbCdEfGh12345678"),
        ("hash", "9e107d9d372bb6826bd81d3542a419d6"),
        ("ticket", "ST-12345-abcdefghij"),
    ],
)
def test_signed_and_oauth_parameters_are_secrets(name: str, value: str) -> None:
    assert url_param_verdict(name, value) == ("mask", "signed-url")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("code", "200"),
        ("code", "12345678901"),
        ("hash", "sha256"),
        ("k", "v2"),
        ("page", "2"),
        ("ticket", "open"),
    ],
)
def test_short_or_numeric_values_of_common_names_are_kept(name: str, value: str) -> None:
    assert url_param_verdict(name, value) is None


def test_signed_url_masks_only_the_signature(sanitizer: Sanitizer) -> None:
    new, out = url(sanitizer, SIGNED)
    assert "9f2c4e1a7b3d5f60" not in new
    assert new.startswith("https://cdn.example.net/b/report.pdf?X-Amz-Algorithm=AWS4-HMAC")
    assert new.endswith("&X-Amz-Expires=900")
    assert [r.rule for r in out] == ["signed-url"]


def test_plain_url_is_unchanged(sanitizer: Sanitizer) -> None:
    plain = "https://shop.example.com/b/report-2024.pdf?page=2&sort=price#top"
    assert url(sanitizer, plain) == (plain, [])


@pytest.mark.parametrize(
    "path",
    [
        "/password-reset/6f1c2e9a4b7d8c0e1f2a3b4c5d6e7f8091a2b3c4",
        "/reset/qwhdkftaQW",
        "/verify-email/qwhdkfta",
        "/invitations/AbCdEfGhI",
        "/activate/QWERTYUIOP",
        "/share/Ab3dE5gH7jK",
        "/magic-link/" + "a1B2" * 12,
    ],
)
def test_tokens_after_marker_segments(sanitizer: Sanitizer, path: str) -> None:
    new, out = url(sanitizer, "https://app.example.com" + path)
    assert new.endswith("/[REDACTED:path-token]")
    assert [r.rule for r in out] == ["path-token"]


@pytest.mark.parametrize(
    "path",
    [
        "/invite/accept",
        "/reset/password",
        "/download/report-2024.pdf",
        "/share/photos",
        "/keys/list",
        "/verify/12345",
        "/tokens/v2",
    ],
)
def test_words_after_marker_segments_are_kept(sanitizer: Sanitizer, path: str) -> None:
    assert url(sanitizer, "https://app.example.com" + path) == (
        "https://app.example.com" + path,
        [],
    )


def test_url_encoded_url_in_text(sanitizer: Sanitizer) -> None:
    out: list[Redaction] = []
    text = "next=https%3A%2F%2Fapp.example.com%2Freset%2FqwhdkftaQW&lang=en"
    new = sanitizer.urls.in_text(text, "t", out)
    assert "qwhdkftaQW" not in new
    assert new.endswith("&lang=en")
    same = "next=https%3A%2F%2Fapp.example.com%2Fhome&lang=en"
    assert sanitizer.urls.in_text(same, "t", out) == same


@pytest.mark.parametrize(
    "header",
    ["Location", "Referer", "Content-Location", "X-Original-URL"],
)
def test_url_headers(sanitizer: Sanitizer, header: str) -> None:
    clean = sanitizer.sanitize(exchange(resp_headers=((header, SIGNED),)))
    assert clean.response is not None
    assert "9f2c4e1a7b3d5f60" not in dict(clean.response.headers)[header]


def test_link_and_refresh_headers(sanitizer: Sanitizer) -> None:
    clean = sanitizer.sanitize(
        exchange(
            resp_headers=(("Link", f'<{SIGNED}>; rel="next"'), ("Refresh", f"0; url={SIGNED}"))
        )
    )
    assert clean.response is not None
    headers = dict(clean.response.headers)
    assert headers["Link"].startswith("<https://cdn.example.net/") and headers["Link"].endswith(
        '>; rel="next"'
    )
    assert headers["Refresh"].startswith("0; url=https://cdn.example.net/")
    assert "9f2c4e1a7b3d5f60" not in headers["Link"] + headers["Refresh"]


def test_href_in_html_keeps_its_escaping(sanitizer: Sanitizer) -> None:
    body = f'<p><a href="{SIGNED.replace("&", "&amp;")}">Download</a></p>'.encode()
    clean = sanitizer.sanitize(exchange(body=body, ctype="text/html"))
    assert clean.response is not None
    text = clean.response.body.decode()
    assert "9f2c4e1a7b3d5f60" not in text
    assert "&amp;X-Amz-Expires=900" in text and "&X-" not in text


def test_url_in_json_string(sanitizer: Sanitizer) -> None:
    body = json.dumps({"next": SIGNED, "n": 1}, indent=2).encode()
    clean = sanitizer.sanitize(exchange(body=body))
    assert clean.response is not None
    assert b"9f2c4e1a7b3d5f60" not in clean.response.body
    assert clean.response.body.startswith(b'{\n  "next": "https://cdn.example.net/')
    plain = json.dumps({"next": "https://shop.example.com/items?page=3"}).encode()
    kept = sanitizer.sanitize(exchange(body=plain)).response
    assert kept is not None and kept.body == plain


def test_request_line_query_and_path(sanitizer: Sanitizer) -> None:
    clean = sanitizer.sanitize(
        exchange(path="/auth/callback", query="code=SplxlOBeZQQYbYS6Wx&state=xyz")
    )
    assert clean.request.query == "code=[REDACTED:signed-url]&state=xyz"
    assert clean.request.path == "/auth/callback"


def _kept_outside(original: str, new: str, secrets: list[str]) -> bool:
    """Is `new` the `original` with only the spans around `secrets` changed: every piece
    of `original` between them found in `new`, in order, byte for byte?"""
    pieces = [original]
    for s in secrets:
        pieces = [p for piece in pieces for p in piece.split(s)]
    pos = 0
    for piece in pieces:
        # the encoded end of a replaced value may touch the next piece: trim 3 characters
        core = piece[3:-3] if len(piece) > 8 else ""
        found = new.find(core, pos)
        if found < 0:
            return False
        pos = found + len(core)
    return True


@pytest.mark.parametrize(
    ("query", "secrets"),
    [
        # a nested URL, percent-encoded once: its escapes stay as they were
        (
            "next=https%3A%2F%2Fapp.example.org%2Freset%3Ftoken%3DZx81kQp0aLm3Nv7Rt2Yb"
            "%26email%3Dann.lee%40corp.io%26lang%3Den-GB&utm_source=mail",
            ["Zx81kQp0aLm3Nv7Rt2Yb", "ann.lee%40corp.io"],
        ),
        # and twice
        (
            "next=https%253A%252F%252Fapp.example.org%252Freset%253Ftoken%253DZx81kQp0aLm3N"
            "v7Rt2Yb%2526page%253D2&x=1",
            ["Zx81kQp0aLm3Nv7Rt2Yb"],
        ),
        # a note with form spaces (`+`) and an email inside
        ("note=call+me+back+at+ann.lee%40corp.io+before+noon&id=7", ["ann.lee%40corp.io"]),
    ],
)
def test_a_changed_query_value_keeps_the_spelling_of_what_it_keeps(
    sanitizer: Sanitizer, query: str, secrets: list[str]
) -> None:
    """Only the redacted spans of an encoded value are re-encoded: `%3A%2F%2F`, `%26`,
    `%253A` and `+` around them are byte for byte what the request carried (before, the
    whole value was re-encoded, `%3A%2F%2F` came back as `://`)."""
    clean = sanitizer.sanitize(exchange(query=query)).request.query
    assert all(s not in clean for s in secrets)
    assert _kept_outside(query, clean, secrets), clean
    if "token" in query:  # a marker stays readable however deep it is encoded
        assert "[REDACTED:sensitive-key]" in clean


def test_a_changed_path_segment_keeps_its_escapes(sanitizer: Sanitizer) -> None:
    path = "/files/Quarterly%20report%20for%20ann.lee%40corp.io%20%28final%29.pdf"
    clean = sanitizer.sanitize(exchange(path=path)).request.path
    assert "ann.lee" not in clean
    assert clean.startswith("/files/Quarterly%20report%20for%20")
    assert clean.endswith("%20%28final%29.pdf")


def test_reencoded_checks_what_it_writes() -> None:
    """A `%` that was no escape kept beside a replacement that starts with hex digits
    would read as an escape: then the value is encoded whole, and decodes to `new`."""
    from urllib.parse import quote
    from urllib.parse import unquote

    from amber.sanitize._encoded import reencoded

    def enc(s: str) -> str:
        return quote(s, safe="")

    raw = "100%ZZsecretvalue99"
    new = "100%41bc"  # decoded raw is "100%ZZsecretvalue99"; the kept "100%" meets "41"
    out = reencoded(raw, new, enc)
    assert unquote(out) == new
    assert reencoded("a%20b%2Fc", "a b/c", enc) == "a%20b%2Fc"  # nothing changed
    assert reencoded("x+y+SECRETTOKEN", "x y [M]", lambda s: s, plus=True) == "x+y+[M]"
