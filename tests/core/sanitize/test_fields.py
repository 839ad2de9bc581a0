"""Field names beyond the key rules: signed-URL parameters, ambiguous names with a token,
cookie names; in every structured format."""

from __future__ import annotations

import json

import pytest

from amber._model import Redaction
from amber.sanitize import Sanitizer
from amber.sanitize._fields import cookie_holder
from amber.sanitize._fields import cookie_name
from amber.sanitize._fields import field_name
from amber.sanitize._fields import field_verdict
from amber.sanitize._fields import token_like

SIG = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def run(s: Sanitizer, body: str, ct: str) -> tuple[str, list[Redaction]]:
    out: list[Redaction] = []
    return s.bodies.sanitize(body.encode(), ct, "request.body", out).decode(), out


@pytest.mark.parametrize(
    "value",
    [
        "aBcDeFgHiJkLqW",  # letters only, both cases, no word shape
        "Xk9fQ2mLp7Rt",
        "ST-71234-Ab3dE5gH7jK9mN0pQr",
        "d41d8cd98f00b204e9800998ecf8427e",
        "3634616236383631333966653365336631333864383234393230336561333766",  # hex of hex
    ],
)
def test_token_like(value: str) -> None:
    assert token_like(value)


@pytest.mark.parametrize(
    "value",
    [
        "INVALID_ARGUMENT", "invalidArgument", "XMLHttpRequest", "notFound", "sha256", "NoSuchKey",
        "AccessDenied", "SignatureDoesNotMatch",
        "JIRA-1234", "E1234", "404", "1710428966535", "ERR_12345678", "password",
        "550e8400-e29b-41d4-a716-446655440000", "resource not found", "v2-final",
    ],
)  # fmt: skip
def test_not_token_like(value: str) -> None:
    assert not token_like(value)


def test_field_verdicts() -> None:
    assert field_verdict("X-Amz-Signature", SIG) == ("mask", "signed-url")
    assert field_verdict("oauth_signature", 1) == ("mask", "signed-url")
    assert field_verdict("Key-Pair-Id", "APKAEIBAERJR2EXAMPLE") == ("mask", "signed-url")
    assert field_verdict("code", "Xk9fQ2mLp7RtYw3") == ("mask", "signed-url")
    assert field_verdict("code", "INVALID_ARGUMENT") is None
    assert field_verdict("code", 404) is None
    assert field_verdict("hash", "sha256") is None
    assert field_verdict("__Host-sess", "x") == ("mask", "cookie")
    assert field_verdict("TS01a2b3c4", "01ab") == ("mask", "cookie")
    assert field_verdict("description", "aBcDeFgHiJkLqW") is None
    assert field_verdict("", "x") is None
    assert field_name("X-Goog-Signature") and field_name("code") and not field_name("plan")


@pytest.mark.parametrize(
    "name", ["__Secure-next-auth.session-token", "ak_bmsc", "bm_sv", "ASPSESSIONIDQABCDEF",
             "connect.sid", "_HOST_SESS", "TS0123abcd"],
)  # fmt: skip
def test_cookie_names(name: str) -> None:
    assert cookie_name(name)


@pytest.mark.parametrize("name", ["session_count", "host", "ts", "TS", "tsx", "assess"])
def test_not_cookie_names(name: str) -> None:
    assert not cookie_name(name)


@pytest.mark.parametrize(
    "name", ["cookies", "Cookies", "cookie_header", "cookieHeader", "cookieJar", "raw_cookies",
             "request_cookies", "X-Original-Cookies", "COOKIESTRING", "SETCOOKIES", "set-cookies",
             "cookie_values", "http.cookies"],
)  # fmt: skip
def test_cookie_holders(name: str) -> None:
    assert cookie_holder(name) and field_verdict(name, "x") == ("mask", "cookie")


@pytest.mark.parametrize(
    "name", ["cookie_consent", "cookies_accepted", "cookiePolicy", "cookie_name", "cookieBanner",
             "cookies_enabled", "cookie_count", "fortune_cookie", "cookbook", "cookie_domain"],
)  # fmt: skip
def test_not_cookie_holders(name: str) -> None:
    assert not cookie_holder(name) and field_verdict(name, "x") is None


