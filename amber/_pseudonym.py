"""Keyed, deterministic pseudonyms and the fixed redaction marker.

A *pseudonym* replaces an identifying value (an email, a name, an IP address, a customer id)
with a realistic fake that is always the same for the same input under the same key, so a
captured exchange and the database fixture extracted for it still agree with each other. A
*marker* replaces a secret (a password, a token) with the fixed text `[REDACTED:<rule>]`;
markers are never reversible and never vary.

The seed of every pseudonym is `HMAC-SHA256(key, kind + "\\0" + normalized(value))`. The key
comes from the `AMBER_KEY` environment variable (`load_key`): without the key, a pseudonym
cannot be linked back to its input by a dictionary attack.

Pseudonyms are recognisably synthetic, so `amber scan` never reports them as leaks:

| kind | shape | synthetic range |
|---|---|---|
| `email` | `first.last42@example.org` | example.com / example.org / example.net |
| `ip` | `198.51.100.23` | TEST-NET-1/2/3 (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) |
| `ipv6` | `2001:db8:...` | documentation prefix 2001:db8::/32 |
| `phone` | `+1-415-555-0123` | NANP fictional lines 555-0100 to 555-0199 |

A value in those ranges is amber's own output only when it carries the key's **tag**
(`Pseudonymizer.is_own`): part of every email, IP, IPv6 and phone pseudonym is derived from
`HMAC-SHA256(key, "amber-tag" NUL kind NUL rest-of-the-pseudonym)` (an email's number, the
last group of an IPv6 address; an IPv4 last octet and a phone line are drawn only from those
the key tags: the tag of the prefix or the area code, expanded by SHAKE-256, marks 1 in 8
octets and 1 in 16 lines). So `maria@example.com` or `203.0.113.9` in real traffic is
pseudonymized like any other value, while a pseudonym met again (a stored exchange
sanitized twice, a fixture made from captured data) is kept: `pseudonym()` of its own
output returns it unchanged, and a captured request and the fixture extracted for it agree.

```python
>>> p = Pseudonymizer(b"0123456789abcdef0123456789abcdef")
>>> p.pseudonym("email", "Alice@Corp.com") == p.pseudonym("email", "alice@corp.com ")
True
>>> marker("password")
'[REDACTED:password]'
```
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import struct
from collections.abc import Callable
from collections.abc import Mapping

from amber import _words
from amber.errors import KeyMissing

__all__ = [
    "FOREIGN_MARKER",
    "KEY_ENV",
    "MARKER_RE",
    "MIN_KEY_BYTES",
    "PSEUDONYM_KINDS",
    "PSEUDONYM_VERSION",
    "Pseudonymizer",
    "is_foreign_marker",
    "is_marker",
    "is_synthetic",
    "load_key",
    "marker",
]

KEY_ENV = "AMBER_KEY"
"""The environment variable that holds the pseudonym key."""

MIN_KEY_BYTES = 16
"""The shortest key `load_key` accepts, in bytes of its UTF-8 text."""

PSEUDONYM_KINDS: tuple[str, ...] = (
    "address",
    "customer_id",
    "email",
    "first_name",
    "ip",
    "ipv6",
    "last_name",
    "name",
    "phone",
    "text",
    "username",
)
"""Every kind `Pseudonymizer.pseudonym` knows."""

PSEUDONYM_VERSION = 2
"""The generation of the pseudonym generators. 1: names, usernames, addresses and words came
from Faker's en_US providers; 2: from amber's own word lists (`amber._words`), no Faker. A
store or fixture made under another version holds other names, usernames, addresses and
words for the same inputs (emails change too, their names being drawn from the lists; IPs,
phones and ids do not). Pseudonyms are one-way: nothing can convert them."""

MARKER_RE = re.compile(r"\[REDACTED:[A-Za-z0-9_.:-]{1,64}\]")
"""Matches any marker `marker()` produces."""

_KEY_HELP = (
    "generate one with  export AMBER_KEY=$(python3 -c 'import secrets; "
    "print(secrets.token_hex(32))')  and keep it out of the repository"
)


def marker(rule: str) -> str:
    """The fixed replacement of a secret found by `rule`: `[REDACTED:<rule>]`."""
    return f"[REDACTED:{rule}]"


def is_marker(value: str) -> bool:
    """True when `value` is exactly one marker (what a redacted secret became)."""
    return value.startswith("[REDACTED:") and MARKER_RE.fullmatch(value) is not None


FOREIGN_MARKER = re.compile(
    r"\[(?:REDACTED|FILTERED|HIDDEN|MASKED|REMOVED|SECRET|SCRUBBED|OMITTED)\]"
    r"|<(?:REDACTED|FILTERED|HIDDEN|MASKED|REMOVED|SECRET|SCRUBBED|OMITTED)>"
    r"|\{(?:REDACTED|FILTERED|HIDDEN|MASKED)\}"
    r"|\*{3,}"
    r"|(?<![A-Za-z0-9])(?:x{4,}|X{4,})(?![A-Za-z0-9])"
    r"|(?<![A-Za-z0-9_\[])(?:REDACTED|FILTERED|SCRUBBED)(?![A-Za-z0-9_:])"
    # a generated test's placeholder for a masked credential (`{{amber:password}}`): the test
    # identity fills it at run time, from amber.yaml; nothing was kept there
    r"|\{\{amber:[^{}\s]{1,64}\}\}",
    re.IGNORECASE,
)
"""Other tools' redaction markers (Rails' `[FILTERED]`, `***`, `<redacted>`), and generated
tests' placeholders: what they stand for is not in the text."""


