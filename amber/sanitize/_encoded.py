"""Encoded text inside a value: percent-escapes, JSON `\\u` escapes, base64 and hex tokens.

A secret is often carried encoded: `GB12%20ABCD%20...` (an IBAN whose spaces a URL encoded),
`\\u7528\\u6237@\\u4f8b\\u5b50.\\u4e2d\\u56fd` (an email in JSON-escaped text),
`NDExMSAxMTEx...` (a card number in base64), `34313131...` (in hex). The value detectors of
`_values.py` see none of these shapes, so the scanner also reads what these decode to:

* `percent_words` and `unicode_words`: each word (a run between whitespace, quotes and angle
  brackets) holding an escape, decoded, with the offset in the word of every decoded
  character, so that a value found in the decoded word is replaced exactly where it is in
  the original (`GB12%20ABCD...` -> `[REDACTED:iban]`, the rest of the word untouched);
* `quoted_runs`: each run of markup text with quote entities (`{&quot;password&quot;: ...`,
  JSON escaped into XML or HTML) or an at sign's (`jane&#64;corp.io`), those decoded, mapped
  back the same way;
* `encoded_tokens`: each base64 or hex token (12+ characters) that decodes to printable
  text (UTF-8), or a base64 token that decodes to a whole DEFLATE stream (raw, zlib or
  gzip, as SAML's redirect binding sends its `SAMLRequest`) that inflates to such text
  (at most 64 KiB of it). Such a token is replaced whole when its text holds a value: a
  leaf that decodes to text holding a secret is a secret. Tokens that decode to binary
  (images, hashes, UUIDs, trace ids, random ids) are never text and cost one C-level
  decode each (and, for a quarter of them, an inflate that fails within a few bytes);
* `soft_breaks_joined`: quoted-printable text (a raw MIME message in an email webhook)
  with its soft line breaks (`=` at a line's end) removed, mapped back like the words
  above: a token the encoder cut at 76 characters is read whole.

Each function is linear in its input: escapes and tokens are found by one regex search each,
and a word's bounds by `rfind` and one search, not by a scan per character.
"""

from __future__ import annotations

import binascii
import html
import re
import zlib
from collections.abc import Callable
from collections.abc import Iterator
from difflib import SequenceMatcher
from urllib.parse import unquote
from urllib.parse import unquote_plus

__all__ = [
    "decoded_token",
    "decodes_nowhere",
    "encoded_tokens",
    "hex_not_text",
    "might_be_encoded",
    "percent_words",
    "quoted_printable",
    "quoted_runs",
    "reencoded",
    "soft_breaks_joined",
    "unescaped_respelled",
    "unicode_words",
]

_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_PCT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# the lone surrogates "surrogateescape" decodes an undecodable byte to (chr, not a
# "\\udc80" literal: mypyc refuses surrogates in string literals)
_ESCAPED_LO, _ESCAPED_HI = chr(0xDC80), chr(0xDCFF)
# one backslash or more: `\\u00e9` is `\u00e9` escaped again (JSON in a JSON string)
_UESC = re.compile(r"\\+u[0-9A-Fa-f]{4}")
_WORD_END = re.compile(r"[\s\"'<>]")
_WORD_STOPS = (" ", "\t", "\n", "\r", '"', "'", "<", ">")
_WORD_MAX = 2048
"""How far from an escape a word's bounds are looked for (a longer word is cut there)."""