COOKIE_VALUE = "JXLXJ"  # a 5-letter value under a 2-letter name: nothing but the holder tells


@pytest.mark.parametrize(
    "doc",
    [
        {"cookies": f"theme=dark; gw={COOKIE_VALUE}; lang=en"},
        {"request": {"cookieHeader": f"gw={COOKIE_VALUE}"}},
        {"cookies": {"gw": COOKIE_VALUE, "theme": "dark"}},
        {"cookies": [{"name": "gw", "value": COOKIE_VALUE}]},  # HAR's shape
        {"log": {"cookie_jar": [["gw", COOKIE_VALUE]]}},
    ],
)
def test_whatever_a_cookie_holder_holds_is_masked(sanitizer: Sanitizer, doc: object) -> None:
    body = json.dumps(doc)
    new, out = run(sanitizer, body, "application/json")
    # (`cookie_jar` is the key rules' already: a `cookie` marker)
    assert COOKIE_VALUE not in new and out and {r.rule for r in out} <= {"cookie", "sensitive-key"}
    assert json.loads(new).keys() == json.loads(body).keys()


def test_cookie_holders_in_other_carriers(sanitizer: Sanitizer) -> None:
    cookies = f"theme=dark; gw={COOKIE_VALUE}"
    for body, ct in [
        (f"cookies={cookies.replace(' ', '+').replace(';', '%3B').replace('=', '%3D')}&page=2",
         "application/x-www-form-urlencoded"),
        (f"<req><cookies>{cookies}</cookies></req>", "application/xml"),
        (f'APP_ENV=production\nexport RAW_COOKIES="{cookies}"\n', "text/plain"),
        (f"[http]\nport = 8080\nrequest_cookies = {cookies}\n", "text/plain"),
        (f"name,cookies\nweb,{cookies}\n", "text/csv"),
    ]:  # fmt: skip
        new, _ = run(sanitizer, body, ct)
        assert COOKIE_VALUE not in new, (body, new)
    out: list[Redaction] = []
    new = dict(sanitizer.headers.sanitize((("X-Original-Cookies", cookies),), "request", out))
    assert new["X-Original-Cookies"] == "[REDACTED:cookie]"


def test_names_about_cookies_keep_their_values(sanitizer: Sanitizer) -> None:
    body = json.dumps(
        {"cookies_accepted": "yes", "cookies_enabled": True, "cookiePolicy": "strict"}
    )
    assert run(sanitizer, body, "application/json") == (body, [])


def test_signed_params_as_json_keys_are_masked_in_place(sanitizer: Sanitizer) -> None:
    body = (
        '{"url": "https://cdn.test/a.pdf", "X-Amz-Signature" : "' + SIG + '",\n'
        ' "code": "Xk9fQ2mLp7RtYw3", "errors": [{"code": "INVALID_ARGUMENT"}], "n": 1.0}'
    )
    new, out = run(sanitizer, body, "application/json")
    assert new == body.replace(SIG, "[REDACTED:signed-url]").replace(
        "Xk9fQ2mLp7RtYw3", "[REDACTED:signed-url]"
    )
    assert sorted(r.location for r in out) == [
        "request.body$.X-Amz-Signature",
        "request.body$.code",
    ]


def test_name_value_pairs_by_signed_name(sanitizer: Sanitizer) -> None:
    doc = {"Tags": [{"Key": "oauth_signature", "Value": "abc"}, {"Key": "code", "Value": "E1"}]}
    new, _ = run(sanitizer, json.dumps(doc), "application/x-amz-json-1.1")
    assert json.loads(new)["Tags"] == [
        {"Key": "oauth_signature", "Value": "[REDACTED:signed-url]"},
        {"Key": "code", "Value": "E1"},
    ]


