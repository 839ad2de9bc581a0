from __future__ import annotations

import orjson

from amber._model import Redaction
from amber.sanitize import Sanitizer
from amber.sanitize._bodies import render_path


def run(s: Sanitizer, body: bytes, ct: str | None) -> tuple[bytes, list[Redaction]]:
    out: list[Redaction] = []
    return s.bodies.sanitize(body, ct, "request.body", out), out


def test_render_path() -> None:
    assert render_path((((None, "items"), 3), "email")) == "$.items[3].email"
    assert render_path((None, "a b")) == '$["a b"]'


def test_json_key_order_and_types(sanitizer: Sanitizer) -> None:
    body = b'{"z": 1, "password": 12345, "a": {"enabled": true, "secret": false}, "n": null,' \
           b' "tokens_used": 7, "customer_id": 9876543, "card": 4111111111111111}'
    new, out = run(sanitizer, body, "application/json")
    data = orjson.loads(new)
    assert list(data) == ["z", "password", "a", "n", "tokens_used", "customer_id", "card"]
    assert data["password"] == "[REDACTED:sensitive-key]"
    assert data["a"] == {"enabled": True, "secret": "[REDACTED:sensitive-key]"}
    assert data["n"] is None and data["tokens_used"] == 7
    assert isinstance(data["customer_id"], int) and len(str(data["customer_id"])) == 7
    assert data["card"] == "[REDACTED:credit-card]"
    assert b" " not in new  # compact


def test_unchanged_json_keeps_bytes(sanitizer: Sanitizer) -> None:
    body = b'{ "status" : "ok",\n  "count": 1.50 }'
    assert run(sanitizer, body, "application/json") == (body, [])


def test_json_with_lying_content_type(sanitizer: Sanitizer) -> None:
    new, _ = run(sanitizer, b'{"password":"hunter2"}', "text/plain")
    assert b"hunter2" not in new


def test_big_ints_and_nan_survive(sanitizer: Sanitizer) -> None:
    body = b'{"id": 123456789012345678901234567890, "x": NaN, "password": "pw"}'
    new, _ = run(sanitizer, body, "application/json")
    assert b"123456789012345678901234567890" in new and b"NaN" in new and b'"pw"' not in new


def test_escaped_values_are_scanned(sanitizer: Sanitizer) -> None:
    body = b'{"note": "mail bob\\u0040corp.com", "u": "https:\\/\\/a:pw123456@h.test"}'
    new, _ = run(sanitizer, body, "application/json")
    assert b"bob" not in new and b"pw123456" not in new


def test_truncated_json_still_masks_password(sanitizer: Sanitizer) -> None:
    body = b'{"user": {"name": "x", "password": "hunter2", "api_key": "abc123def456", "bio": "lo'
    new, out = run(sanitizer, body, "application/json; charset=utf-8")
    assert b"hunter2" not in new and b"abc123def456" not in new
    assert new.startswith(b'{"user": {"name": "x", "password": "[REDACTED:')
    assert {r.location for r in out} == {"request.body:text"}


def test_form(sanitizer: Sanitizer) -> None:
    body = b"user=bob&password=hunter2&email=bob%40corp.com&note=hello+world"
    new, out = run(sanitizer, body, "application/x-www-form-urlencoded")
    assert new.startswith(b"user=bob&password=%5BREDACTED") or b"password=[REDACTED" in new
    assert b"hunter2" not in new and b"bob%40corp.com" not in new and b"bob@corp" not in new
    assert new.endswith(b"&note=hello+world")
    assert {r.location for r in out} == {"request.body.form.password", "request.body.form.email"}


def test_multipart_framing_and_binary_part(sanitizer: Sanitizer) -> None:
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
           + b"\x00tEXtComment\x00ghp_" + b"Z9y8X7w6V5" * 3 + b"u4T3s2\x00\xff\xfe")
    csv = b"name,email\nbob,bob@corp.com\n"
    body = (
        b"--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter2\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"pic\"; filename=\"a.png\"\r\n"
        b"Content-Type: image/png\r\n\r\n" + png + b"\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"u.csv\"\r\n"
        b"Content-Type: text/csv\r\n\r\n" + csv + b"\r\n"
        b"--XyZ--\r\n"
    )
    new, out = run(sanitizer, body, 'multipart/form-data; boundary="XyZ"')
    assert b"hunter2" not in new and b"ghp_Z9y8" not in new and b"bob@corp.com" not in new
    assert new.count(b"--XyZ\r\n") == 4 and new.endswith(b"--XyZ--\r\n")
    assert b"name=\"title\"\r\n\r\nhello\r\n" in new
    assert png.split(b"tEXt")[0] in new  # binary bytes around the token untouched
    locs = {r.location for r in out}
    assert "request.body.multipart.password" in locs
    assert "request.body.multipart.pic:binary" in locs
    assert "request.body.multipart.f:text" in locs


def test_binary_body(sanitizer: Sanitizer) -> None:
    secret = b"AKIAIOSFODNN7EXAMPLE"
    # a protobuf string field: tag, length, bytes
    body = b"\x00\x01\x02proto\x0a\x14" + secret + b"\x00\xff" * 100
    new, out = run(sanitizer, body, "application/x-protobuf")
    assert secret not in new
    assert new.startswith(b"\x00\x01\x02proto\x0a\x14[REDACTED:aws-access-key-id]\x00\xff")
    assert out == [Redaction("aws-access-key-id", "request.body:binary", "mask")]


def test_invalid_utf8_text_survives(sanitizer: Sanitizer) -> None:
    body = b"caf\xe9 \xff\xfe mail bob@corp.com end \xc3\x28"
    new, _ = run(sanitizer, body, "text/plain")
    assert b"bob@corp.com" not in new
    assert new.startswith(b"caf\xe9 \xff\xfe mail ") and new.endswith(b" end \xc3\x28")


def test_latin1_charset(sanitizer: Sanitizer) -> None:
    body = "Grüße, password=geheim123".encode("latin-1")
    new, _ = run(sanitizer, body, "text/plain; charset=iso-8859-1")
    assert new.decode("latin-1").startswith("Grüße, password=[REDACTED:")


def test_ndjson(sanitizer: Sanitizer) -> None:
    body = b'{"password":"a1"}\n{"email":"x@corp.com"}\nnot json password=zz9\n'
    new, _ = run(sanitizer, body, "application/x-ndjson")
    assert b"a1" not in new and b"x@corp.com" not in new and b"zz9" not in new
    assert new.count(b"\n") == 3


def test_large_body_is_linear(sanitizer: Sanitizer) -> None:
    row = {"id": 1, "email": "bob@corp.com", "status": "active", "bio": "x " * 50}
    body = orjson.dumps([row] * 20_000)  # ~3 MB; a quadratic path would time out
    new, out = run(sanitizer, body, "application/json")
    assert b"bob@corp.com" not in new and len(out) == 20_000
    text = b"lorem ipsum dolor sit amet 12:30 a=b " * 100_000
    new, _ = run(sanitizer, text, "text/plain")
    assert new == text
