"""Value detectors: secrets and identifiers found by their shape, wherever they appear.

Every detector is one alternative of a single compiled regex (`re.ASCII`, explicit
character classes), so a string without a candidate costs one C-level `search`. A match
is then checked in Python (the checks of `_ids.py`: IIN family and Luhn for cards,
mod-97 for IBANs, checksums for national ids; `ipaddress` for IPs) before anything is
replaced; a candidate that fails its check lets the group's later detectors try the same
place, and the scan goes on from the next character. Vendor credential shapes and the
token boundaries (`LEFT`, `RIGHT`: a token glued after `_`, `,`, `%20` or `\\n` is found
too) come from `_vendors.py`. Secrets become markers (`[REDACTED:<rule>]`); identifying
values (emails, phones, IPs) become pseudonyms.

Nothing here ever flags a marker or a pseudonym: this key's own pseudonyms
(`Pseudonymizer.is_own`: in a synthetic range and carrying the key's tag) and markers are
left alone, which makes sanitizing idempotent. Encoded values are read through
(`_encoded.py`: percent and `\\u` escapes, base64 and hex tokens).

One module because the detectors, the groups they are compiled into and the cheap gates in
front of each group are one unit: a detector added without its group and gate never runs,
and the checks after a match decide where the scan resumes.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from amber._model import Redaction
from amber._model import RedactionAction
from amber._pseudonym import Pseudonymizer
from amber._pseudonym import is_foreign_marker
from amber._pseudonym import is_marker
from amber._pseudonym import marker

from ._encoded import decoded_token
from ._encoded import decodes_nowhere
from ._encoded import encoded_tokens
from ._encoded import hex_not_text
from ._encoded import might_be_encoded
from ._encoded import percent_words
from ._encoded import quoted_runs
from ._encoded import soft_breaks_joined
from ._encoded import unicode_words
from ._fields import shaped_id
from ._ids import card_ok
from ._ids import iban_ok
from ._ids import luhn_ok
from ._ids import nino_ok
from ._ids import person_name_ok
from ._ids import phone_ok
from ._ids import ssn_ok
from ._ids import steuer_id_ok
from ._keys import KeyClassifier
from ._vendors import LEFT
from ._vendors import MIDDLE_HINTS
from ._vendors import MIDDLE_SHAPES
from ._vendors import MORE_HINTS
from ._vendors import MORE_SHAPES
from ._vendors import RIGHT
from ._vendors import VENDOR_HINTS
from ._vendors import VENDOR_SHAPES

_card_ok = card_ok  # the name the JSON walker imports

__all__ = [
    "DETECTORS",
    "CustomRule",
    "Hit",
    "ValueScanner",
    "iban_ok",
    "luhn_ok",
]

# -- validators ---------------------------------------------------------------------------


def _basic_ok(cred: str) -> bool:
    try:
        raw = base64.b64decode(cred + "=" * (-len(cred) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in raw


def _ipv4_keep(text: str) -> bool:
    """Addresses that identify nobody: unspecified, loopback, broadcast/netmasks."""
    return text.startswith(("0.", "127.", "255."))


def _entropy(text: str) -> float:
    """Shannon entropy of `text`, in bits per character."""
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _random_key_ok(text: str) -> bool:
    """A random key, not a word or an encoding of one: upper case, lower case and digits,
    more than 4.3 bits per character (40 random characters of base64's alphabet have ~4.8;
    camelCase words ~3.9), and not base64 of text (a cursor `eyJpZCI6...`)."""
    if text.isalpha() or text.isdigit() or text.islower() or text.isupper():
        return False
    if not any(c.isdigit() for c in text) or _entropy(text) < 4.3:
        return False
    return decoded_token(text) is None


# -- detectors ----------------------------------------------------------------------------

_V = r"[A-Za-z0-9_.~+/=-]"  # token characters


@dataclass(frozen=True, slots=True)
class Detector:
    """One built-in value rule.

    `group` names the regex group to replace (None: the whole match); `action` is `mask`
    or a pseudonym kind; `check` validates the replaced text.
    """

    name: str
    ident: str
    pattern: str
    action: str = "mask"
    group: str | None = None
    check: Callable[[str], bool] | None = None
    secret: bool = True


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "pem-private-key", "pem",
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|.*)",
    ),
    Detector(
        "jwt", "jwt",
        LEFT + r"(?<!-)ey[A-Za-z0-9_-]{17,}\.ey[A-Za-z0-9_/\\-]{17,}\."
        r"(?:[A-Za-z0-9_/\\-]{10,}={0,2})?",
    ),
    Detector(
        "auth-credentials", "auth",
        LEFT + r"(?i:(?:bearer|token)[ \t]+)(?P<auth_v>" + _V + r"{8,}+)",
        group="auth_v", check=lambda v: len(v) >= 16 or any(c.isdigit() for c in v),
    ),
    Detector(
        "auth-credentials", "basic",
        LEFT + r"(?i:basic[ \t]+)(?P<basic_v>[A-Za-z0-9+/]{4,}+={0,2})",
        group="basic_v", check=_basic_ok,
    ),
    Detector(
        "secret-key-value", "kv",
        # `key = value`, `"key": "value"`, `key: value`, and a Ruby, PHP or Perl hash's
        # `"key" => "value"` (a quoted value only: `token => token.trim()` is JavaScript);
        # the value is captured in a lookahead
        # so that, when the key is not sensitive, the rules still run inside the value.
        # A quoted key may hold spaces (`"new password": ...`); an unquoted one may not.
        r"(?<![A-Za-z0-9_.\\-])(?P<kv_q>\\?[\"'])?"
        r"(?P<kv_k>[A-Za-z_][A-Za-z0-9_.-]{0,79}+(?(kv_q)(?:[ ][A-Za-z0-9_.-]{1,40}+){0,3}+))"
        r"(?(kv_q)(?P=kv_q))[ \t]*(?P<kv_s>=>(?=[ \t]*\\?[\"'])|[:=])[ \t]*(?=(?P<kv_v>"
        r"\\?\"(?:[^\"\\\r\n]|\\[^\"\r\n]){0,1024}+(?:\\?\")?"
        r"|'[^'\r\n]{0,1024}+'?"
        r"|(?i:bearer|basic|digest|token|negotiate)[ \t]+[^\s\"'&,;<>]{1,1024}+"
        r"|[^\s\"'&,;<>{}\[\]\\]{1,256}+))",
    ),
    # credentials on a command line or in a client's config, as logs and errors quote them
    Detector(
        "cli-credentials", "curlu",
        r"\bcurl\b[^\n]{0,200}?[ \t](?:-u|--user)[ =]?['\"]?[^\s:'\"]{1,128}:"
        r"(?P<curlu_v>[^\s'\"]{1,256})",
        group="curlu_v",
    ),
    Detector(
        "cli-credentials", "mysqlp",
        r"\bmysql(?:dump|admin|sh|import)?\b[^\n]{0,200}?[ \t]-p"
        r"(?P<mysqlp_v>[^\s'\"-][^\s'\"]{2,255})",
        group="mysqlp_v",
    ),
    Detector(
        "cli-credentials", "flag",
        r"(?<![\w-])--(?:password|passwd|pass|token|api-key|apikey|secret|client-secret"
        r"|auth-token|access-token)[= ](?P<flag_v>\"[^\"\n]{1,256}\"|'[^'\n]{1,256}'"
        r"|[^\s'\"-][^\s'\"]{0,255})",
        group="flag_v",
    ),
    Detector(
        "cli-credentials", "oracle",
        r"(?<![A-Za-z0-9])jdbc:oracle:[a-z0-9]+:[^/\s:@]{1,128}/(?P<oracle_v>[^@\s/]{1,256})@",
        group="oracle_v",
    ),
    Detector(
        "cli-credentials", "netrc",
        r"\bmachine[ \t]+\S+[ \t]+login[ \t]+\S+[ \t]+password[ \t]+(?P<netrc_v>[^\s\"']{1,256})",
        group="netrc_v",
    ),
    Detector(
        "auth-credentials", "smtpplain",
        r"\bAUTH[ \t]+PLAIN[ \t]+(?P<smtpplain_v>[A-Za-z0-9+/]{8,}={0,2})",
        group="smtpplain_v",
    ),
    Detector(
        # a certificate subject's or an LDAP entry's common name when it is a person's
        # (`CN=Jane Roe,OU=Finance,O=Acme`, `/C=ZA/O=Acme/CN=Jane Roe`); a host's
        # (`CN=api.acme.io`) or an authority's (`CN=Acme Issuing CA 01`) is kept
        "dn-common-name", "cn",
        r"(?<![A-Za-z0-9])(?:CN|cn)=(?P<cn_v>[^,/+;=\"<>\r\n]{3,64}?)[ \t]*(?=[,/+;\"]|$)",
        action="name", group="cn_v", check=person_name_ok, secret=False,
    ),
    Detector(
        "url-userinfo", "url",
        # (an empty user too: Redis' `redis://:password@host`)
        r"//(?P<url_u>[^/\s:@\"'<>\[\]]{0,256}):(?P<url_p>[^/\s@\"'<>\[\]]{1,256})@"
        r"(?=[A-Za-z0-9\[])",
        group="url_p",
    ),
    Detector("aws-access-key-id", "awsid",
             LEFT + r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}" + RIGHT),
    Detector(
        "aws-secret-key", "awssecret",
        r"(?i:aws)[A-Za-z0-9_ .-]{0,20}?[\"'=: ]{1,4}(?P<awssecret_v>[0-9a-zA-Z/+]{40})"
        r"(?![0-9a-zA-Z/+])",
        group="awssecret_v",
    ),
    Detector(
        # an AWS secret access key without "aws" nearby: 40 characters of base64's alphabet,
        # not part of a longer run, random (`_random_key_ok`: mixed case and digits, high
        # entropy, not base64 of text such as a pagination cursor)
        "aws-secret-key", "awsrandom",
        # (or right after `name=`: `key=...` in a log line; base64 has no `=` inside)
        r"(?:(?<![A-Za-z0-9%/+=])|(?<=%[0-9A-Fa-f]{2})|(?<=\\[nrt])|(?<=[A-Za-z0-9_]=))"
        r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
        check=_random_key_ok,
    ),
    Detector("github-token", "gh",
             LEFT + r"(?:gh[pousr]_[0-9a-zA-Z]{36,255}|github_pat_[0-9a-zA-Z_]{40,255})" + RIGHT),
    Detector("stripe-key", "stripe",
             LEFT + r"(?:(?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99}|whsec_[a-zA-Z0-9]{24,})"
             + RIGHT),
    Detector("slack-token", "slack",
             LEFT + r"xox[baprseo]-[0-9A-Za-z-]{10,}+"),
    Detector(
        "slack-webhook", "slackhook",
        # also percent-encoded, as a URL inside a query or form value
        r"hooks\.slack\.com(?:/|%2[Ff])(?:services|workflows|triggers)(?:/|%2[Ff])"
        r"(?P<slackhook_v>(?:[A-Za-z0-9+/_-]|%2[Ff]){20,})",
        group="slackhook_v",
    ),
    Detector("google-api-key", "google", LEFT + r"AIza[0-9A-Za-z_-]{35}"),
    Detector("sendgrid-key", "sendgrid", LEFT + r"SG\.[0-9A-Za-z_-]{16,32}\.[0-9A-Za-z_-]{16,64}"),
    Detector(
        "twilio-key", "twilio",
        r"(?i:twilio)[\s\S]{0,40}?\b(?P<twilio_v>(?:SK|AC)[0-9a-fA-F]{32})\b",
        group="twilio_v",
    ),
    *(Detector(v.name, v.ident, v.pattern, group=v.group) for v in VENDOR_SHAPES),
    *(Detector(v.name, v.ident, v.pattern, group=v.group) for v in MORE_SHAPES),
    *(Detector(v.name, v.ident, v.pattern, group=v.group) for v in MIDDLE_SHAPES),
    Detector(
        "email", "email",
        # a quoted local part too (`"sam.o'neil"@corp.io`, `"john doe"@corp.io`; its quotes
        # escaped in JSON text)
        r"(?:(?<![A-Za-z0-9._%+\u00c0-\uffff-])[A-Za-z0-9._%+\u00c0-\uffff-]{1,64}+"
        r"|(?<![\w\\])\\?\"[^\"\\\r\n<>@,;:]{1,64}+\\?\")"
        # internationalized domains too: `müller-gmbh.de`, `почта.рф`, `例子.中国`
        r"@(?:[A-Za-z0-9\u00c0-\uffff](?:[A-Za-z0-9\u00c0-\uffff-]{0,61}"
        r"[A-Za-z0-9\u00c0-\uffff])?\.)+(?:[A-Za-z]{2,24}|[\u00c0-\uffff]{2,24})"
        r"(?![A-Za-z0-9\u00c0-\uffff-]|\.[A-Za-z0-9\u00c0-\uffff])",
        action="email", secret=False,
    ),
    Detector(
        # the display name of an address (`Jane Roe <jane@corp.io>`, `"Roe, Jane" <...>`):
        # a person's name, as mail headers and webhooks carry it
        "email-display-name", "dname",
        r"(?:(?<=\")[^\"\\\n<>@]{1,64}(?=\\?\"[ \t]*<[^<>@\s]{1,64}@)"
        r"|(?<![\w.'-])[A-Z\u00c0-\u00de][A-Za-z\u00df-\u00ff.'-]*"
        r"(?:[ ][A-Z\u00c0-\u00de][A-Za-z\u00df-\u00ff.'-]*){1,3}(?=[ \t]*<[^<>@\s]{1,64}@))",
        action="name", secret=False,
    ),
    Detector(
        "iban", "iban",
        LEFT + r"[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?" + RIGHT,
        check=iban_ok,
    ),
    Detector(
        # in lower case too, grouped or not (a last group that took the next word, `... 1332
        # then`, is dropped when the whole fails its check: `_handle`)
        "iban", "ibanlc",
        LEFT + r"[a-z]{2}[0-9]{2}(?:[ ]?[a-z0-9]{4}){2,7}(?:[ ]?[a-z0-9]{1,4})?" + RIGHT,
        check=iban_ok,
    ),
    Detector(
        "credit-card", "card",
        # not inside a longer alphanumeric token: a Luhn-valid run of 13+ digits inside a
        # hex id, hash or trace id (0.06 % of random UUIDs hold one) is not a card, nor is
        # the tail of a number after a decimal point
        LEFT + r"(?<![0-9][.-])[0-9](?:[ .-]?[0-9]){11,18}(?![0-9A-Za-z]|[.,-][0-9])",
        check=card_ok,
    ),
    Detector("us-ssn", "ssn", LEFT + r"(?<!-)[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9-])",
             check=ssn_ok),
    Detector(
        "uk-nino", "nino",
        LEFT + r"[A-Z]{2}(?P<nino_s>[ ]?)[0-9]{2}(?P=nino_s)[0-9]{2}(?P=nino_s)[0-9]{2}"
        r"(?P=nino_s)[A-D]" + RIGHT,
        check=nino_ok,
    ),
    Detector("de-tax-id", "steuer", LEFT + r"[1-9][0-9]{10}(?![0-9])", check=steuer_id_ok),
    Detector("telegram-bot-token", "telegram",
             LEFT + r"[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])"),
    Detector(
        "phone", "phone",
        LEFT + r"(?<![+.-])(?:"
        r"(?:\+|\+?00[ ]?)[1-9][0-9]{0,3}(?:[ .-]?\(?[0-9]{1,5}\)?){1,6}[ .-]?[0-9]{2,5}"
        r"|\([2-9][0-9]{2}\)[ ]?[2-9][0-9]{2}-[0-9]{4}"
        r"|[2-9][0-9]{2}(?P<phone_s>[.-])[2-9][0-9]{2}(?P=phone_s)[0-9]{4}"
        r")(?![0-9A-Za-z]|[.-][0-9])",
        action="phone", check=phone_ok, secret=False,
    ),
    Detector(
        "ipv6", "ipv6",
        r"(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}"
        r"[0-9]{1,3})?(?![0-9A-Za-z:]|\.[0-9])",
        action="ipv6", secret=False,
    ),
    Detector(
        "ipv4", "ipv4",
        r"(?<![0-9A-Za-z.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}"
        # `8.8.4.4-lts`, `1.2.3.4+build7`: a version with a suffix, not an address
        r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?![0-9]|\.[0-9]|[-+][A-Za-z])",
        action="ip", secret=False,
    ),
)  # fmt: skip

DETECTOR_NAMES: tuple[str, ...] = tuple(dict.fromkeys(d.name for d in DETECTORS))


@dataclass(frozen=True, slots=True)
class CustomRule:
    """A configured value rule: `action` is `mask` or `pseudonym` (then `kind` is used)."""

    name: str
    pattern: re.Pattern[str]
    action: Literal["mask", "pseudonym"] = "mask"
    kind: str = "text"


@dataclass(frozen=True, slots=True)
class Hit:
    """One value found: rule, span in the scanned text, and its replacement."""

    rule: str
    start: int
    end: int
    replacement: str
    action: RedactionAction


_MAX_DEPTH = 2
"""How many layers of encoding the scanner reads through (a URL-encoded word whose text
holds a base64 token is two)."""

_AUTH_SCHEME = re.compile(r"(?i)(bearer|basic|digest|token|negotiate)([ \t]+)")


# Detector groups: each runs only when its cheap gate (C-level checks) passes, and each
# compiled group starts with its prefix: a look-ahead on the characters a match can start
# with (and, for the digits group, the token boundary), so the regex engine rejects most
# positions with one test.
_GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("pem", ("pem",), "(?=[-])"),
    ("at", ("url", "email", "dname"), '(?=[/A-Za-z0-9._%+\u00c0-\uffff"\\\\-])'),
    ("kv", ("kv",), "(?=[A-Za-z_\\\\\"'])"),
    ("auth", ("auth", "basic"), "(?=[BbTt])"),
    (
        "tokens",
        (
            "jwt",
            "awsid",
            "awssecret",
            "gh",
            "stripe",
            "slack",
            "slackhook",
            "google",
            "sendgrid",
            "twilio",
            *(v.ident for v in VENDOR_SHAPES),
        ),
        "(?=[eAaghsrwxSTtWnpdkGEHq])",
    ),
    # rarer shapes, one gate for all (`_RARE_HINTS`), each at a token boundary: the vendor
    # prefixes added from gitleaks' current rules, vendor shapes told by their middle
    # (`Q~`, `.atlasv1.`), and credentials on command lines (`curl -u`, `--password=`)
    (
        "rare",
        (
            *(v.ident for v in MORE_SHAPES),
            *(v.ident for v in MIDDLE_SHAPES),
            "curlu",
            "mysqlp",
            "flag",
            "oracle",
            "netrc",
            "smtpplain",
            "cn",
        ),
        "(?=[-A-Za-z0-9_~.$])" + LEFT,
    ),  # fmt: skip
    # no detector of this group starts right after a letter or digit: the group rejects
    # such a place once (`LEFT`) instead of once per detector
    (
        "digits",
        ("iban", "card", "ssn", "nino", "steuer", "telegram", "phone", "ipv6", "ipv4"),
        "(?=[0-9A-Za-f:+(])" + LEFT,
    ),
    # its own scan: in the group above, every lowercase letter would try every detector
    ("lower", ("ibanlc",), "(?=[a-z])"),
    # 40-character random keys: only at the start of a run of base64's alphabet
    ("random", ("awsrandom",), "(?=[A-Za-z0-9/+])"),
)
# The groups each of whose matches starts at a token boundary: at the start of the text or
# right after a character that is not a letter or digit (`LEFT`, the `kv` and `awsrandom`
# look-behinds), or after a `%XX` or `\\n` escape. In text without `%` and `\\` the
# scanner searches them in their boundary form, `[^A-Za-z0-9]` and the group: the regex
# engine then skips every letter and digit in C instead of trying each detector there
# (`tests/core/sanitize/test_values.py` checks every detector of these groups).
_BOUNDED = frozenset(("kv", "auth", "digits", "lower", "random", "rare"))
_TOKEN_HINTS = (
    ".ey",
    "AKIA",
    "ASIA",
    "ABIA",
    "ACCA",
    "A3T",
    "aws",
    "AWS",
    "Aws",
    "gh",
    "github_pat_",
    "k_",
    "whsec_",
    "xox",
    "hooks.slack",
    "AIza",
    "SG.",
    "wilio",
    "WILIO",
    *VENDOR_HINTS,
)
# one C-level search for all the hints: a Python loop of `in` tests costs more than the
# regex once there are dozens of vendor prefixes


def _literals(words: tuple[str, ...]) -> str:
    """An alternation of `words` as a trie (`a(?:ws|ccess)` for `aws`, `access`): Python's
    regex engine tries a flat alternation's branches one by one at each position, so with
    a hundred vendor prefixes the trie is more than twice as fast."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:  # type: ignore[type-arg]
        if "" in node:
            return ""  # a shorter word matches already
        alts = [re.escape(ch) + build(node[ch]) for ch in sorted(node)]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return build(trie)