def is_foreign_marker(value: str) -> bool:
    """True when `value` is exactly another tool's redaction marker or a placeholder (a
    masked value's stand-in already: a key rule keeps it as it is)."""
    return len(value) <= 80 and FOREIGN_MARKER.fullmatch(value.strip()) is not None


def load_key(env: Mapping[str, str] = os.environ) -> bytes:
    """The pseudonym key: the UTF-8 bytes of `AMBER_KEY`, surrounding whitespace removed.

    Any text of at least `MIN_KEY_BYTES` (16) bytes is accepted and used as is; hex is *not*
    decoded (it does not need to be: HMAC takes a key of any length, and 64 hex digits from
    `secrets.token_hex(32)` carry the full 256 bits either way).

    *Raises:* `KeyMissing` when the variable is unset, empty or shorter than 16 bytes.
    """
    raw = env.get(KEY_ENV)
    if raw is None or not raw.strip():
        raise KeyMissing(f"{KEY_ENV} is not set: {_KEY_HELP}")
    key = raw.strip().encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise KeyMissing(
            f"{KEY_ENV} is too short ({len(key)} bytes, at least {MIN_KEY_BYTES} needed): "
            f"{_KEY_HELP}"
        )
    return key


# -- synthetic ranges -------------------------------------------------------------------

_RESERVED_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
_RESERVED_TLDS = ("test", "example", "invalid", "localhost")
_TEST_NETS = (
    ipaddress.ip_network("192.0.2.0/24"),
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("203.0.113.0/24"),
)
_TEST_NET_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")
_DOC_V6 = ipaddress.ip_network("2001:db8::/32")
_FICTIONAL_PHONE = re.compile(r"55501[0-9]{2}$")


_RESERVED_EMAIL_SUFFIXES = tuple("." + d for d in _RESERVED_EMAIL_DOMAINS)


def _is_reserved_email(value: str) -> bool:
    domain = value.rpartition("@")[2].lower().rstrip(".")
    if domain in _RESERVED_EMAIL_DOMAINS or domain.endswith(_RESERVED_EMAIL_SUFFIXES):
        return True
    return domain.rpartition(".")[2] in _RESERVED_TLDS


