"""Field names that mean "secret" beyond the key rules, in every structured format.

The key rules (`_keys.py`) judge a name alone. A few names are secrets only by what
they are used for elsewhere, and are recognized here wherever a name labels a value: JSON
members and name/value pairs, form and multipart fields, XML tags and attributes, CSV
columns, `KEY=value` and `key: value` config text, header names.

* **Signed-URL and OAuth parameters** used as field names (`{"X-Amz-Signature": ...}`,
  a form field `oauth_signature`, `Key-Pair-Id`): masked as `signed-url`.
* **Ambiguous short names** (`code`, `hash`, `ticket`, `k`, `st`) only when the value looks
  like a token (`token_like`): `{"code": "INVALID_ARGUMENT"}`, `{"code": 404}`,
  `{"hash": "sha256"}` and `{"ticket": "JIRA-1234"}` are kept; an OAuth code, a 32-hex
  `hash` or a CAS ticket `ST-...` is masked. In a URL query the looser `url_param_verdict`
  applies instead (`_urls.py`).
* **Cookie names** (`cookie_name`): the `__Host-` and `__Secure-` prefixes (RFC 6265bis:
  only cookies carry them), F5 BIG-IP `TS<hex>` cookies, Akamai bot-manager cookies, the
  session cookies of common frameworks, and names ending in `sess`: a value under one is
  a session, masked as `cookie`.
* **Cookie holders** (`cookie_holder`): a name that says its value *is* cookies, not
  about them: `cookies`, `cookie_header`, `cookieJar`, `raw_cookies`, `request_cookies`,
  `COOKIESTRING` (`cookie`/`cookies` with only words such as jar, header, string, raw,
  set, request, response around it). Whatever it holds is masked as `cookie`: a cookie
  string (`theme=dark; gw=...`: every value, whatever its name), a jar object
  (`{"gw": ...}`), a list of `{"name", "value"}` pairs. Names about cookies keep their
  value: `cookie_consent`, `cookies_accepted`, `cookie_policy`, `cookie_name`.
"""

from __future__ import annotations

import re
from typing import cast

from ._encoded import decoded_token
from ._ids import luhn_ok
from ._ids import person_name_ok
from ._keys import Verdict
from ._keys import normalize_key
from ._keys import split_tokens

__all__ = [
    "cookie_holder",
    "cookie_name",
    "field_name",
    "field_verdict",
    "HEADER_LISTS",
    "header_list",
    "header_pair",
    "shaped_id",
    "token_like",
]