_TOKEN_HINT = re.compile(_literals(_TOKEN_HINTS))
_AUTH_HINTS = ("earer", "EARER", "asic", "ASIC", "oken", "OKEN")
_AUTH_HINT = re.compile("|".join(_AUTH_HINTS))
_DIGIT = re.compile(r"[0-9]")
_HAS_DIGIT = _DIGIT.search
_HAS_TOKEN_HINT = _TOKEN_HINT.search
_HAS_AUTH_HINT = _AUTH_HINT.search
_RARE_HINTS = (
    *MORE_HINTS, *MIDDLE_HINTS, "curl", "mysql", "--pass", "--token", "--api", "--secret",
    "--client-secret", "--auth-token", "--access-token", "jdbc:oracle", "machine", "AUTH",
    "CN=", "cn=",
)  # fmt: skip
_HAS_RARE = re.compile(_literals(_RARE_HINTS)).search
# either gate's hints, in one search (`_clean_plain`: most strings hold neither)
_HAS_HINT = re.compile(_literals((*_AUTH_HINTS, *_RARE_HINTS))).search


def _gate(group: str, s: str) -> bool:
    if group == "digits":
        return _DIGIT.search(s) is not None
    if group == "random":  # (`_hits` skips it for shorter text)
        return len(s) >= 40
    if group == "lower":  # the shortest IBAN has 15 characters
        return len(s) >= 15 and _DIGIT.search(s) is not None
    if group == "at":
        return "@" in s
    if group == "kv":
        return "=" in s or ":" in s
    if group == "tokens":
        return len(s) >= 16 and _TOKEN_HINT.search(s) is not None
    if group == "auth":
        return _HAS_AUTH_HINT(s) is not None
    if group == "rare":
        return _HAS_RARE(s) is not None
    return "-----BEGIN" in s  # pem


