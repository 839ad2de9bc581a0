from __future__ import annotations

import json

import orjson
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from amber._model import Redaction
from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize._bodies import render_path
from tests.core.sanitize.conftest import KEY


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
    # only the replaced values changed: the spacing between members is the original's
    fake = str(data["customer_id"]).encode()
    assert new == body.replace(b"12345", b'"[REDACTED:sensitive-key]"').replace(
        b"false", b'"[REDACTED:sensitive-key]"').replace(b"9876543", fake).replace(
        b"4111111111111111", b'"[REDACTED:credit-card]"')


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


# -- faithful edits: only the replaced spans change -------------------------------------

ODD_JSON = (
    b'{\n  "id" :\t123456789012345678901234567890,\n  "ratio": 1.0, "big": 1e3, "neg": -0.0,'
    b' "esc": "caf\\u00e9 \\/ \\"q\\" \\n", "dup": 1, "dup": 2,\n  "k\\u0065y": [ ],'
    b' "deep": ' + b"[" * 300 + b'"x"' + b"]" * 300 + b',  "uni": "\xc3\xa9\xf0\x9f\x98\x80",'
    b' "empty": {}, "t": true, "f": false, "n": null }\n'
)


def test_odd_json_without_secrets_is_byte_identical(sanitizer: Sanitizer) -> None:
    assert run(sanitizer, ODD_JSON, "application/json") == (ODD_JSON, [])
    nd = ODD_JSON.replace(b"\n", b" ") + b"\n" + b'[1.50, "a"]\n'
    assert run(sanitizer, nd, "application/x-ndjson") == (nd, [])


def test_secrets_change_only_their_own_spans(sanitizer: Sanitizer) -> None:
    # every odd construct next to secrets, in both serializers' styles and hand-written ones
    secrets = (b'"hunter2"', b'"bob@corp.com"', b"4111111111111111")
    for sep in (b", ", b",", b" ,\n\t"):
        template = sep.join([
            b'{"esc": "caf\\u00e9"', b'"password": @0', b'"num": 1.0e3', b'"big": 1' + b"0" * 25,
            b'"user": {"email" : @1, "card":@2}', b'"after": [1, 2.50, "ok"]}',
        ])
        body = template
        for i, secret in enumerate(secrets):
            body = body.replace(b"@%d" % i, secret)
        new, out = run(sanitizer, body, "application/json")
        assert len(out) == 3
        # put the replacements back as placeholders: what remains must be the template
        data = orjson.loads(new) if b"1" + b"0" * 25 not in new else None
        del data
        pieces = new
        for i, r in enumerate((b'"[REDACTED:sensitive-key]"', None, b'"[REDACTED:credit-card]"')):
            if r is not None:
                pieces = pieces.replace(r, b"@%d" % i, 1)
        fake = pieces.split(b'"email" : ')[1].split(b",")[0]
        assert fake.endswith(b'.example.com"') or b"example" in fake
        assert pieces.replace(fake, b"@1", 1) == template


def test_duplicate_keys_keep_both_and_each_is_sanitized(sanitizer: Sanitizer) -> None:
    body = b'{"note": "mail bob@corp.com", "a": 1, "note": "fine", "password": "x1",' \
           b' "password": "y2"}'
    new, out = run(sanitizer, body, "application/json")
    assert b"bob@corp.com" not in new and b"x1" not in new and b"y2" not in new
    assert new.count(b'"note"') == 2 and new.count(b'"password"') == 2
    assert new.endswith(b', "a": 1, "note": "fine", "password": "[REDACTED:sensitive-key]",'
                        b' "password": "[REDACTED:sensitive-key]"}')
    # a repeated key under a masked parent is masked too
    nested = b'{"credentials": {"user": "bob", "user": "ann"}}'
    new, _ = run(sanitizer, nested, "application/json")
    assert new == b'{"credentials": {"user": "[REDACTED:sensitive-key]",' \
                  b' "user": "[REDACTED:sensitive-key]"}}'


def test_escaped_keys_and_values_stay_escaped(sanitizer: Sanitizer) -> None:
    body = b'{"pass\\u0077ord":  "hunter2", "city": "M\\u00fcnchen", "m": "bob\\u0040corp.com"}'
    new, _ = run(sanitizer, body, "application/json")
    assert new.startswith(b'{"pass\\u0077ord":  "[REDACTED:sensitive-key]",'
                          b' "city": "M\\u00fcnchen"')
    assert b"bob" not in new and b'"m": "' in new


def test_email_as_key_is_renamed_in_place(sanitizer: Sanitizer) -> None:
    body = b'{ "bob@corp.com" : {"n": 1.0},  "x": 2 }'
    new, out = run(sanitizer, body, "application/json")
    assert b"bob@corp.com" not in new
    assert new.startswith(b'{ "') and new.endswith(b'" : {"n": 1.0},  "x": 2 }')
    assert [r.rule for r in out] == ["email"]


