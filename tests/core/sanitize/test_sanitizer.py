from __future__ import annotations

import base64
import json
import random
from urllib.parse import quote
from urllib.parse import quote_plus

import orjson
import pytest

from amber._model import Exchange
from amber._model import Redaction
from amber._model import Request
from amber._model import Response
from amber._pseudonym import Pseudonymizer
from amber.errors import SanitizeError
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize import scan_bytes
from amber.sanitize._sanitizer import _unique

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
SECRETS = {
    "bearer": "tok3nBearerValue9876543210",
    "basic": base64.b64encode(b"admin:Sup3rS3cret!").decode(),
    "cookie_session": "sessVal0123456789abcdef",
    "cookie_opaque": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5",
    "set_cookie": "newSess0123456789XYZ",
    "api_key_header": "hdrKey-5f4dcc3b5aa765d61d8327deb882cf99",
    "stripe_sig": "t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e1",
    "xff": "81.2.69.160",
    "client": "81.2.69.142",
    "query_token": "qTok-8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d",
    "query_email": "query.person@corp-mail.com",
    "path_email": "path.person@corp-mail.com",
    "path_token": "ResetTok9f8e7d6c5b4a3210",
    "json_password": "jsonPassw0rd!!",
    "json_email": "json.person@corp-mail.com",
    "json_nested_token": "nestedTok-aa11bb22cc33dd44",
    "json_jwt": JWT,
    "json_card": "4012888888881881",
    "json_phone": "+44 20 7946 0958",
    "json_ssn": "078-05-1120",
    "json_iban": "DE89 3704 0044 0532 0130 00",
    "json_aws": "ASIAY34FZKBOKMUTVV7A",
    "json_dsn_pw": "dbPassw0rdXyz",
    "json_user": "jdoe_the_real",
    "json_name": "Johanna Realperson",
    "resp_email": "resp.person@corp-mail.com",
    "resp_token": "respTok-0f1e2d3c4b5a69788796a5b4",
    "resp_ip": "2a00:1450:4001:81b::200e",
    "error_email": "err.person@corp-mail.com",
    "text_pw": "textPassw0rd",
    "form_pw": "formPassw0rd",
    "gh": "ghp_" + "Q1w2E3r4T5" * 3 + "y6U7i8",
}


def planted_exchange() -> Exchange:
    s = SECRETS
    req_body = orjson.dumps(
        {
            "user": {
                "email": s["json_email"],
                "password": s["json_password"],
                "username": s["json_user"],
                "name": s["json_name"],
                "phone": s["json_phone"],
                "profile": {"settings": [{"auth": {"token": s["json_nested_token"]}}]},
                "note": f"card {s['json_card']} ssn {s['json_ssn']} iban {s['json_iban']}",
                "keys": [s["json_aws"], s["gh"]],
                "dsn": f"postgres://app:{s['json_dsn_pw']}@db.internal:5432/app",
                "id_token": s["json_jwt"],
            },
            "author": "keep-author",
            "tokens_used": 123,
            "Accept": "keep-accept",
        }
    )
    req = Request(
        method="POST",
        scheme="https",
        host="api.shop.test",
        port=443,
        path=f"/v1/users/{quote(s['path_email'])}/password-reset/{s['path_token']}",
        query=f"access_token={s['query_token']}&email={quote_plus(s['query_email'])}&page=2",
        headers=(
            ("Host", "api.shop.test"),
            ("Authorization", f"Bearer {s['bearer']}"),
            ("Proxy-Authorization", f"Basic {s['basic']}"),
            ("Cookie", f"sessionid={s['cookie_session']}; theme=dark; pref={s['cookie_opaque']}"),
            ("X-Api-Key", s["api_key_header"]),
            ("Stripe-Signature", s["stripe_sig"]),
            ("X-Forwarded-For", f"{s['xff']}, 10.1.2.3"),
            ("Content-Type", "application/json"),
            ("User-Agent", "Mozilla/5.0"),
        ),
        body=req_body,
    )
    resp = Response(
        status=200,
        headers=(
            ("Content-Type", "application/vnd.api+json"),
            ("Set-Cookie", f"sid={s['set_cookie']}; Path=/; HttpOnly; Secure"),
            ("X-Debug", f"password={s['text_pw']}"),
        ),
        body=orjson.dumps(
            {
                "data": [
                    {"email": s["resp_email"], "ip": s["resp_ip"]},
                    {"refresh_token": s["resp_token"]},
                ]
            }
        ),
    )
    return Exchange(
        id="01TEST",
        request=req,
        response=resp,
        client_addr=f"{s['client']}:50123",
        error=f"upstream rejected {s['error_email']}",
    )


def forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [
        raw,
        base64.b64encode(raw),
        quote(secret, safe="").encode(),
        quote_plus(secret).encode(),
        json.dumps(secret)[1:-1].encode(),
    ]


def test_no_planted_secret_survives(sanitizer: Sanitizer) -> None:
    ex = planted_exchange()
    clean = sanitizer.sanitize(ex)
    blob = orjson.dumps(clean.to_dict())
    for name, secret in SECRETS.items():
        for form in forms(secret):
            assert form not in blob, f"{name} survived as {form!r}"
    # the original is untouched (a new exchange is returned)
    assert ex.request.headers[1][1].endswith(SECRETS["bearer"])
    # what must stay
    body = orjson.loads(clean.request.body)
    assert body["author"] == "keep-author"
    assert body["tokens_used"] == 123
    assert body["Accept"] == "keep-accept"
    assert dict(clean.request.headers)["Authorization"] == "Bearer [REDACTED:authorization]"
    assert dict(clean.request.headers)["Proxy-Authorization"] == "Basic [REDACTED:authorization]"
    assert "theme=dark" in dict(clean.request.headers)["Cookie"]
    assert dict(clean.response.headers)["Set-Cookie"] == (  # type: ignore[union-attr]
        "sid=[REDACTED:set-cookie]; Path=/; HttpOnly; Secure"
    )
    assert clean.request.query.endswith("&page=2")
    assert clean.request.path.startswith("/v1/users/")
    assert "/password-reset/[REDACTED:path-token]" in clean.request.path
    # and nothing the scanner would flag is left
    assert scan_bytes(blob) == []


def test_redaction_locations(sanitizer: Sanitizer) -> None:
    clean = sanitizer.sanitize(planted_exchange())
    locs = {(r.location, r.action) for r in clean.redactions}
    for expected in [
        ("request.headers.authorization", "mask"),
        ("request.headers.cookie.sessionid", "mask"),
        ("request.headers.x-api-key", "mask"),
        ("request.query.access_token", "mask"),
        ("request.query.email", "pseudonym"),
        ("request.path", "pseudonym"),
        ("request.body$.user.password", "mask"),
        ("request.body$.user.email", "pseudonym"),
        ("request.body$.user.profile.settings[0].auth.token", "mask"),
        ("request.body$.user.keys[1]", "mask"),
        ("response.body$.data[0].email", "pseudonym"),
        ("response.body$.data[1].refresh_token", "mask"),
        ("response.headers.set-cookie.sid", "mask"),
        ("client_addr", "pseudonym"),
        ("error", "pseudonym"),
    ]:
        assert expected in locs, expected
    blob = orjson.dumps([r.location for r in clean.redactions])
    for secret in SECRETS.values():
        assert secret.encode() not in blob