def _is_reserved_ip(value: str) -> bool:
    try:
        addr = ipaddress.ip_address(value.strip("[]").split("%")[0])
    except ValueError:
        return False
    if addr.version == 4:
        return any(addr in net for net in _TEST_NETS)
    return addr in _DOC_V6


def _is_reserved_phone(value: str) -> bool:
    digits = "".join(c for c in value if c.isdigit())
    return _FICTIONAL_PHONE.search(digits) is not None


def is_synthetic(kind: str, value: str) -> bool:
    """True when `value` lies in the synthetic range pseudonyms of `kind` are drawn from.

    Only the recognisable kinds answer: `email` (reserved domains and the `.test`,
    `.example`, `.invalid`, `.localhost` top-level domains), `ip`/`ipv6` (documentation
    networks) and `phone` (555-01xx). Every other kind answers False.
    """
    if kind == "email":
        return _is_reserved_email(value)
    if kind in ("ip", "ipv6"):
        return _is_reserved_ip(value)
    if kind == "phone":
        return _is_reserved_phone(value)
    return False


# -- the pseudonymizer ------------------------------------------------------------------


_CACHE_MAX = 65536
_XOR_36 = bytes(b ^ 0x36 for b in range(256))
_XOR_5C = bytes(b ^ 0x5C for b in range(256))