# The same gates as `_gate`, one function per group, with the length each group's shortest
# match needs folded in (`_hits` calls them without a chain of group-name tests). Most are
# a compiled pattern's own `search`, called without a Python frame; a length the group's
# regex needs anyway is left to it (the regex engine rejects shorter text at once).
_GATES: dict[str, Callable[[str], object]] = {
    "pem": re.compile("-----BEGIN").search,
    "at": re.compile("@").search,
    "kv": lambda s: "=" in s or ":" in s,
    "auth": _HAS_AUTH_HINT,
    "tokens": lambda s: len(s) >= 16 and _HAS_TOKEN_HINT(s) is not None,
    "digits": _HAS_DIGIT,
    "lower": _HAS_DIGIT,  # (an IBAN has 15 characters at least: the regex checks)
    "random": lambda s: len(s) >= 40,
    "rare": _HAS_RARE,
}


# Prose: lowercase ASCII words and spaces (descriptions, messages, bios). On it the gates of
# `pem`, `at`, `kv`, `digits` and `lower` never pass (each needs a character prose lacks: a
# `-`, `@`, `=` or `:`, a digit), and the others need only their lowercase hints.
_PROSE = re.compile("[a-z ]+").fullmatch
_LOWER_TOKEN_HINT = re.compile(
    _literals(tuple(h for h in _TOKEN_HINTS if h.isascii() and h.isalpha() and h.islower()))
).search
_PROSE_GATE_HINTS = ("earer", "asic", "oken")
_PROSE_GATES: dict[str, Callable[[str], object]] = {
    "auth": lambda s: "earer" in s or "asic" in s or "oken" in s,
    "tokens": lambda s: len(s) >= 16 and _LOWER_TOKEN_HINT(s) is not None,
    "random": _GATES["random"],
}