def test_idempotent(sanitizer: Sanitizer) -> None:
    once = sanitizer.sanitize(planted_exchange())
    twice = sanitizer.sanitize(dataclass_replace_redactions(once))
    assert (
        twice.request.body == once.request.body
        or orjson.loads(twice.request.body).keys() == orjson.loads(once.request.body).keys()
    )
    flagged = {r.rule for r in twice.redactions}
    # identity keys without a recognisable range (names, usernames) are re-pseudonymized;
    # markers and recognisable pseudonyms are never flagged again
    assert flagged <= {"name", "username"}
    assert twice.request.headers == once.request.headers
    assert twice.request.query == once.request.query
    assert twice.request.path == once.request.path
    assert twice.client_addr == once.client_addr


def dataclass_replace_redactions(ex: Exchange) -> Exchange:
    import dataclasses

    return dataclasses.replace(ex, redactions=())


def test_deterministic_pseudonyms_across_sanitizers() -> None:
    a = Sanitizer(SanitizeConfig(), Pseudonymizer(b"k" * 32)).sanitize(planted_exchange())
    b = Sanitizer(SanitizeConfig(), Pseudonymizer(b"k" * 32)).sanitize(planted_exchange())
    c = Sanitizer(SanitizeConfig(), Pseudonymizer(b"j" * 32)).sanitize(planted_exchange())
    assert a.request.body == b.request.body
    assert a.request.body != c.request.body


def test_existing_redactions_kept(sanitizer: Sanitizer) -> None:
    ex = planted_exchange()
    drop = Redaction("undecodable-body", "response.body", "drop")
    import dataclasses

    clean = sanitizer.sanitize(dataclasses.replace(ex, redactions=(drop,)))
    assert clean.redactions[0] == drop