class Pseudonymizer:
    """Deterministic, keyed fakes for identifying values.

    **Parameters:**

    * `key` - the secret HMAC key, usually `load_key()`.

    The same key and input always give the same pseudonym, in any process; another key gives
    another one. Names, usernames, addresses and words are drawn from amber's own word lists
    (`amber._words`) by bytes of the HMAC of the input, so the output depends on nothing
    outside amber; it changes only with `PSEUDONYM_VERSION`.
    """

    def __init__(self, key: bytes, *, trust_ranges: bool = False) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise KeyMissing(
                f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes: {_KEY_HELP}"
            )
        self._key = bytes(key)
        # HMAC-SHA256 as its definition (RFC 2104) from two hashes keyed once, copied per
        # message: ~1.7x faster than `hmac.new` and than `hmac.digest` (which looks the
        # digest up by name on every call), with the same output
        block = self._key if len(self._key) <= 64 else hashlib.sha256(self._key).digest()
        block = block.ljust(64, b"\0")
        self._inner = hashlib.sha256(block.translate(_XOR_36))
        self._outer = hashlib.sha256(block.translate(_XOR_5C))
        # kind -> (value -> pseudonym): one bounded dict per kind (a stream of new emails
        # does not flush the names and ids)
        self._cache: dict[str, dict[str, str]] = {}
        # `trust_ranges`: every value in a synthetic range counts as own output (for
        # `amber scan`, which has no key to check a tag with)
        self._trust_ranges = trust_ranges
        # the octets (per TEST-NET prefix) and lines (per area) the key tags, computed once
        self._octets: dict[str, frozenset[int]] = {}
        self._lines: dict[int, frozenset[int]] = {}

    def tag(self, kind: str, body: str) -> bytes:
        """The keyed tag of a pseudonym's `body` (the pseudonym without its tagged part)."""
        msg = b"amber-tag\0" + kind.encode() + b"\0" + body.encode("utf-8", "surrogatepass")
        return self._hmac(msg)

    def _hmac(self, msg: bytes) -> bytes:
        """HMAC-SHA256(key, msg)."""
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def is_own(self, kind: str, value: str) -> bool:
        """Is `value` a pseudonym of `kind` this key made (or could have made)?

        Only values in the synthetic ranges (`is_synthetic`) can be, and only those whose
        tag checks out under this key: a documentation value from real traffic
        (`alice@example.com`, `192.0.2.1`, `+1-212-555-0100`) is not, except by chance (1 in
        100 emails of the pseudonym's shape, 1 in 8 TEST-NET addresses, 1 in 16 555-01xx
        lines, 1 in 65536 IPv6 documentation addresses).
        """
        if not is_synthetic(kind, value):
            return False
        if self._trust_ranges:
            return True
        if kind == "email":
            return self._own_email(value)
        if kind in ("ip", "ipv6"):
            return self._own_ip(value)
        return self._own_phone(value)

    def _own_email(self, value: str) -> bool:
        m = _EMAIL_SHAPE.fullmatch(value)
        if m is None:
            return False
        first, last, n, domain = m.groups()
        return self.tag("email", f"{first}.{last}@{domain}")[0] % 100 == int(n)

    def _own_ip(self, value: str) -> bool:
        try:
            addr = ipaddress.ip_address(value.strip("[]"))
        except ValueError:
            return False
        if addr.version == 4:
            prefix, _, octet = str(addr).rpartition(".")
            return self._ip_tagged(prefix + ".", int(octet))
        groups = addr.exploded.split(":")
        body = ":".join(f"{int(g, 16):x}" for g in groups[2:7])
        return int(groups[7], 16) == int.from_bytes(self.tag("ipv6", body)[:2], "big")

    def _ip_tagged(self, prefix: str, octet: int) -> bool:
        found = self._octets.get(prefix)
        if found is None:
            # one tag per prefix, expanded to a byte per octet: tagged when it is 0 mod 8
            stream = _stream(self.tag("ip", prefix), 256)
            found = frozenset(o for o in range(1, 255) if stream[o] % 8 == 0)
            self._octets[prefix] = found
        return octet in found

    def _own_phone(self, value: str) -> bool:
        digits = "".join(c for c in value if c.isdigit())
        if len(digits) != 11 or digits[0] != "1" or digits[4:9] != "55501":
            return False
        return self._phone_tagged(int(digits[1:4]), int(digits[9:11]))

    def _phone_tagged(self, area: int, line: int) -> bool:
        return line in self._tagged_lines(area)

    def _tagged_lines(self, area: int) -> frozenset[int]:
        found = self._lines.get(area)
        if found is None:
            # one tag per area, expanded to a byte per line: tagged when it is 0 mod 16
            stream = _stream(self.tag("phone", str(area)), 100)
            found = frozenset(n for n in range(100) if stream[n] % 16 == 0)
            if len(self._lines) < 1024:  # 799 areas at most
                self._lines[area] = found
        return found

    def digest(self, kind: str, value: str) -> bytes:
        """HMAC-SHA256(key, kind + NUL + normalized value): the seed of a pseudonym."""
        msg = (
            kind.encode("utf-8") + b"\0" + _normalize(kind, value).encode("utf-8", "surrogatepass")
        )
        return self._hmac(msg)

    def pseudonym(self, kind: str, value: str) -> str:
        """The pseudonym of `value` as a `kind` (one of `PSEUDONYM_KINDS`); `value` itself
        when it is this key's own pseudonym of that kind (`is_own`).

        *Raises:* `ValueError` for an unknown kind.
        """
        cache = self._cache.get(kind)
        if cache is not None:
            found = cache.get(value)
            if found is not None:
                return found
        maker = _MAKERS.get(kind)
        if maker is None:
            raise ValueError(
                f"unknown pseudonym kind {kind!r}; expected one of {', '.join(PSEUDONYM_KINDS)}"
            )
        if cache is None:
            cache = self._cache[kind] = {}
        if kind in _TAGGED_KINDS and self.is_own(kind, value):
            result = value  # its own output: a pseudonym of a pseudonym is itself
        else:
            result = maker(self, self.digest(kind, value), value)
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[value] = result
        return result


def _normalize(kind: str, value: str) -> str:
    value = value.strip()
    if kind in ("email", "username"):
        return value.lower()
    if kind in ("ip", "ipv6"):
        try:
            return str(ipaddress.ip_address(value.strip("[]")))
        except ValueError:
            return value.lower()
    if kind == "phone":
        return ("+" if value.startswith("+") else "") + "".join(c for c in value if c.isdigit())
    return value


def _stream(digest: bytes, n: int) -> bytes:
    """`n` pseudo-random bytes expanded from `digest` (SHAKE-256)."""
    return hashlib.shake_256(digest).digest(n)


