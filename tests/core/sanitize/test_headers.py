from __future__ import annotations

import pytest

from amber._model import Redaction
from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer


def run(s: Sanitizer, *headers: tuple[str, str]) -> tuple[dict[str, str], list[Redaction]]:
    out: list[Redaction] = []
    return dict(s.headers.sanitize(tuple(headers), "request", out)), out


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bearer abc.def", "Bearer [REDACTED:authorization]"),
        ("Basic dXNlcjpwdw==", "Basic [REDACTED:authorization]"),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=ff",
            "AWS4-HMAC-SHA256 [REDACTED:authorization]",
        ),
        ("justatoken", "[REDACTED:authorization]"),
        ("Bearer [REDACTED:authorization]", "Bearer [REDACTED:authorization]"),
    ],
)
def test_authorization_keeps_scheme(sanitizer: Sanitizer, value: str, expected: str) -> None:
    h, _ = run(sanitizer, ("Authorization", value))
    assert h["Authorization"] == expected


def test_cookie_per_cookie(sanitizer: Sanitizer) -> None:
    h, out = run(
        sanitizer,
        (
            "Cookie",
            "JSESSIONID=abc; lang=en-US; csrftoken=zz; "
            "_ga=GA1.2.1234567.1700000000; contact=bob@corp.com",
        ),
    )
    assert h["Cookie"] == (
        "JSESSIONID=[REDACTED:cookie]; lang=en-US; csrftoken=[REDACTED:cookie]; "
        "_ga=[REDACTED:cookie]; contact=[REDACTED:cookie]"
    )
    assert [r.location for r in out][:2] == [
        "request.headers.cookie.JSESSIONID",
        "request.headers.cookie.csrftoken",
    ]


@pytest.mark.parametrize(
    "value",
    ["qwertyuiop", "ab", "bob|1700000000|Zk3x9Q2w|e3b0c442", '"x1"', "1"],
)
def test_cookie_values_are_masked_whatever_their_shape(sanitizer: Sanitizer, value: str) -> None:
    h, out = run(sanitizer, ("Cookie", f"theme=dark; pref={value}; lang=en"))
    masked = '"[REDACTED:cookie]"' if value.startswith('"') else "[REDACTED:cookie]"
    assert h["Cookie"] == f"theme=dark; pref={masked}; lang=en"
    assert [r.location for r in out] == ["request.headers.cookie.pref"]


def test_preference_cookies_keep_their_value_unless_opaque(sanitizer: Sanitizer) -> None:
    h, _ = run(sanitizer, ("Cookie", "Theme=dark; locale=de-DE; currency=EUR; tz=Europe/Berlin"))
    assert h["Cookie"] == "Theme=dark; locale=de-DE; currency=EUR; tz=Europe/Berlin"
    h, _ = run(sanitizer, ("Cookie", "lang=a1B2c3D4e5F6g7H8i9"))
    assert h["Cookie"] == "lang=[REDACTED:cookie]"


def test_kept_keys_are_kept_cookies(pseudo: Pseudonymizer) -> None:
    s = Sanitizer(SanitizeConfig(keep_keys=frozenset({"ab_bucket"})), pseudo)
    h, _ = run(s, ("Cookie", "ab_bucket=blue; other=blue"))
    assert h["Cookie"] == "ab_bucket=blue; other=[REDACTED:cookie]"


def test_set_cookie(sanitizer: Sanitizer) -> None:
    out: list[Redaction] = []
    h = dict(
        sanitizer.headers.sanitize(
            (("Set-Cookie", "theme=dark; Path=/"), ("Set-Cookie", 'sid="x1"; Secure')),
            "response",
            out,
        )
    )
    assert h["Set-Cookie"] == "sid=[REDACTED:set-cookie]; Secure"
    assert [r.location for r in out] == [
        "response.headers.set-cookie.theme",
        "response.headers.set-cookie.sid",
    ]


def test_folded_set_cookie_masks_every_cookie_and_keeps_attributes(sanitizer: Sanitizer) -> None:
    out: list[Redaction] = []
    line = (
        "theme=dark; Path=/; Expires=Wed, 09 Jun 2027 10:18:14 GMT, sid=ab; Path=/; "
        "SameSite=Lax,remember=1; HttpOnly"
    )
    h = dict(sanitizer.headers.sanitize((("Set-Cookie", line),), "response", out))
    assert h["Set-Cookie"] == (
        "theme=[REDACTED:set-cookie]; Path=/; Expires=Wed, 09 Jun 2027 10:18:14 GMT, "
        "sid=[REDACTED:set-cookie]; Path=/; SameSite=Lax,remember=[REDACTED:set-cookie]; "
        "HttpOnly"
    )
    assert [r.location.rsplit(".", 1)[1] for r in out] == ["theme", "sid", "remember"]


