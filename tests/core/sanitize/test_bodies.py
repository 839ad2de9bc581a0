from __future__ import annotations

import orjson

from amber._model import Redaction
from amber.sanitize import Sanitizer


def run(s: Sanitizer, body: bytes, ct: str | None) -> tuple[bytes, list[Redaction]]:
    out: list[Redaction] = []
    return s.bodies.sanitize(body, ct, "request.body", out), out


def test_json_key_order_and_types(sanitizer: Sanitizer) -> None:
    body = (
        b'{"z": 1, "password": 12345, "a": {"enabled": true, "secret": false}, "n": null,'
        b' "tokens_used": 7, "customer_id": 9876543, "card": 4111111111111111}'
    )
    new, out = run(sanitizer, body, "application/json")
    data = orjson.loads(new)
    assert list(data) == ["z", "password", "a", "n", "tokens_used", "customer_id", "card"]
    assert data["password"] == "[REDACTED:sensitive-key]"
    assert data["a"] == {"enabled": True, "secret": "[REDACTED:sensitive-key]"}
    assert data["n"] is None and data["tokens_used"] == 7
    assert isinstance(data["customer_id"], int) and len(str(data["customer_id"])) == 7
    assert data["card"] == "[REDACTED:credit-card]"
    # only the replaced values changed: the spacing between members is the original's
    fake = str(data["customer_id"]).encode()
    assert new == body.replace(b"12345", b'"[REDACTED:sensitive-key]"').replace(
        b"false", b'"[REDACTED:sensitive-key]"'
    ).replace(b"9876543", fake).replace(b"4111111111111111", b'"[REDACTED:credit-card]"')


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
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
        + bytes(range(256))
        + b"\x00tEXtComment\x00ghp_"
        + b"Z9y8X7w6V5" * 3
        + b"u4T3s2\x00\xff\xfe"
    )
    csv = b"name,email\nbob,bob@corp.com\n"
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="pic"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png + b"\r\n"
        b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="u.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + csv + b"\r\n"
        b"--XyZ--\r\n"
    )
    new, out = run(sanitizer, body, 'multipart/form-data; boundary="XyZ"')
    assert b"hunter2" not in new and b"ghp_Z9y8" not in new and b"bob@corp.com" not in new
    assert new.count(b"--XyZ\r\n") == 4 and new.endswith(b"--XyZ--\r\n")
    assert b'name="title"\r\n\r\nhello\r\n' in new
    assert png.split(b"tEXt")[0] in new  # binary bytes around the token untouched
    locs = {r.location for r in out}
    assert "request.body.multipart.password" in locs
    assert "request.body.multipart.pic:binary" in locs
    assert "request.body.multipart.f:text.email" in locs  # the CSV column


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


def test_large_body_is_linear(sanitizer: Sanitizer) -> None:
    row = {"id": 1, "email": "bob@corp.com", "status": "active", "bio": "x " * 50}
    body = orjson.dumps([row] * 20_000)  # ~3 MB; a quadratic path would time out
    new, out = run(sanitizer, body, "application/json")
    assert b"bob@corp.com" not in new and len(out) == 20_000
    text = b"lorem ipsum dolor sit amet 12:30 a=b " * 100_000
    new, _ = run(sanitizer, text, "text/plain")
    assert new == text


# -- faithful edits: only the replaced spans change -------------------------------------


def test_name_is_a_person_only_in_a_person_object(sanitizer: Sanitizer) -> None:
    body = (
        b'{"name": "mug", "region": {"name": "eu-west-1"}, "file": {"name": "a.txt"},'
        b' "user": {"name": "Ann Lee", "company": {"name": "Acme"}},'
        b' "members": [{"name": "Bo Ek"}], "owner_name": "Cy Dee",'
        b' "people": {"name": "Di Fox", "email": "di@corp.com"},'
        b' "items": [{"name": "Eve Gil", "phone": "+44 20 7946 0018"}, {"name": "cup"}]}'
    )
    new, out = run(sanitizer, body, "application/json")
    for kept in (b'"mug"', b'"eu-west-1"', b'"a.txt"', b'"Acme"', b'"cup"'):
        assert kept in new
    for person in (b"Ann Lee", b"Bo Ek", b"Di Fox", b"Eve Gil"):
        assert person not in new
    names = {r.location for r in out if r.rule == "name"}
    assert names == {
        "request.body$.user.name",
        "request.body$.members[0].name",
        "request.body$.people.name",
        "request.body$.items[0].name",
    }


def test_name_in_forms_and_multipart_by_siblings(sanitizer: Sanitizer) -> None:
    new, _ = run(sanitizer, b"name=mug&qty=1", "application/x-www-form-urlencoded")
    assert new == b"name=mug&qty=1"
    new, _ = run(
        sanitizer, b"name=Ann+Lee&email=ann%40corp.com", "application/x-www-form-urlencoded"
    )
    assert b"Ann" not in new
    part = b'--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
    product = part % (b"name", b"mug") + part % (b"qty", b"1") + b"--B--\r\n"
    assert run(sanitizer, product, "multipart/form-data; boundary=B")[0] == product
    person = part % (b"name", b"Ann Lee") + part % (b"username", b"ann") + b"--B--\r\n"
    assert b"Ann Lee" not in run(sanitizer, person, "multipart/form-data; boundary=B")[0]