def test_deep_nesting_big_ints_and_surrogates(sanitizer: Sanitizer) -> None:
    # as deep as the walk allows, on both paths: re-serialized (compact) and spliced
    inner = b'{"token": "abc123def456", "n": 123456789012345678901234}'
    for body in (b"[" * 800 + inner + b"]" * 800, b"[ " * 800 + inner + b"]" * 800):
        new, _ = run(sanitizer, body, "application/json")
        assert new == body.replace(b'"abc123def456"', b'"[REDACTED:sensitive-key]"')
    lone = b'{"a": "\\ud800 bob@corp.com", "b": "\\ud83d\\ude00"}'
    new, _ = run(sanitizer, lone, "application/json")
    assert b"bob@corp.com" not in new and new.startswith(b'{"a": "\\ud800 ')
    assert new.endswith(b'"b": "\\ud83d\\ude00"}')
    orjson.loads(new.replace(b"\\ud800", b""))  # still valid JSON


def test_splicer_and_reserializer_agree(sanitizer: Sanitizer) -> None:
    # orjson-compact and json.dumps-default bodies take the re-serializing fast path; the
    # same document with one extra space takes the splicer: the edits must be the same
    doc = {"users": [{"id": i, "email": f"u{i}@corp.com", "bio": "café", "score": 1.5,
                      "token": f"t{i}abcdef0123"} for i in range(5)], "total": 5}
    for body in (orjson.dumps(doc), json.dumps(doc).encode()):
        fast, out_fast = run(sanitizer, body, "application/json")
        slow, out_slow = run(sanitizer, b" " + body, "application/json")
        assert slow == b" " + fast and out_fast == out_slow


def test_ndjson_and_top_level_strings_are_faithful(sanitizer: Sanitizer) -> None:
    body = b'{"a" : 1.0, "password": "p1"}\n"bob@corp.com"\n[ 1e3 ]\n'
    new, _ = run(sanitizer, body, "application/x-ndjson")
    lines = new.split(b"\n")
    assert lines[0] == b'{"a" : 1.0, "password": "[REDACTED:sensitive-key]"}'
    assert lines[1].startswith(b'"') and b"bob" not in lines[1] and lines[2:] == [b"[ 1e3 ]", b""]


# -- identity by context ----------------------------------------------------------------


def test_name_is_a_person_only_in_a_person_object(sanitizer: Sanitizer) -> None:
    body = (b'{"name": "mug", "region": {"name": "eu-west-1"}, "file": {"name": "a.txt"},'
            b' "user": {"name": "Ann Lee", "company": {"name": "Acme"}},'
            b' "members": [{"name": "Bo Ek"}], "owner_name": "Cy Dee",'
            b' "people": {"name": "Di Fox", "email": "di@corp.com"},'
            b' "items": [{"name": "Eve Gil", "phone": "+44 20 7946 0018"}, {"name": "cup"}]}')
    new, out = run(sanitizer, body, "application/json")
    for kept in (b'"mug"', b'"eu-west-1"', b'"a.txt"', b'"Acme"', b'"cup"'):
        assert kept in new
    for person in (b"Ann Lee", b"Bo Ek", b"Di Fox", b"Eve Gil"):
        assert person not in new
    names = {r.location for r in out if r.rule == "name"}
    assert names == {"request.body$.user.name", "request.body$.members[0].name",
                     "request.body$.people.name", "request.body$.items[0].name"}


def test_name_in_forms_and_multipart_by_siblings(sanitizer: Sanitizer) -> None:
    new, _ = run(sanitizer, b"name=mug&qty=1", "application/x-www-form-urlencoded")
    assert new == b"name=mug&qty=1"
    new, _ = run(sanitizer, b"name=Ann+Lee&email=ann%40corp.com",
                 "application/x-www-form-urlencoded")
    assert b"Ann" not in new
    part = b'--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
    product = part % (b"name", b"mug") + part % (b"qty", b"1") + b"--B--\r\n"
    assert run(sanitizer, product, "multipart/form-data; boundary=B")[0] == product
    person = part % (b"name", b"Ann Lee") + part % (b"username", b"ann") + b"--B--\r\n"
    assert b"Ann Lee" not in run(sanitizer, person, "multipart/form-data; boundary=B")[0]