_U32 = struct.Struct(">I").unpack_from  # (the 4 bytes at an offset, big-endian: no slice)
# the name lists in lower case, for emails and usernames (the same index picks the same name)
_FIRST_LOWER = tuple(w.lower() for w in _words.FIRST_NAMES)
_LAST_LOWER = tuple(w.lower() for w in _words.LAST_NAMES)


def _pick(words: tuple[str, ...], digest: bytes, at: int) -> str:
    """The word of `words` that the 4 digest bytes at `at` choose (bias below 1 in 10**6)."""
    n: int = _U32(digest, at)[0]
    return words[n % len(words)]


def _email(p: Pseudonymizer, digest: bytes, value: str) -> str:
    first = _pick(_FIRST_LOWER, digest, 0)
    last = _pick(_LAST_LOWER, digest, 4)
    domain = _RESERVED_EMAIL_DOMAINS[digest[8] % 3]
    return f"{first}.{last}{p.tag('email', f'{first}.{last}@{domain}')[0] % 100}@{domain}"


def _name(p: Pseudonymizer, digest: bytes, value: str) -> str:
    return f"{_pick(_words.FIRST_NAMES, digest, 0)} {_pick(_words.LAST_NAMES, digest, 4)}"


def _first_name(p: Pseudonymizer, digest: bytes, value: str) -> str:
    return _pick(_words.FIRST_NAMES, digest, 0)


def _last_name(p: Pseudonymizer, digest: bytes, value: str) -> str:
    return _pick(_words.LAST_NAMES, digest, 4)


def _username(p: Pseudonymizer, digest: bytes, value: str) -> str:
    first = _pick(_FIRST_LOWER, digest, 0)
    last = _pick(_LAST_LOWER, digest, 4)
    style = digest[8] % 3
    n = digest[9] % 100
    if style == 0:
        return f"{first}{last[:1]}{n}"
    if style == 1:
        return f"{first}_{last}"
    return f"{first[:1]}{last}{n}"


def _address(p: Pseudonymizer, digest: bytes, value: str) -> str:
    """`<number> <street> <suffix>[ Apt. n| Suite n], <town>, <state> <zip>`."""
    number = 100 + int.from_bytes(digest[0:2], "big") % 9900
    street = f"{_pick(_words.STREETS, digest, 2)} {_pick(_words.STREET_SUFFIXES, digest, 6)}"
    unit = digest[10] % 4
    if unit == 0:
        street += f" Apt. {1 + digest[11] % 99}"
    elif unit == 1:
        street += f" Suite {100 + int.from_bytes(digest[11:13], 'big') % 900}"
    city = _pick(_words.CITIES, digest, 13)
    state = _words.STATES[digest[17] % len(_words.STATES)]
    zipcode = 10000 + int.from_bytes(digest[18:21], "big") % 90000
    return f"{number} {street}, {city}, {state} {zipcode}"


def _text(p: Pseudonymizer, digest: bytes, value: str) -> str:
    """As many words as the input has (1 to 12), from `amber._words.WORDS`."""
    n = max(1, min(12, len(value.split())))
    stream = _stream(digest, 4 * n)
    return " ".join(_pick(_words.WORDS, stream, 4 * i) for i in range(n))


def _ip(p: Pseudonymizer, digest: bytes, value: str) -> str:
    if ":" in value.strip("[]"):
        return _ipv6(p, digest, value)
    prefix = _TEST_NET_PREFIXES[digest[0] % 3]
    start = digest[1] % 254
    for j in range(254):  # the first octet from `start` on that the key tags (1 in 8)
        octet = 1 + (start + j) % 254
        if p._ip_tagged(prefix, octet):
            return f"{prefix}{octet}"
    return f"{prefix}{1 + start}"  # no tagged octet at all (about 1 in 10**14 keys)