@pytest.mark.parametrize(
    "name",
    [
        "X-Api-Key",
        "api-key",
        "X-Auth-Token",
        "X-CSRF-Token",
        "X-XSRF-TOKEN",
        "X-Amz-Security-Token",
        "X-Goog-Api-Key",
        "X-Session-Token",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Stripe-Signature",
        "X-Hub-Signature",
        "X-Hub-Signature-256",
        "X-Slack-Signature",
        "X-Twilio-Signature",
        "X-Shopify-Hmac-Sha256",
        "Webhook-Signature",
        "X-My-Custom-Secret",
        "X-Internal-Auth",
        "X-Refresh-Token",
    ],
)
def test_sensitive_headers_masked(sanitizer: Sanitizer, name: str) -> None:
    h, out = run(sanitizer, (name, "v4lue-123"))
    assert h[name] == "[REDACTED:sensitive-header]"
    assert out == [Redaction("sensitive-header", f"request.headers.{name.lower()}", "mask")]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Accept", "application/json"),
        ("Author", "Jane"),
        ("X-Request-Id", "abc-123"),
        ("Content-Length", "42"),
        ("Keep-Alive", "timeout=5"),
        ("X-Tokens-Used", "17"),
        ("Date", "Tue, 15 Nov 1994 08:12:31 GMT"),
        ("Idempotency-Key", "k-1234567890abcdef"),
    ],
)
def test_harmless_headers_kept(sanitizer: Sanitizer, name: str, value: str) -> None:
    h, out = run(sanitizer, (name, value))
    assert h[name] == value and out == []


def test_forwarded_addresses(sanitizer: Sanitizer) -> None:
    h, out = run(
        sanitizer,
        ("X-Forwarded-For", "81.2.69.160, 10.0.0.1:8080, unknown"),
        ("Forwarded", 'for=81.2.69.160;proto=https, for="[2a00::1]:4711";by=10.0.0.2'),
        ("X-Real-IP", "81.2.69.160"),
        ("CF-Connecting-IP", "2a00::2"),
    )
    assert "81.2.69.160" not in str(h) and "2a00::" not in str(h) and "10.0.0." not in str(h)
    assert h["X-Forwarded-For"].endswith(":8080, unknown")
    assert 'for="[2001:db8:' in h["Forwarded"] and ";proto=https" in h["Forwarded"]
    assert h["X-Real-IP"].startswith(("192.0.2.", "198.51.100.", "203.0.113."))
    assert all(r.action == "pseudonym" for r in out)


def test_from_and_other_values(sanitizer: Sanitizer) -> None:
    h, _ = run(
        sanitizer,
        ("From", "bob@corp.com"),
        ("Referer", "https://x.test/?token=" + "a1" * 20),
        ("User-Agent", "bot/1.0 (+mailto:ops@corp.com)"),
        ("Host", "u:p@api.test"),
    )
    assert h["From"].endswith(("@example.com", "@example.org", "@example.net"))
    assert "a1a1" not in h["Referer"] and "ops@corp.com" not in h["User-Agent"]
    assert h["Host"] == "api.test"


def test_keep_and_redact_config(sanitizer: Sanitizer) -> None:
    from amber.sanitize import SanitizeConfig

    s = Sanitizer(
        SanitizeConfig(
            keep_headers=frozenset({"x-api-key"}), sensitive_headers=frozenset({"x-tenant"})
        ),
        sanitizer.pseudonymizer,
    )
    h, _ = run(s, ("X-Api-Key", "k"), ("X-Tenant", "acme"))
    assert h == {"X-Api-Key": "k", "X-Tenant": "[REDACTED:sensitive-header]"}


def test_version_headers_are_not_addresses(sanitizer: Sanitizer) -> None:
    headers, out = run(sanitizer, ("X-App-Version", "2.4.1.0"), ("X-Peer", "10.1.2.3"))
    assert headers["X-App-Version"] == "2.4.1.0" and headers["X-Peer"] != "10.1.2.3"
    assert [r.location for r in out] == ["request.headers.x-peer"]


def test_headers_named_by_the_key_rules(sanitizer: Sanitizer) -> None:
    h, out = run(
        sanitizer,
        ("X-Passport-Number", "X1234567"),
        ("X-Email", "bob@corp.com"),
        ("X-Phone", "020 7946 0958"),
        ("Password", "hunter2"),
    )
    assert h["X-Passport-Number"] == h["Password"] == "[REDACTED:sensitive-header]"
    assert "bob@corp.com" not in h["X-Email"] and "@example." in h["X-Email"]
    assert h["X-Phone"] != "020 7946 0958"
    assert {r.action for r in out} == {"mask", "pseudonym"}


def test_ordinary_headers_keep_their_values(sanitizer: Sanitizer) -> None:
    headers = (
        ("X-Name", "Blue Widget"),
        ("X-Version", "2.4.1.0"),
        ("X-Request-Id", "req_8f2a"),
        ("X-Sha256", "ab" * 32),
        ("X-Location", "52.5200,13.4050"),
    )
    h, out = run(sanitizer, *headers)
    assert h == dict(headers) and out == []


def test_header_names_split_as_written(sanitizer: Sanitizer) -> None:
    """`X-oldPw` is `old`, `pw` (camelCase), `X-Host-sess` a session; `X-Hostess` nothing."""
    new, out = run(sanitizer, ("X-oldPw", "hunter2"), ("X-Host-sess", "q"), ("X-Hostess", "ok"))
    assert new == {
        "X-oldPw": "[REDACTED:sensitive-header]",
        "X-Host-sess": "[REDACTED:sensitive-header]",
        "X-Hostess": "ok",
    }
    assert len(out) == 2