def test_unexpected_error_becomes_sanitize_error(
    sanitizer: Sanitizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> object:
        raise RuntimeError("secret hunter2 in the message")

    monkeypatch.setattr(sanitizer.bodies, "sanitize", boom)
    with pytest.raises(SanitizeError) as info:
        sanitizer.sanitize(planted_exchange())
    assert "hunter2" not in str(info.value)
    assert "01TEST" in str(info.value)


def test_sanitize_text(sanitizer: Sanitizer) -> None:
    text, reds = sanitizer.sanitize_text(
        "login failed for bob@corp.com with password=hunter2 from 8.8.8.8", "log"
    )
    assert "bob@corp.com" not in text and "hunter2" not in text and "8.8.8.8" not in text
    assert {r.rule for r in reds} == {"email", "secret-key-value", "ipv4"}
    assert all(r.location == "log" for r in reds)


def test_host_userinfo_dropped(sanitizer: Sanitizer) -> None:
    ex = Exchange(
        id="x",
        request=Request(
            method="GET",
            scheme="https",
            host="u:pw@api.test",
            port=443,
            path="/",
            host_header="u:pw@api.test",
        ),
    )
    clean = sanitizer.sanitize(ex)
    assert clean.request.host == "api.test" and clean.request.host_header == "api.test"


def test_ipv6_client_addr(sanitizer: Sanitizer) -> None:
    ex = Exchange(
        id="x",
        request=Request(method="GET", scheme="https", host="api.test", port=443, path="/"),
        client_addr="[2a00::1]:443",
    )
    clean = sanitizer.sanitize(ex)
    assert clean.client_addr is not None
    assert clean.client_addr.startswith("[2001:db8:") and clean.client_addr.endswith("]:443")


_GH_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.mark.parametrize(
    ("addr", "original"),
    [
        ("81.2.69.160:50123", "81.2.69.160"),
        ("10.1.2.3", "10.1.2.3"),
        ("[2a00::1]:443", "2a00::1"),
        (f"gw.internal token={_GH_TOKEN}", _GH_TOKEN),  # not an address: scanned as text
    ],
)
def test_client_addr_is_the_same_on_every_exchange_and_always_reported(
    sanitizer: Sanitizer,
    addr: str,
    original: str,
) -> None:
    # the second and third exchange from an address are answered from a cache: same stored
    # form, same redactions, nothing of the original left
    def one() -> Exchange:
        return sanitizer.sanitize(
            Exchange(
                id="x",
                request=Request(method="GET", scheme="http", host="api.test", port=80, path="/"),
                client_addr=addr,
            )
        )

    first, second, third = one(), one(), one()
    assert first.client_addr == second.client_addr == third.client_addr
    assert first.redactions == second.redactions == third.redactions
    assert [r for r in third.redactions if r.location == "client_addr"]
    assert original not in (third.client_addr or "")


def test_an_own_pseudonym_client_addr_is_kept(sanitizer: Sanitizer) -> None:
    own = sanitizer.pseudonymizer.pseudonym("ip", "10.20.30.40")
    for _ in range(2):
        clean = sanitizer.sanitize(
            Exchange(
                id="x",
                request=Request(method="GET", scheme="http", host="api.test", port=80, path="/"),
                client_addr=f"{own}:50123",
            )
        )
        assert clean.client_addr == f"{own}:50123" and not clean.redactions


def test_a_documentation_client_addr_from_traffic_is_pseudonymized(sanitizer: Sanitizer) -> None:
    # TEST-NET addresses the key did not tag are real traffic's, not amber's output
    p = sanitizer.pseudonymizer
    addr = next(f"203.0.113.{n}" for n in range(1, 255) if not p.is_own("ip", f"203.0.113.{n}"))
    clean = sanitizer.sanitize(
        Exchange(
            id="x",
            request=Request(method="GET", scheme="http", host="api.test", port=80, path="/"),
            client_addr=addr,
        )
    )
    assert clean.client_addr == p.pseudonym("ip", addr) != addr
    assert [r.rule for r in clean.redactions] == ["client-ip"]


def test_custom_config(pseudo: Pseudonymizer) -> None:
    cfg = SanitizeConfig.from_mapping(
        {
            "headers": {"redact": ["X-Internal"], "keep": ["X-Api-Key"]},
            "keys": {
                "redact": ["employee_number"],
                "keep": ["session"],
                "pseudonymize": {"account_ref": "customer_id", "name": None},
            },
            "detectors": {"email": False},
            "rules": [{"name": "ticket", "pattern": "TCK-[0-9]{6}", "action": "mask"}],
        }
    )
    s = Sanitizer(cfg, pseudo)
    ex = Exchange(
        id="x",
        request=Request(
            method="POST",
            scheme="https",
            host="h",
            port=443,
            path="/",
            headers=(
                ("X-Internal", "v"),
                ("X-Api-Key", "keepme"),
                ("Content-Type", "application/json"),
            ),
            body=orjson.dumps(
                {
                    "employee_number": 77,
                    "session": "s1",
                    "account_ref": 123456,
                    "name": "Widget",
                    "note": "bob@corp.com TCK-123456",
                }
            ),
        ),
    )
    clean = s.sanitize(ex)
    h = dict(clean.request.headers)
    assert h["X-Internal"] == "[REDACTED:sensitive-header]" and h["X-Api-Key"] == "keepme"
    body = orjson.loads(clean.request.body)
    assert body["employee_number"] == "[REDACTED:sensitive-key]"
    assert body["session"] == "s1" and body["name"] == "Widget"
    assert isinstance(body["account_ref"], int) and body["account_ref"] != 123456
    assert len(str(body["account_ref"])) == 6
    assert body["note"] == "bob@corp.com [REDACTED:ticket]"


def test_captured_database_errors_stay_as_they_are(sanitizer: Sanitizer) -> None:
    # the developer must read the error the service gave, not one the sanitizer made up
    errors = (
        'sqlite3.OperationalError: unrecognized token: "]"',
        'near "token": syntax error',
        'ERROR: column "password_hash" does not exist',
    )
    for error in errors:
        body = json.dumps({"error": error, "version": "2.4.1.0"}).encode()
        ex = Exchange(
            id="x",
            request=Request(method="GET", scheme="https", host="api.test", port=443, path="/"),
            response=Response(
                status=500, headers=(("Content-Type", "application/json"),), body=body, reason=error
            ),
            error=error,
        )
        clean = sanitizer.sanitize(ex)
        assert clean.error == error and clean.redactions == ()
        assert clean.response is not None and clean.response.body == body
    # a real secret in an error message is still masked
    text, _ = sanitizer.sanitize_text("auth failed: token: 9f8e7d6c5b4a3f2e1d0c", "error")
    assert "9f8e7d6c5b4a3f2e1d0c" not in text


def _json_exchange(doc: object, path: str = "/v1/items") -> Exchange:
    req = Request(
        method="GET",
        scheme="https",
        host="api.example.test",
        port=443,
        path=path,
        query="page=2",
        headers=(("Accept", "application/json"),),
    )
    resp = Response(
        status=200,
        headers=(("Content-Type", "application/json"),),
        body=json.dumps(doc).encode(),
    )
    return Exchange(id="c1", request=req, response=resp)


def test_warm_caches_give_what_a_fresh_sanitizer_gives() -> None:
    """The speed caches (key tuples, the scanner's memo, path segment kinds, the clean-string
    shortcut) never change a result: an exchange sanitized after others is stored exactly
    as a fresh sanitizer stores it."""
    reset = "https://app.example.test/password/reset/qWeRtY7uIoP3"
    doc = {
        "items": [
            {"name": "mug", "link": reset, "note": reset[8:], "ok": True, "n": 1.5, "z": None},
            {"owner": {"name": "Jane Roe", "email": "jane.roe@corp.test"}, "sku": "SKU-1"},
        ],
        "jane.roe@corp.test": 1,
    }
    exchanges = [planted_exchange(), _json_exchange(doc), _json_exchange(doc, "/reset/Ab3dEf9h")]
    warm = Sanitizer(SanitizeConfig(), Pseudonymizer(b"k" * 32))
    for ex in exchanges:  # warm every cache, including with the link's text scanned alone
        warm.sanitize(ex)
        warm.sanitize_text(reset, "t")
        warm.sanitize_text(reset[8:], "t")
    for ex in exchanges:
        fresh = Sanitizer(SanitizeConfig(), Pseudonymizer(b"k" * 32)).sanitize(ex)
        again = warm.sanitize(ex)
        assert again == fresh
    clean = warm.sanitize(exchanges[1])
    assert clean.response is not None
    body = clean.response.body.decode()
    # the URL rules still run on a string the scanner's memo holds as clean
    assert '"link": "https://app.example.test/password/reset/[REDACTED:path-token]"' in body
    assert "jane.roe@corp.test" not in body and "Jane Roe" not in body
    assert '"name": "mug"' in body and '"ok": true, "n": 1.5, "z": null' in body


def test_an_unchanged_message_is_returned_as_it_came(sanitizer: Sanitizer) -> None:
    ex = _json_exchange({"items": [{"sku": "SKU-1", "qty": 2}]})
    clean = sanitizer.sanitize(ex)
    assert clean.request is ex.request and clean.response is ex.response
    leaky = _json_exchange({"items": [{"password": "hunter2-hunter2"}]})
    clean = sanitizer.sanitize(leaky)
    assert clean.request is leaky.request
    assert clean.response is not leaky.response and clean.response is not None
    assert b"hunter2" not in clean.response.body


def test_redactions_are_deduplicated_as_dict_fromkeys_does() -> None:
    # `_unique` keys on the fields' tuples (C hashing): the same first objects, same order
    rng = random.Random(16)
    for _ in range(500):
        out = [
            Redaction(rng.choice("ab"), rng.choice("xyz"), rng.choice(("mask", "pseudonym")))
            for _ in range(rng.randint(0, 9))
        ]
        expected = tuple(dict.fromkeys(out))
        got = _unique(out)
        assert got == expected
        assert all(a is b for a, b in zip(got, expected, strict=True))
