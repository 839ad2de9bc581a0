"""Positional passwords (`_rpc.py`), DN common names, party keys, DEFLATE in base64,
quoted-printable soft breaks, quoted local parts and version quads: each fix beside what
it must leave alone."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from amber._model import Exchange
from amber._model import Request
from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize._encoded import decoded_token
from amber.sanitize._encoded import soft_breaks_joined
from amber.sanitize._ids import person_name_ok
from amber.sanitize._keys import version_like
from amber.sanitize._rpc import secret_positions
from tests.core.sanitize.conftest import KEY


@pytest.fixture(scope="module")
def sanitizer() -> Sanitizer:
    return Sanitizer(SanitizeConfig(), Pseudonymizer(KEY))


def _body(sanitizer: Sanitizer, body: bytes, ctype: str) -> bytes:
    req = Request(
        method="POST", scheme="https", host="api.acme.io", port=443, path="/", query="",
        headers=(("Content-Type", ctype),), body=body,
    )  # fmt: skip
    return sanitizer.sanitize(Exchange(id="t", request=req, response=None)).request.body


def test_secret_positions() -> None:
    assert secret_positions("auth.login") == frozenset(range(1, 64))
    assert 1 in secret_positions("personal_unlockAccount")
    assert secret_positions("wp.getUsersBlogs") == {1}
    assert secret_positions("wp.getPosts") == {2}
    assert secret_positions("blogger.deletePost") == {3}
    for ordinary in ("eth_getBalance", "auth.getLoginUrl", "isPasswordSet", "auth.loginStatus",
                     "integrations.connect", "listCredentials", "mt.supportedMethods"):  # fmt: skip
        assert secret_positions(ordinary) == frozenset(), ordinary


def test_jsonrpc_positional_password(sanitizer: Sanitizer) -> None:
    call = {
        "jsonrpc": "2.0",
        "method": "personal_unlockAccount",
        "params": ["0xabc", "Hunter2x!", 300],
    }
    new = json.loads(_body(sanitizer, json.dumps(call).encode(), "application/json"))
    assert new["params"] == ["0xabc", "[REDACTED:positional-password]", 300]
    same = json.dumps(
        {"jsonrpc": "2.0", "method": "eth_call", "params": ["0xabc", "latest"]}
    ).encode()
    assert _body(sanitizer, same, "application/json") == same


def test_xmlrpc_positional_password(sanitizer: Sanitizer) -> None:
    call = (
        b'<?xml version="1.0"?><methodCall><methodName>wp.getUsersBlogs</methodName><params>'
        b"<param><value><string>admin</string></value></param>"
        b"<param><value><string>Wp5ecret!x</string></value></param></params></methodCall>"
    )
    new = _body(sanitizer, call, "text/xml")
    assert b"Wp5ecret!x" not in new and b"<string>admin</string>" in new
    same = call.replace(b"wp.getUsersBlogs", b"demo.concat")
    assert _body(sanitizer, same, "text/xml") == same


def test_person_names() -> None:
    for name in (
        "Thandiwe Mokoena",
        "Sam O'Neil",
        "Ronald McDonald",
        "Anne-Marie Dupont",
        "Léa Marchand",
    ):
        assert person_name_ok(name), name
    for other in ("api.acme.io", "Acme Root Authority", "Acme Issuing CA 01", "Finance Team",
                  "Jenkins Agent", "dvolkov", "Dmitri", "MEI LING TAN", "Acme Corp"):  # fmt: skip
        assert not person_name_ok(other), other


def test_dn_common_name(sanitizer: Sanitizer) -> None:
    text, hits = sanitizer.sanitize_text("CN=Thandiwe Mokoena,OU=Finance,O=Acme,C=ZA", "e")
    assert (
        "Thandiwe" not in text
        and text.startswith("CN=")
        and text.endswith(",OU=Finance,O=Acme,C=ZA")
    )
    assert [h.rule for h in hits] == ["dn-common-name"]
    for kept in (
        "CN=api.acme.io,O=Acme",
        "/C=US/O=Acme/CN=Acme Root Authority",
        "CN=R3,O=Let's Encrypt",
    ):
        assert sanitizer.sanitize_text(kept, "e") == (kept, [])


def test_party_keys(sanitizer: Sanitizer) -> None:
    body = json.dumps(
        {"recipient": "Aiyana Redcloud", "assignee": "finance-team", "payee": "Finance Team"}
    )
    new = json.loads(_body(sanitizer, body.encode(), "application/json"))
    assert new["recipient"] != "Aiyana Redcloud"
    assert new["assignee"] == "finance-team" and new["payee"] == "Finance Team"


def test_deflate_in_base64() -> None:
    text = '{"user": "li.wei@corp-mail.io"}'
    raw = zlib.compress(text.encode())
    for token in (base64.b64encode(raw), base64.b64encode(raw[2:-4])):  # zlib, raw
        assert decoded_token(token.decode()) == text
    # random bytes are no whole stream
    assert decoded_token(base64.b64encode(bytes(range(7, 40))).decode()) is None


def test_deflated_token_masked_whole(sanitizer: Sanitizer) -> None:
    secret = base64.b64encode(zlib.compress(b"<NameID>li.wei@corp-mail.io</NameID>")[2:-4]).decode()
    text, hits = sanitizer.sanitize_text(f"SAMLRequest {secret} end", "e")
    assert text == "SAMLRequest [REDACTED:email] end" and hits
    plain = base64.b64encode(zlib.compress(b'{"page": 2, "sort": "name"}')).decode()
    assert sanitizer.sanitize_text(f"state {plain}", "e") == (f"state {plain}", [])


def test_quoted_printable_soft_break(sanitizer: Sanitizer) -> None:
    assert soft_breaks_joined("KEY=\nOTHER=1\n") is None  # no escape: a config line
    joined = soft_breaks_joined("a=3Db=\r\ncd")
    assert joined is not None and joined[0] == "a=3Dbcd" and joined[1][5] == 8
    body = b"Hello,=20your api_key=3D0123456789abcdef=\r\n0123456789abcdef0123 thanks\r\n"
    new = _body(sanitizer, body, "text/plain")
    assert b"0123456789abcdef0123" not in new and new.endswith(b" thanks\r\n")
    same = b"Hello,=20the review moved to=\r\n Thursday https://app.acme.io/w/42?view=3Dagenda\r\n"
    assert _body(sanitizer, same, "text/plain") == same


def test_quoted_local_part(sanitizer: Sanitizer) -> None:
    for text in ('To: "sam.o\'neil"@corp-mail.io', 'To: "john doe"@corp-mail.io'):
        new, hits = sanitizer.sanitize_text(text, "e")
        assert "neil" not in new and "john" not in new and [h.rule for h in hits] == ["email"]
    for kept in ('he said "ship it" @standup', 'a="x","b"@host'):
        assert sanitizer.sanitize_text(kept, "e") == (kept, [])


def test_version_quads() -> None:
    assert version_like("min_supported", "2.4.1.0") and version_like("schema", "1.0.0.1")
    assert not version_like("min_supported", "10.0.0.1")  # a part of 10+: an address
    for key in ("peer", "dns", "remoteIp", "clientIpAddress", "host", "source"):
        assert not version_like(key, "1.2.3.4"), key


def test_version_quads_in_bodies(sanitizer: Sanitizer) -> None:
    body = b'{"min_supported": "2.4.1.0", "peer": "1.2.3.4", "note": "from 1.2.3.4"}'
    new = json.loads(_body(sanitizer, body, "application/json"))
    assert new["min_supported"] == "2.4.1.0" and "1.2.3.4" not in (new["peer"] + new["note"])
    yaml = b"min_supported: 2.4.1.0\npeer: 1.2.3.4\n"
    assert _body(sanitizer, yaml, "application/yaml").startswith(b"min_supported: 2.4.1.0\npeer: ")
    xml = b"<r><MinSupported>2.4.1.0</MinSupported><PeerIp>1.2.3.4</PeerIp></r>"
    new_xml = _body(sanitizer, xml, "application/xml")
    assert b"<MinSupported>2.4.1.0</MinSupported>" in new_xml and b"1.2.3.4" not in new_xml