# What prose must hold for `_hits` to find anything in it: an auth or lowercase vendor hint
# (the gates of `auth` and `tokens`), or a word of 12 letters (`random` needs a run of 40,
# an encoded token one of 12). Prose without any is clean.
# (the hints as `in` tests: a regex of literal alternatives tries each at every place)
_PROSE_HINTS = (
    *_PROSE_GATE_HINTS,
    *(h for h in _TOKEN_HINTS if h.isascii() and h.isalpha() and h.islower()),
)
# prose whose words all have 11 letters at most, in one pass (possessive: no backtracking)
_SHORT_PROSE = re.compile("(?:[a-z]{0,11}+[ ])*+[a-z]{0,11}+").fullmatch

# Lowercase hex (UUIDs without dashes, hashes, trace ids): no vendor or auth hint is made of
# hex digits alone, and `pem`, `at` and `kv` need a `-`, `@`, `=` or `:`.
_HEX = re.compile("[0-9a-f]+").fullmatch
_HEX_GROUPS = frozenset(("digits", "lower", "random"))
# a compiled pattern's `match` and `search` (`_clean_plain`'s per-mask pairs)
_Match = Callable[[str], "re.Match[str] | None"]
_Search = Callable[[str], "re.Match[str] | None"]


class ValueScanner:
    """Applies the enabled detectors and the custom rules to text.

    **Parameters:**

    * `pseudonymizer` - makes the pseudonyms.
    * `keys` - decides whether the key of a `key=value` pair in text is sensitive.
    * `enabled` - detector names to run (default: all).
    * `custom` - configured rules, applied after the built-in detectors.
    """

    def __init__(
        self,
        pseudonymizer: Pseudonymizer,
        keys: KeyClassifier,
        *,
        enabled: Sequence[str] | None = None,
        custom: Sequence[CustomRule] = (),
    ) -> None:
        self._pseudo = pseudonymizer
        self._keys = keys
        wanted = set(DETECTOR_NAMES if enabled is None else enabled)
        self._detectors = {d.ident: d for d in DETECTORS if d.name in wanted}
        self.enabled = frozenset(d.name for d in self._detectors.values())
        self._custom = tuple(custom)
        self._memo: dict[str, tuple[str, tuple[tuple[str, RedactionAction], ...]]] = {}
        self._groups: list[tuple[str, re.Pattern[str]]] = []
        # (gate, group regex, its boundary form or None): see `_BOUNDED`
        self._gated: list[
            tuple[Callable[[str], object], re.Pattern[str], re.Pattern[str] | None]
        ] = []
        # the same for prose and lowercase hex (`_PROSE`, `_HEX`): only the groups whose
        # gate can pass on it
        self._gated_prose: list[
            tuple[Callable[[str], object], re.Pattern[str], re.Pattern[str] | None]
        ] = []
        self._gated_hex: list[
            tuple[Callable[[str], object], re.Pattern[str], re.Pattern[str] | None]
        ] = []
        # per detector, the detectors after it in its group, each compiled alone: tried at
        # the same place when its own match fails its check (`00 44 161 496 0742` is first
        # a card candidate, then a phone)
        self._later: dict[str, tuple[re.Pattern[str], ...]] = {}
        hex_patterns: list[str] = []
        bounded_patterns: list[str] = []
        bounded_groups: list[str] = []
        # the groups not in `_BOUNDED` (they may match anywhere) that are on: their gates
        # are tested inline by `_clean_plain`
        unbounded: set[str] = set()
        for group, idents, first in _GROUPS:
            dets = [self._detectors[i] for i in idents if i in self._detectors]
            if not dets:
                continue
            combined = "|".join(f"(?P<{d.ident}>{d.pattern})" for d in dets)
            pattern = f"{first}(?:{combined})"
            if group in _HEX_GROUPS:
                hex_patterns.append(pattern)
            if group in _BOUNDED:
                bounded_patterns.append(pattern)
                bounded_groups.append(group)
            else:
                unbounded.add(group)
            rx = re.compile(pattern, re.ASCII | re.DOTALL)
            bounded = (
                re.compile(f"[^A-Za-z0-9]{pattern}", re.ASCII | re.DOTALL)
                if group in _BOUNDED
                else None
            )
            self._groups.append((group, rx))
            self._gated.append((_GATES[group], rx, bounded))
            if group in _PROSE_GATES:
                self._gated_prose.append((_PROSE_GATES[group], rx, bounded))
            if group in _HEX_GROUPS:
                self._gated_hex.append((_GATES[group], rx, bounded))
            singles = [
                re.compile(f"(?P<{d.ident}>{d.pattern})", re.ASCII | re.DOTALL) for d in dets
            ]
            for i, d in enumerate(dets):
                self._later[d.ident] = tuple(singles[i + 1 :])
        # lowercase hex has no character outside letters and digits: a group's match in it
        # starts at 0 (see `_hits`), and one `match` of the hex groups together tells
        # whether any can match at all
        self._hex_start = (
            re.compile("|".join(f"(?:{p})" for p in hex_patterns), re.ASCII | re.DOTALL).match
            if hex_patterns
            else None
        )
        self._pem_on = "pem" in unbounded
        self._at_on = "at" in unbounded
        self._tokens_on = "tokens" in unbounded
        assert unbounded <= {"pem", "at", "tokens"}, "a new unbounded group needs its gate"
        # the `_BOUNDED` groups, at the start and in their boundary form, together: in text
        # without `%` and `\\`, when neither matches, no group of them does. Only the
        # groups whose gate passes on a text are put together for it (`_hits` never
        # searches the others there; `rare`'s pattern alone costs more than the rest): the
        # gates, one call per distinct gate function, give a mask of groups, and each
        # mask's pair of patterns is compiled once (`_bounded_for`)
        self._bounded_patterns = bounded_patterns
        gate_bits: dict[Callable[[str], object], int] = {}
        for n, group in enumerate(bounded_groups):
            gate = _GATES[group]
            gate_bits[gate] = gate_bits.get(gate, 0) | (1 << n)
        self._bounded_gates = tuple(gate_bits.items())
        # `_clean_plain` tests these gates in line when they are the ones it knows
        bits_of = dict(self._bounded_gates)
        self._kv_bits = bits_of.pop(_GATES["kv"], 0)
        self._digit_bits = bits_of.pop(_HAS_DIGIT, 0)
        self._random_bits = bits_of.pop(_GATES["random"], 0)
        self._auth_bits = bits_of.pop(_HAS_AUTH_HINT, 0)
        self._rare_bits = bits_of.pop(_HAS_RARE, 0)
        self._unrolled = not bits_of
        self._bounded_sets: dict[int, tuple[_Match, _Search] | None] = {}

    # -- public -----------------------------------------------------------------------

    def might_match(self, text: str) -> bool:
        """Could anything in `text` be replaced? (No Python work per match.)"""
        if self._custom or might_be_encoded(text):
            return True
        return any(_gate(g, text) and rx.search(text) is not None for g, rx in self._groups)

    def memo_lookup(
        self,
    ) -> Callable[[str], tuple[str, tuple[tuple[str, RedactionAction], ...]] | None] | None:
        """The memo's lookup (a result whose second item is empty: `text` is clean), for a
        caller that inlines `known_clean`; None with custom rules (nothing is known clean)."""
        return None if self._custom else self._memo.get

    def known_clean(self, text: str) -> bool:
        """Is `text` known to hold nothing `apply` replaces (shorter than any detector's
        match, or memoized without a hit)? False when unknown: then `apply` decides."""
        if self._custom:
            return False
        if len(text) < 6:
            return True
        cached = self._memo.get(text)
        return cached is not None and not cached[1]

    def apply(self, text: str, location: str, out: list[Redaction], *, code: bool = False) -> str:
        """`text` with every detected value replaced; one `Redaction` per replacement.

        `code` says the text is source code (JavaScript, CSS, HTML): there a `key = value`
        pair is a secret only when the value is a literal (`token = "f00..."`), never an
        expression (`token = sessionStorage.getItem("t")`, `if (token == null)`).
        """
        n = len(text)
        if code and n >= 6:
            new, found = self._apply_uncached(text, code=True)
            for name, action in found:
                out.append(Redaction(name, location, action))
            text = new
        elif n >= 6:
            if n <= 96:
                # short values repeat a lot (statuses, locales, names): memoize them
                cached = self._memo.get(text)
                if cached is None:
                    cached = self._apply_uncached(text)
                    if len(self._memo) >= 200_000:
                        self._memo.clear()
                    self._memo[text] = cached
                new, found = cached
            else:
                new, found = self._apply_uncached(text)
            for name, action in found:
                out.append(Redaction(name, location, action))
            text = new
        for custom in self._custom:
            text = self._apply_custom(custom, text, location, out)
        return text

    def _apply_uncached(
        self, text: str, *, code: bool = False
    ) -> tuple[str, tuple[tuple[str, RedactionAction], ...]]:
        hits = self._hits(text, code)
        if not hits:
            return text, ()
        pieces: list[str] = []
        pos = 0
        for hit in hits:
            pieces.append(text[pos : hit.start])
            pieces.append(hit.replacement)
            pos = hit.end
        pieces.append(text[pos:])
        return "".join(pieces), tuple((h.rule, h.action) for h in hits)

    def hits(self, text: str) -> Iterator[Hit]:
        """Every value a sanitizer would replace, in order (for `scan_bytes`)."""
        yield from self._hits(text)
        for rule in self._custom:
            for m in rule.pattern.finditer(text):
                if not is_marker(m.group(0)) and not self._own_any(m.group(0)):
                    yield Hit(rule.name, m.start(), m.end(), "", rule.action)

    # -- internals --------------------------------------------------------------------

    def _hits(self, text: str, code: bool = False, depth: int = 0) -> list[Hit]:
        found: list[Hit] = []
        # without `%` and `\\`, a match of a `_BOUNDED` group starts at 0 or right after a
        # character other than a letter or digit: its boundary form finds it from there
        plain = "%" not in text and "\\" not in text
        if _PROSE(text):
            if self._clean_fast(text, plain):
                return found
            gated = self._gated_prose
        elif _HEX(text):
            if self._clean_fast(text, plain):
                return found
            gated = self._gated_hex
        else:
            if plain and self._clean_plain(text):
                return found
            gated = self._gated
        for gate, rx, bounded in gated:
            if not gate(text):
                continue
            if bounded is None or not plain:
                m = rx.search(text)
                bounded = None
            else:
                m = rx.match(text) or bounded.search(text)
            while m is not None:
                # (the detector's own group: a boundary form's match starts a character
                # before it)
                start = m.start(m.lastgroup or 0)
                hit = self._handle(m, text, code) or self._handle_later(m, text, code)
                if hit is None:
                    # a candidate that failed its check may hide one that starts inside it
                    # (`%2000 44 161...`, `ref,4111...`): go on from the next character
                    pos = start + 1
                else:
                    found.append(hit)
                    pos = max(hit.end, m.end())
                m = rx.search(text, pos) if bounded is None else bounded.search(text, pos - 1)
        if depth < _MAX_DEPTH and len(text) >= 8:
            self._encoded_hits(text, depth, found)
        if len(found) > 1:
            found.sort(key=lambda h: (h.start, -h.end))
            kept: list[Hit] = []
            pos = 0
            for hit in found:
                if hit.start >= pos:
                    kept.append(hit)
                    pos = hit.end
            return kept
        return found

    def quick_clean(self, text: str) -> bool:
        """True when `apply` is certain to find nothing in `text` (6 to 96 characters, no
        custom rules), known in a few C calls (`_clean_fast`); memoized as `apply` would.
        False: not known (then `apply` decides)."""
        # (`_clean_fast` inline: this runs for every new string of every body)
        if _SHORT_PROSE(text) is not None:
            if not text or any(map(text.__contains__, _PROSE_HINTS)):
                return False
        elif _PROSE(text):
            return False
        elif _HEX(text):
            hex_start = self._hex_start
            if (hex_start is not None and hex_start(text) is not None) or (
                len(text) >= 12 and not hex_not_text(text)
            ):
                return False
        elif "%" in text or "\\" in text or not self._clean_plain(text):
            return False
        if len(self._memo) >= 200_000:
            self._memo.clear()
        self._memo[text] = (text, ())
        return True

    def _clean_fast(self, text: str, plain: bool) -> bool:
        """The common clean cases, each proven in a few C calls: prose without a hint or a
        long word (`_PROSE_HINTS`, `_SHORT_PROSE`), hex where no group matches at its start
        and that does not decode to text (its only encoded view: all of it, one token),
        and plain text (`_clean_plain`). False: not known."""
        if _SHORT_PROSE(text) is not None:
            if not text:
                return False
            return not any(map(text.__contains__, _PROSE_HINTS))
        if _PROSE(text):
            return False
        if _HEX(text):
            hex_start = self._hex_start
            return (hex_start is None or hex_start(text) is None) and (
                len(text) < 12 or hex_not_text(text)
            )
        return plain and self._clean_plain(text)

    def _clean_plain(self, text: str) -> bool:
        """Is it certain, in few C calls, that `_hits` finds nothing in `text` (no `%` and no
        `\\` in it)? No gate of a group that may match anywhere passes, no `_BOUNDED` group
        whose gate passes (`_hits` searches no other) matches at the start or after a
        character other than a letter or digit (where, in such text, all their matches
        start), and no encoded view decodes (no `&`, and
        no base64 or hex token of 12 characters or more that decodes to text)."""
        if (
            (self._pem_on and "-----BEGIN" in text)
            or (self._at_on and "@" in text)
            or (self._tokens_on and len(text) >= 16 and _HAS_TOKEN_HINT(text) is not None)
        ):
            return False
        if self._unrolled:
            # the gates of `_GATES` in line (`__init__` checked they are these), the two
            # hint tries first as one: ids and words hold neither
            mask = self._kv_bits if "=" in text or ":" in text else 0
            if _HAS_DIGIT(text) is not None:
                mask |= self._digit_bits
            if len(text) >= 40:
                mask |= self._random_bits
            if _HAS_HINT(text) is not None:
                if _HAS_AUTH_HINT(text) is not None:
                    mask |= self._auth_bits
                if _HAS_RARE(text) is not None:
                    mask |= self._rare_bits
        else:
            mask = 0
            for gate, bits in self._bounded_gates:
                if gate(text):
                    mask |= bits
        if mask:
            sets = self._bounded_sets
            pair = sets[mask] if mask in sets else self._bounded_for(mask)
            if pair is not None and (pair[0](text) is not None or pair[1](text) is not None):
                return False
        return (
            "&" not in text
            and (len(text) < 12 or decodes_nowhere(text))
            and "=\n" not in text
            and "=\r\n" not in text
        )

    def _bounded_for(self, mask: int) -> tuple[_Match, _Search] | None:
        """The `_BOUNDED` groups of `mask` (bit n: the n-th in `_bounded_patterns`)
        together: their `match` at the start and their `search` in the boundary form."""
        parts = [f"(?:{p})" for n, p in enumerate(self._bounded_patterns) if mask >> n & 1]
        pair: tuple[_Match, _Search] | None = None
        if parts:
            either = "|".join(parts)
            pair = (
                re.compile(either, re.ASCII | re.DOTALL).match,
                re.compile(f"[^A-Za-z0-9](?:{either})", re.ASCII | re.DOTALL).search,
            )
        self._bounded_sets[mask] = pair
        return pair

    def _encoded_hits(self, text: str, depth: int, found: list[Hit]) -> None:
        """Add to `found` what the detectors find in the decoded forms of `text`: words with
        percent or `\\u` escapes (each value replaced where it is in the original), and
        base64 or hex tokens that decode to text (replaced whole when it holds a value)."""
        views = []
        if "%" in text:
            views.append(percent_words(text))
        if "\\u" in text:
            views.append(unicode_words(text))
        if "&" in text:
            views.append(quoted_runs(text))
        if "=\n" in text or "=\r\n" in text:
            joined = soft_breaks_joined(text)
            if joined is not None:  # quoted-printable: a token cut by a soft line break
                views.append(iter(((0, *joined),)))
        for words in views:
            for start, decoded, offsets in words:
                for h in self._hits(decoded, False, depth + 1):
                    if h.replacement == decoded[h.start : h.end]:
                        continue  # kept as it is (amber's own pseudonym): keep its spelling
                    a, b = start + offsets[h.start], start + offsets[h.end]
                    found.append(Hit(h.rule, a, b, h.replacement, h.action))
        if len(text) >= 12:
            for start, end, decoded in encoded_tokens(text):
                inner = self._hits(decoded, False, depth + 1)
                if inner:
                    found.append(Hit(inner[0].rule, start, end, marker(inner[0].rule), "mask"))

    def _own_any(self, value: str) -> bool:
        return any(self._pseudo.is_own(k, value) for k in ("email", "ip", "phone"))

    def _handle_later(self, m: re.Match[str], text: str, code: bool) -> Hit | None:
        """The first later detector of the group that matches where `m` starts and passes."""
        ident = m.lastgroup
        assert ident is not None
        for single in self._later[ident]:
            other = single.match(text, m.start(ident))
            if other is not None:
                hit = self._handle(other, text, code)
                if hit is not None:
                    return hit
        return None

    def _handle(self, m: re.Match[str], text: str, code: bool) -> Hit | None:
        ident = m.lastgroup
        assert ident is not None
        if ident == "kv":
            return self._handle_kv(m, code)
        det = self._detectors[ident]
        start, end = m.span(det.group or ident)
        value = text[start:end]
        if det.check is not None and not det.check(value):
            if det.name != "iban" or " " not in value:
                return None
            # a grouped IBAN followed by a short word (`gb82 west ... 32 then`): the word
            # was taken as its last group
            end = start + value.rindex(" ")
            value = text[start:end]
            if not det.check(value):
                return None
        if det.secret:
            if is_marker(value):
                return None
            return Hit(det.name, start, end, marker(det.name), "mask")
        kind = det.action
        if kind == "ip" and (_ipv4_keep(value) or _after_version(text, start)):
            return None
        if kind == "ipv6":
            try:
                addr = ipaddress.IPv6Address(value)
            except ValueError:
                return None
            if addr.is_loopback or addr.is_unspecified:
                return None
        if self._pseudo.is_own(kind, value):
            return None
        return Hit(det.name, start, end, self._pseudo.pseudonym(kind, value), "pseudonym")

    def _handle_kv(self, m: re.Match[str], code: bool) -> Hit | None:
        key = m.group("kv_k")
        if not self._keys.is_sensitive(key) and not (
            len(key) <= 3 and shaped_id(key, m.group("kv_v").strip("\\\"'"))
        ):
            return None
        start, end = m.span("kv_v")
        value = m.group("kv_v")
        if _ANY_EXPRESSION.match(value) is not None or (code and _code_expression(m, value)):
            return None  # `token = sessionStorage.getItem(...)`: code, not a secret
        if _prose_label(m, value):
            return None  # `unrecognized token: "]"`: a sentence, not a pair
        # keep the quotes of a quoted value, and the scheme of an auth value
        if value.startswith('\\"'):
            start += 2
            end -= 2 if value.endswith('\\"') and len(value) >= 4 else 0
        elif value[:1] in "\"'":
            start += 1
            if len(value) >= 2 and value[-1] == value[0] and value[-2:-1] != "\\":
                end -= 1
        inner = m.string[start:end]
        sm = _AUTH_SCHEME.match(inner)
        if sm is not None and sm.end() < len(inner):
            start += sm.end()
            inner = inner[sm.end() :]
        if not inner or is_marker(inner) or inner.startswith("[REDACTED:"):
            return None
        if is_foreign_marker(inner):
            return None  # Rails' `"password"=>"[FILTERED]"`: masked already, by the app
        if inner.strip().rstrip(")").lower() in _NOT_A_SECRET:
            return None  # `password_hash: null`, `token=""`, `secret: false` hold nothing
        return Hit("secret-key-value", start, end, marker("secret-key-value"), "mask")

    def _apply_custom(
        self, rule: CustomRule, text: str, location: str, out: list[Redaction]
    ) -> str:
        def repl(m: re.Match[str]) -> str:
            value = m.group(0)
            if not value or is_marker(value):
                return value
            out.append(Redaction(rule.name, location, rule.action))
            if rule.action == "mask":
                return marker(rule.name)
            return self._pseudo.pseudonym(rule.kind, value)

        return rule.pattern.sub(repl, text)