def test_versions_are_not_addresses(sanitizer: Sanitizer) -> None:
    body = (
        b'{"version": "2.4.1.0", "appVersion": "10.0.19.41", "build": ["1.2.3.4"],'
        b' "server": "10.1.2.3", "ip": "10.1.2.4"}'
    )
    new, out = run(sanitizer, body, "application/json")
    assert new.startswith(
        b'{"version": "2.4.1.0", "appVersion": "10.0.19.41", "build": ["1.2.3.4"]'
    )
    assert b"10.1.2.3" not in new and b"10.1.2.4" not in new
    new, _ = run(sanitizer, b"version=2.4.1.0&peer=10.1.2.3", "application/x-www-form-urlencoded")
    assert new.startswith(b"version=2.4.1.0&peer=") and b"10.1.2.3" not in new
    pairs = (
        b'{"env": [{"name": "APP_VERSION", "value": "2.4.1.0"}, {"name": "PEER",'
        b' "value": "10.1.2.3"}], "Tags": [{"Key": "build", "Value": "1.2.3.4"}]}'
    )
    new, _ = run(sanitizer, pairs, "application/json")
    assert b'"2.4.1.0"' in new and b'"1.2.3.4"' in new and b"10.1.2.3" not in new
    part = b'--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
    body = part % (b"build", b"10.0.19.41") + part % (b"peer", b"10.1.2.3") + b"--B--\r\n"
    new, _ = run(sanitizer, body, "multipart/form-data; boundary=B")
    assert b"10.0.19.41" in new and b"10.1.2.3" not in new


def test_code_keeps_expressions_and_masks_literals(sanitizer: Sanitizer) -> None:
    js = (
        b'const token = sessionStorage.getItem("t");\n'
        b"if (token == null) { token = getToken(); }\n"
        b"let secret = this.props.secret;\n"
        b'const password = "hunter2hunter2";\nfetch("/cb?token=abc123def456ghi");\n'
    )
    new, out = run(sanitizer, js, "application/javascript")
    assert b"hunter2" not in new and b"abc123def456ghi" not in new
    assert new.startswith(js.split(b"const password")[0])
    assert len(out) == 2
    # the same text by shape alone, and a query-like string that is not code
    new, _ = run(sanitizer, js, "text/plain")
    assert b"sessionStorage.getItem" in new and b"hunter2" not in new
    new, _ = run(sanitizer, b"token=sessionStorage.getItem", "text/plain")
    assert new == b"token=[REDACTED:secret-key-value]"


def test_an_email_as_multipart_field_name_is_not_in_the_locations(sanitizer: Sanitizer) -> None:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="bob.smith@corp.com"\r\n\r\nyes\r\n'
        b'--B\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n--B--\r\n'
    )
    new, out = run(sanitizer, body, "multipart/form-data; boundary=B")
    assert b"bob.smith" not in new and b'name="title"\r\n\r\nhello' in new
    assert out and not any("bob.smith" in r.location for r in out)


def test_an_encoded_url_in_a_form_value_gets_the_url_rules(sanitizer: Sanitizer) -> None:
    inner = "postgres%3A%2F%2Fsvc%3Ap4ssw0rdXYZ%40db%2Fapp"
    body = f"upstream={inner.replace('%', '%25')}&next=%2Fhome".encode()
    new, out = run(sanitizer, body, "application/x-www-form-urlencoded")
    assert b"p4ssw0rdXYZ" not in new and new.endswith(b"&next=%2Fhome")
    assert [r.rule for r in out] == ["url-userinfo"]
    same = b"upstream=https%253A%252F%252Fexample.com%252Fdocs&next=%2Fhome"
    assert run(sanitizer, same, "application/x-www-form-urlencoded") == (same, [])


def test_json_in_a_form_value_is_walked_in_place(sanitizer: Sanitizer) -> None:
    inner = '{"password": "hunter2", "n": 1.0}'
    body = f"payload={inner}&next=%2F".encode()
    new, out = run(sanitizer, body, "application/x-www-form-urlencoded")
    assert b"hunter2" not in new and new.endswith(b"&next=%2F")
    assert [r.location for r in out] == ["request.body.form.payload$.password"]


def test_a_percent_encoded_url_with_a_plus_in_its_scheme(sanitizer: Sanitizer) -> None:
    body = b"db=mongodb%2Bsrv%3A%2F%2Fsvc%3AB5GgSFM0wASy%40cluster0.mongo.net%2Fprod"
    new, out = run(sanitizer, body, "text/plain")
    assert b"B5GgSFM0wASy" not in new and [r.rule for r in out] == ["url-userinfo"]


def test_html_code_is_its_scripts_styles_and_handlers_only(sanitizer: Sanitizer) -> None:
    """A debug page's `<pre>DB_PASSWORD=...</pre>` is a pair; the page's scripts, styles
    and event handlers are code, whose expressions are kept."""
    page = (
        b"<html><head><style>.token { color: red; }</style></head><body>"
        b"<pre>DB_PASSWORD=Hq8zLk2mXp\nPGPASSWORD=Wq3zLm8Kp4 psql</pre>"
        b'<script>var token = sessionStorage.getItem("t");\n'
        b"if (token == null) { token = refresh(); }\n"
        b'const apiKey = "Zx81kLmQ0pRt7YvB2nWc";</script>'
        b'<button onclick="token = getToken()">go</button>'
        b"<script>let secret = this.props.secret"  # a page cut inside a script
    )
    new, out = run(sanitizer, page, "text/html; charset=utf-8")
    assert new == (
        page.replace(b"Hq8zLk2mXp", b"[REDACTED:secret-key-value]")
        .replace(b"Wq3zLm8Kp4", b"[REDACTED:secret-key-value]")
        .replace(b"Zx81kLmQ0pRt7YvB2nWc", b"[REDACTED:secret-key-value]")
    )
    assert len(out) == 3