# Signed-URL and OAuth parameter names (compacted: lowercase, no `_`/`-`/`.`) that the key
# rules leave, unambiguous as field names.
_SIGNED = frozenset(
    {
        "xamzsignature", "xamzcredential", "xamzsecuritytoken", "xgoogsignature",
        "xgoogcredential", "oauthsignature", "oauthtoken", "oauthverifier", "keypairid",
        "setoken", "sig", "signature", "xmssignature", "sharedaccesssignature",
    }
)  # fmt: skip
# Names that hold a token in signed and OAuth URLs but mean other things in data (an error
# code, a content hash): masked only when the value looks like a token.
_AMBIGUOUS = frozenset({"code", "hash", "ticket", "k", "st"})
# Names of a party that hold a person, an email, a username or an id alike: a person's only
# when the value is a name (`person_name_ok`: `{"recipient": "Aiyana Redcloud"}`).
_PARTIES = frozenset(
    {
        "recipient", "recipients", "assignee", "assignees", "payee", "payer", "sender",
        "addressee", "consignee", "beneficiary", "approver", "reviewer", "requester",
        "requestor", "reporter", "attendee", "signer", "signatory", "cardholder",
    }
)  # fmt: skip
# A national id under a short name that also means something else (`sin`: Canada's Social
# Insurance Number, and the sine): masked only when the value has the id's shape and passes
# its checksum (`{"sin": "046 454 286"}`, not `{"sin": 0.5}`).
_SHAPED = frozenset({"sin"})
_SIN = re.compile(r"[0-9]{3}([ -]?)[0-9]{3}\1[0-9]{3}")
_COOKIE_NAMES = frozenset(
    {
        "akbmsc", "bmsv", "bmsz", "bmmi", "abck", "jsessionid", "phpsessid",
        "aspnetsessionid", "connectsid", "laravelsession", "racksession", "cisession",
        "cfid", "cftoken", "sessid", "sess", "shopsession", "sessionsid",
    }
)  # fmt: skip
_COOKIE_NAME = re.compile(r"(?i)__(?:host|secure)-.+|ts[0-9a-f]{6,8}(?:_[0-9]+)?|aspsessionid\w*")
# A cookie holder squashed into one word (`COOKIEHEADER` in a `.env`, `setcookies`).
_COOKIE_HOLDER = re.compile(
    r"(?:raw|set|request|response|req|resp|http|all|original|forwarded)?cookies?"
    r"(?:jar|header|headers|string|str|list|data|values?|lines?)?"
)
# The words that may stand around `cookie`/`cookies` in a name that holds cookies.
_COOKIE_HOLDER_WORDS = frozenset(
    {
        "jar", "header", "headers", "string", "str", "raw", "set", "request", "req",
        "response", "resp", "http", "all", "value", "values", "data", "list", "line",
        "lines", "original", "forwarded", "x", "client", "browser", "session", "user",
    }
)  # fmt: skip
_TOKEN = re.compile(r"[A-Za-z0-9_~.=+/:%-]{8,512}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# The words of a camelCase or PascalCase identifier (`NoSuchKey`, `XMLHttpRequest`).
_SEGMENT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
# One run of capitals (or a capitalized word), then one run of digits: an identifier that
# a person typed or reads (`PGRST116`, `SUMMER2024`, `INC0012345`), not a generated token,
# whose letters and digits interleave.
_LETTERS_THEN_DIGITS = re.compile(r"(?:[A-Z]+|[A-Z][a-z]+)[0-9]+")
_MASK: Verdict = ("mask", "signed-url")
_COOKIE: Verdict = ("mask", "cookie")
_ID_MASK: Verdict = ("mask", "sensitive-key")
_PERSON: Verdict = ("pseudonym", "name")

_kinds: dict[str, str] = {}


def _compact(name: str) -> str:
    return normalize_key(name).replace("_", "").replace("-", "")


def cookie_name(name: str) -> bool:
    """Is `name` a session cookie's name by its form or a well-known vendor's, or does it
    end in the abbreviation `sess` (`__Host-sess` written `_HOST_SESS` in a `.env`)?"""
    if _COOKIE_NAME.fullmatch(name) is not None or _compact(name) in _COOKIE_NAMES:
        return True
    tokens = split_tokens(name)
    return bool(tokens) and tokens[-1] in ("sess", "sessid")


def cookie_holder(name: str) -> bool:
    """Does `name` say its value is cookies (a `Cookie` header's text, a jar, a list of
    them): `cookies`, `cookie_header`, `rawCookies`, `X-Original-Cookies`; not a name
    about cookies (`cookie_consent`, `cookies_accepted`)?"""
    if _COOKIE_HOLDER.fullmatch(_compact(name)) is not None:
        return True
    tokens = split_tokens(name)
    return any(t in ("cookie", "cookies") for t in tokens) and all(
        t in ("cookie", "cookies") or t in _COOKIE_HOLDER_WORDS for t in tokens
    )


def _kind(name: str) -> str:
    found = _kinds.get(name)
    if found is None:
        compact = _compact(name)
        if not name or len(name) > 64:
            found = ""
        elif compact in _SIGNED:
            found = "signed"
        elif compact in _AMBIGUOUS:
            found = "ambiguous"
        elif compact in _PARTIES:
            found = "party"
        elif compact in _SHAPED:
            found = "shaped"
        elif cookie_name(name) or cookie_holder(name):
            found = "cookie"
        else:
            found = ""
        if len(_kinds) < 100_000:
            _kinds[name] = found
    return found


def field_name(name: str) -> bool:
    """Might `field_verdict` mask a value under `name`? (Cheap: lets a caller skip
    decoding a value no rule here would look at.)"""
    kind = _kinds.get(name)
    if kind is None:
        kind = _kind(name)
    return bool(kind)


def token_like(value: str) -> bool:
    """Does `value` look like a generated token rather than a word, a number or an id?

    8+ token characters, not a UUID, and: 32+ digits, or letters and digits mixed (16+
    characters may hold separators: `ST-71234-Ab3...`; shorter ones none: `ERR_1234`,
    `v2-final` stay, and not one run of capitals then one of digits: `PGRST116`),
    or letters only of both cases switching case too often for words (`aBcDeFgHiJkL`; not
    `invalidArgument`, `NoSuchKey`, `XMLHttpRequest`).
    """
    if _TOKEN.fullmatch(value) is None or _UUID.fullmatch(value) is not None:
        return False
    digits = sum(c.isdigit() for c in value)
    letters = sum(c.isalpha() for c in value)
    if digits == len(value):
        return digits >= 32  # no count or id is that long; a hex-encoded hash is
    if digits and letters:
        if len(value) >= 16:
            return True
        if _LETTERS_THEN_DIGITS.fullmatch(value) is not None:
            return False  # an error code, a coupon, a ticket: `PGRST116`, `SUMMER2024`
        return not any(c in value for c in "-_.:") and digits >= 2 and letters >= 3
    if digits or not value.isalpha() or value.islower() or value.isupper():
        return False
    # random letters switch case every other character; words run 3+ letters per case
    return len(_SEGMENT.findall(value)) * 3 > len(value)


def field_verdict(name: str, value: object) -> Verdict:
    """The verdict a field name gives its value beyond the key rules, or None.

    `value` is the field's value (a string; anything else only for the unambiguous names).
    """
    kind = _kinds.get(name)  # inlined `_kind`: this runs for most keys of every body
    if kind is None:
        kind = _kind(name)
    if not kind:
        return None
    if kind == "ambiguous":
        return _MASK if isinstance(value, str) and token_like(value) else None
    if kind == "party":
        if isinstance(value, list):  # `"recipients": ["Jane Roe", ...]`: all of them
            value = next((v for v in value if isinstance(v, str) and person_name_ok(v)), None)
        return _PERSON if isinstance(value, str) and person_name_ok(value) else None
    if kind == "shaped":
        return _ID_MASK if _sin_ok(value) else None
    return _COOKIE if kind == "cookie" else _MASK


def shaped_id(name: str, value: str) -> bool:
    """Is `value` the national id a short, ambiguous `name` holds only by its value (a
    bare `sin` and a Social Insurance Number)? For the `key=value` rule in text, which
    judges a pair by its key alone otherwise."""
    kind = _kinds.get(name)
    if kind is None:
        kind = _kind(name)
    return kind == "shaped" and _sin_ok(value)


def _sin_ok(value: object) -> bool:
    """Is `value` a Social Insurance Number: nine digits (grouped 3-3-3 by spaces or dashes
    in a string) that pass the Luhn check, written as they are or as one base64 or hex
    token (`MjI3MzE1ODUw`)?"""
    if type(value) is int:
        digits = str(value) if 10**8 <= value < 10**9 else ""
    elif isinstance(value, str):
        if _SIN.fullmatch(value) is None and len(value) >= 12:
            value = decoded_token(value) or ""
        if _SIN.fullmatch(value) is None:
            return False
        digits = value.replace(" ", "").replace("-", "")
    else:
        return False
    return bool(digits) and luhn_ok(digits)


_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
_ONE_WORD_HEADERS = frozenset({"authorization", "cookie", "apikey", "token"})
HEADER_LISTS = frozenset(
    {"headers", "Headers", "rawHeaders", "raw_headers", "RawHeaders", "headerList", "header_list"}
)
"""The keys (as written) of a list that may hold headers' names and values in turn."""


def header_pair(items: list[object]) -> bool:
    """Is `items` a header as debug and echo endpoints list them, `[name, value]`
    (`["x-api-key", "..."]`, ASGI's header pairs, Go's and Python's dumps)? The name must be
    a header's: words joined by `-`, or one of the one-word request headers that hold
    credentials (`["secret", "draft"]`, a list of tags, is not one)."""
    name = items[0]
    if type(name) is not str or type(items[1]) is not str or len(name) > 64:
        return False
    if "-" not in name:
        return name.lower() in _ONE_WORD_HEADERS
    return _HEADER_NAME.fullmatch(name) is not None


def header_list(items: list[object]) -> bool:
    """Is `items` (under a key of `HEADER_LISTS`) a flat list of header names and values
    (Node's `rawHeaders`: `["Host", "api.acme.io", "X-Auth-Token", "..."]`)?"""
    return (
        len(items) >= 4
        and len(items) % 2 == 0
        and all(type(v) is str for v in items)
        and all(_HEADER_NAME.fullmatch(cast(str, v)) is not None for v in items[::2])
    )