# In source code, a value that starts with an operator or a block, a keyword, a call, a
# name or a chain of names is an expression: `token === null`, `secret: function () {`,
# `token = getToken();`, `pin = n ? a : b`, `key = this.props.key`.
_CODE_EXPRESSION = re.compile(
    r"[=!<>&|?(){}\[]|(?:new|await|typeof|function|async|void|this)\b"
    r"|[A-Za-z_$][\w$]*(?:[ \t]*\(|(?![\w$.-]))|[A-Za-z_$]+(?:\.[A-Za-z_$]+)+(?![\w$-])"
)


def _code_expression(m: re.Match[str], value: str) -> bool:
    """Is this pair in source code an expression (not a literal), and not a URL's query?"""
    start = m.start("kv")
    if start > 0 and m.string[start - 1] in "?&;":
        return False  # `href="/cb?token=abc123..."`: a query string inside the source
    return _CODE_EXPRESSION.match(value) is not None


# `<word> <key>:` followed by a value: a label inside a sentence, as in SQLite's
# `unrecognized token: "]"` and `near "token": syntax error`.
_PROSE_BEFORE = re.compile(r"[A-Za-z]{2,}[ \t]$")
_NEXT_WORD = re.compile(r"[ \t][a-z]")


def _prose_label(m: re.Match[str], value: str) -> bool:
    """Is this `key: value` a label in prose whose value is not a secret?

    That is: after a word and a space, and either too short to be a secret (`"]"`) or,
    for a quoted key, a lowercase word that the sentence goes on after (`syntax error`).
    """
    start = m.start("kv")
    if m.group("kv_s") != ":" or _PROSE_BEFORE.search(m.string, max(0, start - 40), start) is None:
        return False
    inner = value.strip("\\\"'")
    # (the sentence's own punctuation is not the value's: MySQL's `(using password: YES)`)
    if len(inner.rstrip(").,;")) <= 3 or not any(c.isalnum() for c in inner):
        return True
    return (
        bool(m.group("kv_q"))
        and inner.isalpha()
        and inner.islower()
        and (_NEXT_WORD.match(m.string, m.end("kv_v")) is not None)
    )


