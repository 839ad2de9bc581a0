"""Checks that tell a personal identifier from any other run of digits and letters.

The value detectors (`_values.py`) find candidates by their shape; these functions decide,
from the candidate alone, whether it is a payment card (IIN family, length, Luhn), an IBAN
(registry country, length, ISO 13616 mod-97), a US SSN, a UK National Insurance number, a
German tax id (Steuer-IdNr, ISO 7064 MOD 11,10) or a phone number. A check is what keeps
look-alikes (EANs, timestamps, versions, hex ids) from being replaced: a random digit
string passes a checksum one time in ten or fewer, and a family's prefix and length narrow
that further.
"""

from __future__ import annotations

import re

__all__ = [
    "card_ok",
    "iban_ok",
    "luhn_ok",
    "nino_ok",
    "organization_name",
    "person_name_ok",
    "phone_ok",
    "slug_not_name",
    "ssn_ok",
    "steuer_id_ok",
]


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_ANY = (16, 17, 18, 19)
# (first IIN, last IIN, card lengths) per family; an IIN range compares the number's first
# len(first IIN) digits as a string
_FAMILIES: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),  # Visa, Visa Electron, Elo's 4xxx ranges
    ("51", "55", (16,)), ("2221", "2720", (16,)),  # Mastercard
    ("34", "34", (15,)), ("37", "37", (15,)),  # American Express
    ("6011", "6011", _ANY), ("644", "649", _ANY), ("65", "65", _ANY),  # Discover, RuPay
    ("3528", "3589", _ANY),  # JCB
    ("300", "305", (14, 16, 19)), ("36", "36", (14, 16, 19)),  # Diners Club
    ("38", "39", (14, 16, 19)),
    ("2200", "2204", _ANY),  # Mir
    ("60", "60", (16,)), ("81", "82", (16,)), ("508", "508", (16,)),  # RuPay
    ("353", "353", (16,)), ("356", "356", (16,)),
    ("62", "62", _ANY),  # UnionPay
    ("5041", "5041", (16,)), ("5066", "5067", (16,)), ("509", "509", (16,)),  # Elo
    ("6277", "6277", (16,)), ("6362", "6363", (16,)), ("650", "650", (16,)),
    ("6516", "6516", (16,)), ("6550", "6550", (16,)),
    ("9792", "9792", (16,)),  # Troy
    ("5060", "5061", (16, 18, 19)), ("6500", "6500", (16, 18, 19)),  # Verve
    ("1", "1", (15,)),  # UATP
    # Maestro: only its own IINs, as its 12-digit numbers are otherwise too common
    ("5018", "5018", tuple(range(12, 20))), ("5020", "5020", tuple(range(12, 20))),
    ("5038", "5038", tuple(range(12, 20))), ("5893", "5893", tuple(range(12, 20))),
    ("6304", "6304", tuple(range(12, 20))), ("6759", "6759", tuple(range(12, 20))),
    ("6761", "6763", tuple(range(12, 20))),
)  # fmt: skip


def _family_ok(digits: str) -> bool:
    n = len(digits)
    for first, last, lengths in _FAMILIES:
        if n in lengths and first <= digits[: len(first)] <= last:
            return True
    return False


def card_ok(text: str) -> bool:
    """A card number of a known IIN family, Luhn valid, written with one kind of separator.

    Digits grouped by dots must be grouped as cards print them (fours, or 4-6-5): a
    version such as `10.0.19045.3693` has dots between digits too.
    """
    seps = {c for c in text if c in " -."}
    if len(seps) > 1:
        return False
    digits = text.replace(" ", "").replace("-", "").replace(".", "")
    if not 12 <= len(digits) <= 19:
        return False
    if "." in seps:
        groups = [len(g) for g in text.split(".")]
        fours = all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4
        if not fours and groups != [4, 6, 5]:
            return False
    return _family_ok(digits) and luhn_ok(digits)


_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip
"""The countries of the SWIFT IBAN registry and the length of their IBANs."""


def iban_ok(text: str) -> bool:
    """A registry country, its IBAN length, and the ISO 13616 mod-97 check.

    Upper or lower case, not mixed: `de89 3704 ...` is an IBAN typed in lower case, while
    a mixed-case run of letters and digits is an id or a token.
    """
    s = text.replace(" ", "")
    if not (s.isupper() or s.islower()):
        return False
    s = s.upper()
    if _IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    moved = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in moved))
    except ValueError:
        return False
    return number % 97 == 1


def ssn_ok(text: str) -> bool:
    """A US SSN `ddd-dd-dddd`: area not 000, 666 or 9xx; group and serial not all zeros."""
    area, group, serial = text[0:3], text[4:6], text[7:11]
    if area in ("000", "666") or area[0] == "9":
        return False
    return group != "00" and serial != "0000"


# prefixes HMRC never issues (and the administrative ones)
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def nino_ok(text: str) -> bool:
    """A UK National Insurance number: two letters (not D F I Q U V, O not second, not an
    unissued pair), six digits, then A-D; spaces between the pairs allowed."""
    s = text.replace(" ", "")
    if len(s) != 9 or s[:2] in _NINO_BAD_PREFIXES:
        return False
    return s[0] not in "DFIQUV" and s[1] not in "DFIQUVO" and s[8] in "ABCD"


