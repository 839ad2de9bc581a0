from __future__ import annotations

import base64
import hashlib
import html
import uuid

import pytest

from amber.sanitize._encoded import decoded_token
from amber.sanitize._encoded import encoded_tokens
from amber.sanitize._encoded import might_be_encoded
from amber.sanitize._encoded import percent_words
from amber.sanitize._encoded import unescaped_respelled
from amber.sanitize._encoded import unicode_words


def test_percent_words_map_each_decoded_character_to_its_place() -> None:
    text = 'iban="GB82%20WEST%201234" next=caf%C3%A9 plain'
    words = list(percent_words(text))
    assert [w[1] for w in words] == ["GB82 WEST 1234", "next=café"]
    start, decoded, offsets = words[0]
    assert text[start + offsets[0] : start + offsets[len(decoded)]] == "GB82%20WEST%201234"
    k = decoded.index("WEST")
    assert text[start + offsets[k] : start + offsets[k + 4]] == "WEST"
    start, decoded, offsets = words[1]
    e = decoded.index("é")
    assert text[start + offsets[e] : start + offsets[e + 1]] == "%C3%A9"  # two bytes, one char


def test_percent_words_keep_undecodable_bytes_one_to_one() -> None:
    ((start, decoded, offsets),) = percent_words("x%FFy")
    assert len(decoded) == 3 and offsets == [0, 1, 4, 5]


def test_unicode_words() -> None:
    text = '{"email": "\\u7528\\u6237@\\u4f8b\\u5b50.\\u4e2d\\u56fd"}'
    ((start, decoded, offsets),) = unicode_words(text)
    assert decoded == "用户@例子.中国"
    assert text[start + offsets[0] : start + offsets[len(decoded)]].startswith("\\u7528")
    # escaped again (JSON inside a JSON string): the same character
    ((start, decoded, offsets),) = unicode_words('"k\\\\u00fcnstler"')
    assert decoded == "künstler" and offsets[1:3] == [1, 8]
    assert list(unicode_words("no escapes")) == []


@pytest.mark.parametrize(
    "value", ["4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32", "maria@example.org"]
)
def test_base64_and_hex_tokens_decode_to_their_text(value: str) -> None:
    raw = value.encode()
    for token in (
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        raw.hex(),
        raw.hex().upper(),
    ):
        assert decoded_token(token) == value, token
        ((start, end, decoded),) = encoded_tokens(f"x={token}, y")
        assert (start, end, decoded) == (2, 2 + len(token), value)


@pytest.mark.parametrize(
    "token",
    [
        hashlib.md5(b"a").hexdigest(),
        hashlib.sha256(b"a").hexdigest(),
        base64.b64encode(hashlib.sha256(b"a").digest()).decode(),
        str(uuid.UUID(int=12345678901234567890, version=4)),
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg",
        "customer_profile_settings",
        "4111111111111111",
        "SGVsbG8",  # too short to read as text
    ],
)
def test_binary_and_plain_tokens_are_not_text(token: str) -> None:
    assert decoded_token(token) is None
    assert list(encoded_tokens(token)) == []


def test_might_be_encoded() -> None:
    assert might_be_encoded("a%20b") and might_be_encoded("\\u00e9")
    assert might_be_encoded("NDExMSAxMTExIDExMTEgMTExMQ==")
    assert not might_be_encoded("plain words only")


@pytest.mark.parametrize(
    ("raw", "new", "expected"),
    [
        (
            '{"k": "Zx81kQp0", "n": "a &amp; b"}',
            '{"k": "[X]", "n": "a & b"}',
            '{"k": "[X]", "n": "a &amp; b"}',
        ),
        (
            "{&quot;k&quot;: &quot;Zx81kQp0&quot;}",
            '{"k": "[X]"}',
            "{&quot;k&quot;: &quot;[X]&quot;}",
        ),
        ("&#34;Zx81kQp0&#34; &lt;b&gt;", '"[X]" <b>', "&#34;[X]&#34; &lt;b&gt;"),
        ("Zx81kQp0", "a<b", "a&lt;b"),  # what is new is escaped
    ],
)
def test_unescaped_respelled_keeps_the_spelling_of_what_did_not_change(
    raw: str, new: str, expected: str
) -> None:
    out = unescaped_respelled(raw, new)
    assert out == expected
    assert html.unescape(out) == new