# Anywhere, a value that is a comparison or a call on a dotted name is code, not a secret:
# `if (apiKey === undefined)`, `token = sessionStorage.getItem('auth')`.
_ANY_EXPRESSION = re.compile(r"==|[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+[ \t]*\(")


# A dotted number right after a version-like word is a version, never an address:
# `version 2.4.1.0`, `"build": "10.0.19041.1"`, `<Version>1.2.3.4`.
_VERSION_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?i:version|ver|build|release|revision|rev|firmware|fw|semver|section)"
    r"|Version|Build|Release|Revision)[\"']?[ \t]*[:=/ >]?[ \t]*[\"']?$"
    # a product token's version (`Chrome/120.0.0.0` in a User-Agent; not a path segment
    # `/hosts/10.1.2.3`), and a client hint's `v="8.0.0.0"`
    r"|(?:^|(?<=[\s(;,]))[A-Za-z][A-Za-z0-9_.-]{0,30}/$|(?<![A-Za-z])v=\"?$"
)


def _after_version(text: str, start: int) -> bool:
    return start > 0 and _VERSION_BEFORE.search(text, max(0, start - 40), start) is not None


_NOT_A_SECRET = frozenset(
    {
        "null",
        "none",
        "nil",
        "true",
        "false",
        "~",
        "''",
        '""',
        "[]",
        "{}",
        "undefined",
        # a type annotation (`password: string` in TypeScript, `token: str` in Python), and
        # an auth scheme alone (`Authorization: "Bearer " + token`): no value yet
        "string",
        "str",
        "number",
        "int",
        "bytes",
        "boolean",
        "bool",
        "any",
        "unknown",
        "bearer",
        "basic",
        "token",
        "digest",
    }
)