def test_versions_are_not_addresses(sanitizer: Sanitizer) -> None:
    body = (b'{"version": "2.4.1.0", "appVersion": "10.0.19.41", "build": ["1.2.3.4"],'
            b' "server": "10.1.2.3", "ip": "10.1.2.4"}')
    new, out = run(sanitizer, body, "application/json")
    assert new.startswith(b'{"version": "2.4.1.0", "appVersion": "10.0.19.41",'
                          b' "build": ["1.2.3.4"]')
    assert b"10.1.2.3" not in new and b"10.1.2.4" not in new
    new, _ = run(sanitizer, b"version=2.4.1.0&peer=10.1.2.3", "application/x-www-form-urlencoded")
    assert new.startswith(b"version=2.4.1.0&peer=") and b"10.1.2.3" not in new
    pairs = (b'{"env": [{"name": "APP_VERSION", "value": "2.4.1.0"}, {"name": "PEER",'
             b' "value": "10.1.2.3"}], "Tags": [{"Key": "build", "Value": "1.2.3.4"}]}')
    new, _ = run(sanitizer, pairs, "application/json")
    assert b'"2.4.1.0"' in new and b'"1.2.3.4"' in new and b"10.1.2.3" not in new
    part = b'--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
    body = part % (b"build", b"10.0.19.41") + part % (b"peer", b"10.1.2.3") + b"--B--\r\n"
    new, _ = run(sanitizer, body, "multipart/form-data; boundary=B")
    assert b"10.0.19.41" in new and b"10.1.2.3" not in new


def test_code_keeps_expressions_and_masks_literals(sanitizer: Sanitizer) -> None:
    js = (b'const token = sessionStorage.getItem("t");\n'
          b"if (token == null) { token = getToken(); }\n"
          b"let secret = this.props.secret;\n"
          b'const password = "hunter2hunter2";\nfetch("/cb?token=abc123def456ghi");\n')
    new, out = run(sanitizer, js, "application/javascript")
    assert b"hunter2" not in new and b"abc123def456ghi" not in new
    assert new.startswith(js.split(b"const password")[0])
    assert len(out) == 2
    # the same text by shape alone, and a query-like string that is not code
    new, _ = run(sanitizer, js, "text/plain")
    assert b"sessionStorage.getItem" in new and b"hunter2" not in new
    new, _ = run(sanitizer, b"token=sessionStorage.getItem", "text/plain")
    assert new == b"token=[REDACTED:secret-key-value]"


_SANITIZER = Sanitizer(SanitizeConfig(), Pseudonymizer(KEY))
_KEYS = st.sampled_from(["id", "note", "name", "Caf\u00e9", "a b", "password", "email", "k"])
_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.sampled_from(["bob@corp.com", "hunter2", "4111111111111111"]),
)  # fmt: skip
_DOCS = st.recursive(
    _LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(doc=_DOCS, indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans(),
       compact=st.booleans())
def test_any_formatting_gives_the_same_edits(
    doc: object, indent: int | None, ascii_only: bool, compact: bool
) -> None:
    sanitizer = _SANITIZER
    body = json.dumps(doc, indent=indent, ensure_ascii=ascii_only,
                      separators=(",", ":") if compact else None).encode()
    new, out = run(sanitizer, body, "application/json")
    assert json.loads(new) is not None or new == b"null"  # still JSON
    if not out:
        assert new == body
    assert b"bob@corp.com" not in new
    # the splicer (a leading space defeats the re-serializing path) gives the same bytes
    spliced, out2 = run(sanitizer, b" " + body, "application/json")
    assert spliced == b" " + new and out2 == out


_TEXT_LEAVES = _LEAVES.map(json.dumps)
_TEXT_DOCS = st.recursive(
    _TEXT_LEAVES,
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: "[ " + ",".join(xs) + "]")
    | st.lists(st.tuples(_KEYS, inner), max_size=5).map(
        lambda kv: "{" + " ,".join(f"{json.dumps(k)} :{v}" for k, v in kv) + "}"),
    max_leaves=12,
)


_IDENTITY = ("email", "name")


def _masked_under_password(node: object, masked: bool = False, key: str = "") -> bool:
    """Every leaf under a `password` key (repeated keys included) is masked or empty (an
    identity key inside keeps its own rule: a pseudonym)."""
    if isinstance(node, list) and all(isinstance(p, tuple) for p in node) and node:
        return all(
            _masked_under_password(v, k == "password" or (masked and k not in _IDENTITY), k)
            for k, v in node
        )
    if isinstance(node, list):
        return all(_masked_under_password(v, masked, key) for v in node)
    return not masked or node in (None, "", "[REDACTED:sensitive-key]")


@settings(max_examples=300, deadline=None)
@given(text=_TEXT_DOCS)
def test_repeated_keys_and_odd_spacing_never_leak(text: str) -> None:
    body = text.encode()
    new, out = run(_SANITIZER, body, "application/json")
    if not out:
        assert new == body
    assert b"bob@corp.com" not in new
    pairs = json.loads(new, object_pairs_hook=list)
    assert _masked_under_password(pairs)