def steuer_id_ok(text: str) -> bool:
    """A German tax id (Steuer-IdNr): 11 digits, not starting with 0; in the first ten one
    digit appears twice or three times and every other at most once; the last is the ISO
    7064 MOD 11,10 check digit."""
    if len(text) != 11 or not text.isdigit() or text[0] == "0":
        return False
    counts = sorted((text[:10].count(d) for d in set(text[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] != 1):
        return False
    product = 10
    for ch in text[:10]:
        s = (ord(ch) - 48 + product) % 10 or 10
        product = (s * 2) % 11
    return (11 - product) % 10 == ord(text[10]) - 48


# A signed decimal number, or two (a latitude and a longitude): not a phone.
_SIGNED_DECIMAL = re.compile(r"[+-]?[0-9]{1,4}(?:\.[0-9]+)?(?:[+-][0-9]{1,3}(?:\.[0-9]+)?){0,2}")


def phone_ok(text: str) -> bool:
    """A formatted phone number: international (`+`, `00` or `+00` then 8-15 digits) or a
    NANP national number whose area and exchange codes start with 2-9."""
    digits = "".join(c for c in text if c.isdigit())
    if "." in text and _SIGNED_DECIMAL.fullmatch(text) is not None:
        return False  # `+1234.5678`, an ISO 6709 point `+40.7128-074.0060`
    if text.startswith(("+00", "00")):
        return 8 <= len(digits) - 2 <= 15
    if text.startswith("+"):
        return 8 <= len(digits) <= 15
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


# A person's name as people write it: two to four capitalized words of letters (`O'Neil`,
# `McDonald`, `Smith-Jones`), one space between them.
_L, _U = "a-z\u00df-\u00ff", "A-Z\u00c0-\u00de"
_NAME_WORD = f"[{_U}](?:[{_L}]+|'[{_U}][{_L}]+)(?:[{_U}][{_L}]+)?(?:-[{_U}][{_L}]+)?"
_PERSON_NAME = re.compile(f"{_NAME_WORD}(?:[ ]{_NAME_WORD}){{1,3}}")
# Words of the names of certificate authorities, services, machines, teams and companies:
# a name with one of them is not a person's (`Acme Root Authority`, `Jenkins Agent`,
# `Finance Team`, `Globex Corporation`).
_NOT_PERSON_WORDS = frozenset(
    {
        "root", "authority", "certificate", "certification", "server", "servers", "client",
        "issuing", "intermediate", "services", "service", "global", "secure", "security",
        "trust", "trusted", "signing", "validation", "domain", "code", "test", "testing",
        "proxy", "gateway", "admin", "administrator", "user", "users", "agent", "account",
        "system", "systems", "default", "fake", "localhost", "controller", "ingress", "api",
        "web", "app", "application", "node", "cluster", "master", "worker", "device", "printer",
        "router", "host", "mail", "backup", "operator", "monitor", "monitoring", "bot",
        "robot", "team", "group", "department", "dept", "support", "sales", "finance",
        "marketing", "network", "networks", "company", "inc", "ltd", "llc", "corp",
        "corporation", "gmbh", "bank", "university", "college", "school", "hospital", "office",
        "foundation", "association", "institute", "labs", "lab", "store", "shop", "the", "of",
        "and", "for", "on", "in", "at", "to", "by", "with", "from", "new", "old", "main",
        "general", "public", "private", "internal", "external", "production", "staging",
        "development", "dev", "prod", "demo", "sample", "example", "unknown", "anonymous",
        "guest", "nobody", "everyone", "all", "none", "other", "ops", "devops", "engineering",
        "platform", "infrastructure", "billing", "accounting", "payroll", "hr", "legal",
        "desk", "helpdesk", "center", "centre", "hub", "portal", "cloud", "data", "database",
        "street", "road", "avenue", "city", "county", "united", "kingdom",
    }
)  # fmt: skip


def person_name_ok(text: str) -> bool:
    """Does `text` look like a person's name: two to four capitalized words of letters,
    none a word of an organization's, a service's or a certificate authority's name
    (`Thandiwe Mokoena`, `Sam O'Neil`; not `Acme Root Authority`, `Finance Team`)?"""
    if len(text) > 64 or _PERSON_NAME.fullmatch(text) is None:
        return False
    return not any(w.lower() in _NOT_PERSON_WORDS for w in re.split(r"[ '-]", text))


# Words that make a bare `name` an organization's even under a person's key (`author`,
# `owner`, `maintainer`): no person's name holds one.
_ORGANIZATION_WORDS = frozenset(
    {
        "project", "projects", "team", "inc", "ltd", "llc", "corp", "corporation", "gmbh",
        "foundation", "community", "contributors", "developers", "authors", "maintainers",
        "organization", "organisation", "company", "university", "labs", "software", "org",
    }
)  # fmt: skip
_WORDS = re.compile(r"[A-Za-z]+")


def organization_name(text: str) -> bool:
    """Does `text` name an organization (`Rust Project`, `Google LLC`, `The Django
    Software Foundation`, `pandas-dev team`) rather than a person?"""
    if len(text) > 200:
        return False
    return any(w.lower() in _ORGANIZATION_WORDS for w in _WORDS.findall(text))


_SLUG = re.compile(r"[\w.-]+(?:/[\w.-]+)+")


def slug_not_name(text: str) -> bool:
    """Is `text` an `owner/name` slug or a path (`octocat/Hello-World`, GitHub's
    `full_name` of a repository), which no person's name is?"""
    return "/" in text and len(text) <= 200 and _SLUG.fullmatch(text) is not None