# A base64 (standard or URL-safe) or hex token of 12+ characters (9 bytes: `NDMzLTMyLTg5NTc=`
# is an SSN), not part of a longer run.
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{12,}+={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_NO_SPACE = str.maketrans("", "", "\t\n\r")
_MIN_TEXT = 8
"""The fewest decoded characters read as text (shorter: nothing to find, or chance)."""


def _word(text: str, i: int, j: int) -> tuple[int, int]:
    """The bounds of the word around the span `i:j` (see `_WORD_STOPS`)."""
    lo = max(0, i - _WORD_MAX)
    start = max(text.rfind(c, lo, i) for c in _WORD_STOPS) + 1
    start = max(start, lo)
    m = _WORD_END.search(text, j, j + _WORD_MAX)
    return start, (m.start() if m is not None else min(len(text), j + _WORD_MAX))


def _words(text: str, escape: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    pos = 0
    while (m := escape.search(text, pos)) is not None:
        start, end = _word(text, m.start(), m.end())
        yield start, end
        pos = max(end, m.end())


def _unpercent(word: str) -> tuple[str, list[int]]:
    """`word` with its percent-escapes decoded (UTF-8; undecodable bytes as surrogate
    escapes), and, for each decoded character and the end, its offset in `word`."""
    pieces: list[str] = []
    offsets: list[int] = []
    pos = 0
    for m in _PCT_RUN.finditer(word):
        s = m.start()
        pieces.append(word[pos:s])
        offsets.extend(range(pos, s))
        decoded = bytes.fromhex(m.group().replace("%", "")).decode("utf-8", "surrogateescape")
        o = s
        for c in decoded:
            offsets.append(o)
            o += 3 if _ESCAPED_LO <= c <= _ESCAPED_HI else 3 * len(c.encode("utf-8"))
        pieces.append(decoded)
        pos = m.end()
    pieces.append(word[pos:])
    offsets.extend(range(pos, len(word) + 1))
    return "".join(pieces), offsets


def _ununicode(word: str) -> tuple[str, list[int]]:
    """`word` with its `\\uXXXX` escapes decoded (one character each, surrogates kept
    apart; escaped once more or not), and, for each decoded character and the end, its
    offset in `word`."""
    return _replaced(word, _UESC, lambda m: chr(int(m.group()[-4:], 16)))


def _replaced(
    text: str, pattern: re.Pattern[str], one: Callable[[re.Match[str]], str]
) -> tuple[str, list[int]]:
    """`text` with each match of `pattern` replaced by `one(match)` (one character, or
    none), and, for each character left and the end, its offset in `text` (a replacement's
    is its match's start)."""
    pieces: list[str] = []
    offsets: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        s = m.start()
        pieces.append(text[pos:s])
        offsets.extend(range(pos, s))
        c = one(m)
        if c:
            pieces.append(c)
            offsets.append(s)
        pos = m.end()
    pieces.append(text[pos:])
    offsets.extend(range(pos, len(text) + 1))
    return "".join(pieces), offsets


def percent_words(text: str) -> Iterator[tuple[int, str, list[int]]]:
    """`(start, decoded, offsets)` of each word of `text` with a percent-escape:
    the decoded character `k` is at `start + offsets[k]` in `text`."""
    if "%" not in text:
        return
    for start, end in _words(text, _PCT):
        decoded, offsets = _unpercent(text[start:end])
        yield start, decoded, offsets


def unicode_words(text: str) -> Iterator[tuple[int, str, list[int]]]:
    """`(start, decoded, offsets)` of each word of `text` with a `\\uXXXX` escape."""
    if "\\u" not in text:
        return
    for start, end in _words(text, _UESC):
        decoded, offsets = _ununicode(text[start:end])
        if len(decoded) < end - start:
            yield start, decoded, offsets


# (and the at sign's: `jane&#64;corp.io`, an email a page hides from naive scrapers)
_QUOTE_ENTITY = re.compile(r"&(?:quot|apos|#34|#39|#x22|#x27|#64|#x40|#X40|commat);")
_QUOTE_ENTITIES = (
    "&quot;", "&apos;", "&#34;", "&#39;", "&#x22;", "&#x27;", "&#64;", "&#x40;", "&#X40;",
    "&commat;",
)  # fmt: skip
_MARKUP = re.compile(r"[<>]")
_QUOTES = {
    "&quot;": '"', "&apos;": "'", "&#34;": '"', "&#39;": "'", "&#x22;": '"', "&#x27;": "'",
    "&#64;": "@", "&#x40;": "@", "&#X40;": "@", "&commat;": "@",
}  # fmt: skip


def _quote_of(m: re.Match[str]) -> str:
    return _QUOTES[m.group()]


def quoted_runs(text: str) -> Iterator[tuple[int, str, list[int]]]:
    """`(start, decoded, offsets)` of each run of markup text (between `>` and `<`, or an
    attribute value) with quote entities: `{&quot;password&quot;: &quot;...&quot;}` is
    JSON escaped into XML or HTML, which the `key: value` rule reads only with its quotes.
    Only the quote entities and the at sign's are decoded (other entities change no rule's
    reading)."""
    if "&" not in text or not any(e in text for e in _QUOTE_ENTITIES):
        return
    pos = 0
    while (m := _QUOTE_ENTITY.search(text, pos)) is not None:
        i = m.start()
        lo = max(0, i - _WORD_MAX)
        start = max(text.rfind("<", lo, i), text.rfind(">", lo, i), text.rfind('"', lo, i)) + 1
        start = max(start, lo)
        e = _MARKUP.search(text, m.end(), m.end() + _WORD_MAX)
        end = e.start() if e is not None else min(len(text), m.end() + _WORD_MAX)
        decoded, offsets = _replaced(text[start:end], _QUOTE_ENTITY, _quote_of)
        yield start, decoded, offsets
        pos = max(end, m.end())


# Bytes that are a control character in UTF-8 wherever they are (never inside a multibyte
# sequence) and that `_as_text` does not take as text: all of C0 but tab, LF and CR, and DEL.
_CONTROL = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _as_text(raw: bytes) -> str | None:
    if len(raw.translate(None, _CONTROL)) != len(raw):
        # the text would hold a control character: not printable (most random binary, a
        # hash or a UUID, stops here, without the cost of a failed UTF-8 decode)
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < _MIN_TEXT:
        return None
    if text.isprintable() or text.translate(_NO_SPACE).isprintable():
        return text
    return None


_INFLATE_MAX = 65536
"""The most text a compressed token is inflated to (a bomb stops there, unread)."""
_INFLATE_MIN = 15
"""The fewest bytes of DEFLATE data tried (shorter: too little text to hold a value)."""


def _inflated(raw: bytes) -> str | None:
    """The printable text `raw`, a whole DEFLATE stream (zlib-wrapped, gzip or raw), inflates
    to, or None. Random bytes fail within a few bytes (an invalid block type, code or
    distance), or leave bytes after their end: a whole stream is data someone compressed."""
    b0 = raw[0]
    if b0 & 0x0F == 8 and b0 >> 4 <= 7 and ((b0 << 8) | raw[1]) % 31 == 0:
        wbits = 15  # zlib's header
    elif raw[0:2] == b"\x1f\x8b":
        wbits = 31  # gzip's
    elif b0 & 1 and (b0 >> 1) & 3 in (1, 2):
        # a raw stream in one block (what a short text compresses to): the last block,
        # of fixed or dynamic Huffman codes (a quarter of random bytes start so)
        wbits = -15
    else:
        return None
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(raw, _INFLATE_MAX)
    except zlib.error:
        return None
    if not inflater.eof or inflater.unused_data:
        return None
    return _as_text(out)


def decoded_token(token: str) -> str | None:
    """The printable text a hex or base64 token decodes to, or None (binary, or not an
    encoding at all).

    ```python
    >>> decoded_token("NDExMSAxMTExIDExMTEgMTExMQ==")
    '4111 1111 1111 1111'
    >>> decoded_token("d41d8cd98f00b204e9800998ecf8427e") is None  # an MD5: binary
    True
    ```
    """
    if _HEX.fullmatch(token) is not None:
        # hex digits only: hex or nothing (base64 of text is never all hex digits, and
        # UUIDs, hashes and trace ids are the common case here: one decode each)
        return _as_text(bytes.fromhex(token)) if len(token) % 2 == 0 else None
    body = token.rstrip("=")
    if len(body) % 4 == 1:
        return None
    if "-" in body or "_" in body:
        if "+" in body or "/" in body:
            return None
        body = body.replace("-", "+").replace("_", "/")  # (str.translate: a dict per char)
    try:
        raw = binascii.a2b_base64(body + "=" * (-len(body) % 4), strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    text = _as_text(raw)
    if text is None and len(raw) >= _INFLATE_MIN:
        return _inflated(raw)
    return text


def encoded_tokens(text: str) -> Iterator[tuple[int, int, str]]:
    """`(start, end, decoded)` of each base64 or hex token in `text` that decodes to
    printable text."""
    for m in _TOKEN.finditer(text):
        decoded = decoded_token(m.group())
        if decoded is not None:
            yield m.start(), m.end(), decoded


def decodes_nowhere(text: str) -> bool:
    """Is there no token in `text` that `encoded_tokens` would give (none decodes)?"""
    # (`decoded_token` gives None or 8 characters at least: never a false string)
    return not any(map(decoded_token, _TOKEN.findall(text)))


def hex_not_text(text: str) -> bool:
    """`decoded_token(text) is None` for hex digits (`[0-9a-f]+`), sooner: most random
    bytes hold a control character, tested first on the bytes."""
    if len(text) % 2:
        return True
    raw = bytes.fromhex(text)
    if len(raw.translate(None, _CONTROL)) != len(raw):
        return True
    return decoded_token(text) is None


def might_be_encoded(text: str) -> bool:
    """Could `text` hold an escape, an encoded token or a soft line break (a cheap,
    conservative test)?"""
    return (
        "%" in text
        or "\\u" in text
        or "=\n" in text
        or "=\r\n" in text
        or (len(text) >= 12 and _TOKEN.search(text) is not None)
    )


_ALIGN_MAX = 4096
"""The longest changed middle of a value aligned character by character (longer: encoded
whole; sanitized values change in a few spans, and alignment is quadratic at worst)."""


def reencoded(raw: str, new: str, encode: Callable[[str], str], *, plus: bool = False) -> str:
    """`new`, what sanitizing made of the percent-decoded `raw`, spelled as `raw` was: the
    characters it shares with the decoded `raw` keep their spelling there (`%3A%2F%2F`
    stays `%3A%2F%2F`, a `+` stays a `+`), and only the changed spans are encoded by
    `encode` (a marker or a pseudonym). `plus`: `raw` is form-encoded (`+` is a space).

    ```python
    >>> from urllib.parse import quote
    >>> raw = "https%3A%2F%2Fa.io%2Fr%3Ftoken%3DZx81kQp0"
    >>> reencoded(raw, "https://a.io/r?token=[REDACTED]", lambda s: quote(s, safe="[]:/"))
    'https%3A%2F%2Fa.io%2Fr%3Ftoken%3D[REDACTED]'
    ```
    """
    decoded, offsets = _unpercent(raw.replace("+", " ") if plus else raw)
    unq = unquote_plus if plus else unquote
    if decoded != unq(raw, errors="surrogateescape"):
        return encode(new)  # (cannot happen: the two decoders agree; never trust it)
    out = _respelled(raw, decoded, offsets, new, encode)
    # A kept `%` that was no escape could meet encoded hex digits after it: checked, and
    # then the whole value is encoded as before.
    return out if unq(out, errors="surrogateescape") == new else encode(new)


# A character reference as HTML and XML write them (`html.unescape` decides what it means).
_ENTITY = re.compile(r"&(?:#[0-9]{1,7};?|#[xX][0-9a-fA-F]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};?)")


def _entity_of(m: re.Match[str]) -> str:
    return html.unescape(m.group())


def unescaped_respelled(raw: str, new: str) -> str:
    """`new`, what sanitizing made of the entity-decoded `raw` (an element's text or an
    attribute's value), spelled as `raw` was: the characters it shares with the decoded
    `raw` keep their spelling there (a raw `"` stays `"`, `&quot;` stays `&quot;`), and
    only the changed spans are escaped (`html.escape`). When that is not possible (a
    reference that decodes to more than one character near a change), all of `new` is
    escaped.

    ```python
    >>> unescaped_respelled('{"k": "Zx81kQp0", "n": "a &amp; b"}', '{"k": "[X]", "n": "a & b"}')
    '{"k": "[X]", "n": "a &amp; b"}'
    ```
    """
    decoded, offsets = _replaced(raw, _ENTITY, _entity_of)
    whole = html.escape(new, quote=True)
    if decoded != html.unescape(raw):
        return whole  # a reference of two characters (`&NotEqualTilde;`) or none
    out = _respelled(raw, decoded, offsets, new, lambda t: html.escape(t, quote=True))
    return out if html.unescape(out) == new else whole


def _respelled(
    raw: str, decoded: str, offsets: list[int], new: str, encode: Callable[[str], str]
) -> str:
    """`new` with the runs it shares with `decoded` (of four characters or more, aligned
    around one changed middle) written as `raw` spells them (`offsets`: each decoded
    character's place in `raw`, and the end's), and the rest by `encode`."""
    n, m = len(decoded), len(new)
    lo = 0
    top = min(n, m)
    while lo < top and decoded[lo] == new[lo]:
        lo += 1
    hi = 0
    while hi < top - lo and decoded[n - 1 - hi] == new[m - 1 - hi]:
        hi += 1
    parts = [raw[: offsets[lo]]]
    old_mid, new_mid = decoded[lo : n - hi], new[lo : m - hi]
    if old_mid and new_mid and len(old_mid) <= _ALIGN_MAX and len(new_mid) <= _ALIGN_MAX:
        for op, i1, i2, j1, j2 in SequenceMatcher(
            None, old_mid, new_mid, autojunk=False
        ).get_opcodes():
            if op == "equal" and i2 - i1 >= 4:  # a shorter match is chance, not kept text
                parts.append(raw[offsets[lo + i1] : offsets[lo + i2]])
            elif j2 > j1:
                parts.append(encode(new_mid[j1:j2]))
    elif new_mid:
        parts.append(encode(new_mid))
    parts.append(raw[offsets[n - hi] :])
    return "".join(parts)


_QP_ESCAPE = re.compile(r"=[0-9A-F]{2}")
_SOFT_BREAK = re.compile(r"=\r?\n")


def quoted_printable(text: str) -> bool:
    """Does `text` read as quoted-printable: a soft line break (`=` at a line's end) and an
    escape (`=3D`, `=20`)? A `KEY=` line of a config file alone is not."""
    return ("=\n" in text or "=\r\n" in text) and _QP_ESCAPE.search(text) is not None


def soft_breaks_joined(text: str) -> tuple[str, list[int]] | None:
    """`text` without its quoted-printable soft line breaks (`=` and a line's end), and,
    for each character left and the end, its offset in `text`; None when `text` has no
    soft break or no quoted-printable escape (`=3D`, `=20`: a `KEY=` line in a config
    file is no soft break)."""
    if not quoted_printable(text):
        return None
    return _replaced(text, _SOFT_BREAK, _nothing)


def _nothing(_m: re.Match[str]) -> str:
    return ""