@pytest.mark.parametrize(
    ("body", "ct"),
    [
        (f"next=%2F&X-Goog-Signature={SIG}&remember=1", "application/x-www-form-urlencoded"),
        (f"<Creds><X-Amz-Signature>{SIG}</X-Amz-Signature></Creds>", "text/xml"),
        (f'<input type="hidden" name="__Host-sess" value="{SIG}">', "text/html"),
        (f"id,ak_bmsc,status\n1,{SIG},active\n", "text/csv"),
        (f'payload={{"X-Amz-Signature": "{SIG}"}}', "application/x-www-form-urlencoded"),
    ],
)
def test_every_structure_knows_the_names(sanitizer: Sanitizer, body: str, ct: str) -> None:
    new, out = run(sanitizer, body, ct)
    assert SIG not in new and out


def test_ordinary_fields_survive_byte_for_byte(sanitizer: Sanitizer) -> None:
    bodies = [
        ('{"code": "INVALID_ARGUMENT", "hash": "sha256", "k": 3, "st": "CA"}', "application/json"),
        ('{"error": {"code": "notFound", "ticket": "JIRA-1234"}}', "application/json"),
        ("code=E1234&hash=md5&ticket=HELP-77", "application/x-www-form-urlencoded"),
        ("<Error><Code>NoSuchKey</Code><Key>a.pdf</Key></Error>", "application/xml"),
        ("id,code,hash\n1,ERR_TIMEOUT,sha256\n", "text/csv"),
    ]
    for body, ct in bodies:
        new, out = run(sanitizer, body, ct)
        assert (new, out) == (body, []), body


def test_headers_named_like_fields(sanitizer: Sanitizer) -> None:
    out: list[Redaction] = []
    headers = (
        ("X-Code", "Xk9fQ2mLp7RtYw3"),
        ("X-Ak-Bmsc", "abc"),
        ("X-Hash", "sha256"),
        ("X-Sess-Id", "q"),
        ("X-Payload", '{"X-Amz-Signature": "' + SIG + '", "page": 2}'),
    )
    new = dict(sanitizer.headers.sanitize(headers, "request", out))
    assert new["X-Code"] == "[REDACTED:signed-url]"
    assert new["X-Ak-Bmsc"] == "[REDACTED:cookie]"
    assert new["X-Hash"] == "sha256"
    assert new["X-Sess-Id"] == "[REDACTED:sensitive-header]"
    assert new["X-Payload"] == '{"X-Amz-Signature": "[REDACTED:signed-url]", "page": 2}'


@pytest.mark.parametrize("value", ["046 454 286", "046-454-286", "046454286", 130692544])
def test_a_social_insurance_number_under_sin_is_masked(value: object) -> None:
    assert field_verdict("sin", value) == ("mask", "sensitive-key")
    assert field_verdict("SIN", value) == ("mask", "sensitive-key")


@pytest.mark.parametrize(
    "value",
    [
        0.5,  # the sine
        -1,
        "046 454 287",  # fails the Luhn check
        "046 454-286",  # mixed separators
        "0464542860",  # ten digits
        46454286,  # eight digits as an integer
        "sine wave",
    ],
)
def test_other_values_under_sin_are_kept(value: object) -> None:
    assert field_verdict("sin", value) is None


def test_sin_in_a_body(sanitizer: Sanitizer) -> None:
    body = '{"employee": {"sin": "046 454 286"}, "trig": {"sin": 0.5, "cos": 0.87}}'
    out, reds = run(sanitizer, body, "application/json")
    assert out == (
        '{"employee": {"sin": "[REDACTED:sensitive-key]"}, "trig": {"sin": 0.5, "cos": 0.87}}'
    )
    assert [r.location for r in reds] == ["request.body$.employee.sin"]


def test_an_encoded_social_insurance_number_under_sin_is_masked() -> None:
    assert field_verdict("sin", "MDQ2NDU0Mjg2") == ("mask", "sensitive-key")  # base64
    assert field_verdict("sin", "303436343534323836") == ("mask", "sensitive-key")  # hex
    assert field_verdict("sin", "MDQ2NDU0Mjg3") is None  # 046454287: fails Luhn