def _ipv6(p: Pseudonymizer, digest: bytes, value: str) -> str:
    body = ":".join(f"{int.from_bytes(digest[i : i + 2], 'big'):x}" for i in range(0, 10, 2))
    tag = int.from_bytes(p.tag("ipv6", body)[:2], "big")
    return str(ipaddress.IPv6Address(f"2001:db8:{body}:{tag:x}"))


def _phone(p: Pseudonymizer, digest: bytes, value: str) -> str:
    first = int.from_bytes(digest[0:2], "big") % 799
    start = digest[2] % 100
    for a in range(799):
        area = 201 + (first + a) % 799  # 201..999: a valid NANP area
        tagged = p._tagged_lines(area)
        for j in range(100):  # the first line from `start` on that the key tags (1 in 16)
            line = (start + j) % 100
            if line in tagged:
                return f"+1-{area}-555-01{line:02d}"
    return f"+1-{201 + first}-555-01{start:02d}"  # no tagged line at all


_EMAIL_SHAPE = re.compile(r"([a-z]+)\.([a-z]+)([0-9]{1,2})@(example\.(?:com|org|net))")
_TAGGED_KINDS = frozenset({"email", "ip", "ipv6", "phone"})

_ID_PREFIX = re.compile(r"^[A-Za-z]{1,8}[_-]")
_HEXLIKE = re.compile(r"(?:[0-9a-f]|-)+|(?:[0-9A-F]|-)+")


# a stream byte -> the digit `"0123456789"[b % 10]` (`"123456789"[b % 9]`), as ASCII
_DIGIT_0_9 = bytes(48 + b % 10 for b in range(256))
_DIGIT_1_9 = bytes(49 + b % 9 for b in range(256))


def _customer_id(p: Pseudonymizer, digest: bytes, value: str) -> str:
    """Same length and character classes: digits stay digits, letters keep their case.

    A short alphabetic prefix ending in `_` or `-` (`cus_`, `usr-`) is kept, as are
    punctuation characters, so the id keeps its recognisable shape. A leading non-zero
    digit stays non-zero, so an integer id stays an integer of the same width. A hex id of
    8+ characters (a UUID, a digest) stays hex.
    """
    value = value.strip()
    if value.isdigit() and value.isascii():
        # digits only (an integer id): what the loop below gives, by two byte tables
        stream = _stream(digest, len(value))
        head = (_DIGIT_1_9 if value[0] != "0" else _DIGIT_0_9)[stream[0]]
        return chr(head) + stream[1:].translate(_DIGIT_0_9).decode("ascii")
    m = _ID_PREFIX.match(value)
    keep = m.end() if m else 0
    stream = _stream(digest, max(1, len(value)))
    out = [value[:keep]]
    body = value[keep:]
    if len(body) >= 8 and _HEXLIKE.fullmatch(body) and not body.isdigit():
        # a UUID or hex digest stays valid hex (case kept)
        for i in range(keep, len(value)):
            c = value[i]
            if c == "-":
                out.append(c)
            else:
                h = "0123456789abcdef"[stream[i] % 16]
                out.append(h.upper() if c.isupper() else h)
        return "".join(out)
    for i in range(keep, len(value)):
        c = value[i]
        b = stream[i]
        if c.isascii() and c.isdigit():
            if i == keep and c != "0":
                out.append("123456789"[b % 9])
            else:
                out.append("0123456789"[b % 10])
        elif c.isascii() and c.islower():
            out.append("abcdefghijklmnopqrstuvwxyz"[b % 26])
        elif c.isascii() and c.isupper():
            out.append("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[b % 26])
        elif c.isascii():
            out.append(c)
        else:
            out.append("x")
    return "".join(out)


_MAKERS: dict[str, Callable[[Pseudonymizer, bytes, str], str]] = {
    "address": _address,
    "customer_id": _customer_id,
    "email": _email,
    "first_name": _first_name,
    "ip": _ip,
    "ipv6": _ipv6,
    "last_name": _last_name,
    "name": _name,
    "phone": _phone,
    "text": _text,
    "username": _username,
}
