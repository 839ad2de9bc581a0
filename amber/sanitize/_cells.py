"""Database cells through the capture sanitizer's rules: the public entry point fixtures use.

A cell is judged by its column's name first (the `KeyClassifier` of capture, with a few
markers that only a column name uses: `seed`, `totp`, `recovery`, `salt`...; `address` as
the last token of an identity such as `shipping_address`), then by its value: JSON (a JSON
column's value, or text that holds a JSON object or array) is walked by the body
sanitizer's `JsonWalker` and edited in place, exactly as a captured JSON member named like
the column would be; other text goes through the URL and value rules (emails, cards, keys,
tokens...); an integer that is a card number (IIN family and Luhn, as in JSON) is replaced.
Pseudonyms come from the sanitizer's `Pseudonymizer`, so an email in a cell equals the
pseudonym the same email got in captured traffic.

```python
>>> cells = CellSanitizer(Sanitizer(SanitizeConfig(), Pseudonymizer(key)))
>>> cells.column("totp_seed")
('mask', 'sensitive-key')
>>> cells.text("mail jane@corp.com", "notes.body")[0]
'mail ada.lee12@example.org'
```
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Iterable
from typing import Any

import orjson

from amber._decode import looks_textual
from amber._model import Redaction
from amber._pseudonym import is_marker
from amber._pseudonym import marker

from ._ids import card_ok
from ._ids import luhn_ok
from ._json import PERSON_VERDICTS
from ._keys import DEFAULT_IDENTITY_SUFFIXES
from ._keys import KeyClassifier
from ._keys import Verdict
from ._keys import split_tokens
from ._keys import version_like
from ._sanitizer import Sanitizer

__all__ = ["COLUMN_MARKERS", "CellSanitizer"]

# Tokens that mark a secret in a column name, beyond the key markers of captured traffic:
# a TOTP seed, recovery codes, a salt, one-time codes, card and national numbers.
COLUMN_MARKERS: frozenset[str] = frozenset(
    {
        "seed", "totp", "otp", "hotp", "mfa", "recovery", "salt", "ssn", "cvv", "cvc",
        "iban", "pan", "pin", "nonce",
    }
)  # fmt: skip

# `shipping_address`, `billing_address`, `home_address`: an address, like `address`.
_COLUMN_SUFFIXES = {**DEFAULT_IDENTITY_SUFFIXES, "address": "address"}
# `ip_address`, `email_address`, `mac_address`: the exact identity keys decide the first
# two; these hold no postal address
_NOT_POSTAL = frozenset({"mac", "wallet", "contract", "memory", "base", "web", "url", "ip"})

_INT_LIMIT = 10**12


class CellSanitizer:
    """Sanitizes database cells with `sanitizer`'s rules and pseudonyms.

    **Parameters:** `sanitizer` - the capture `Sanitizer` (its config and pseudonymizer).
    Each method returns the new value and the redactions made (`rule`, location, action);
    a value nothing matched is returned as the same object.
    """

    def __init__(self, sanitizer: Sanitizer) -> None:
        cfg = sanitizer.config
        self.sanitizer = sanitizer
        self.pseudonymizer = sanitizer.pseudonymizer
        self.columns = KeyClassifier(
            sensitive=cfg.sensitive_keys,
            markers=cfg.key_markers | COLUMN_MARKERS,
            keep=cfg.keep_keys,
            identity=cfg.identity_keys(),
            identity_suffixes=_COLUMN_SUFFIXES,
        )

    # -- names ------------------------------------------------------------------------

    def column(self, name: str) -> Verdict:
        """What the column's name says: `("mask", rule)`, `("pseudonym", kind)` or None."""
        verdict = self.columns.classify(name)
        if verdict == ("pseudonym", "address"):
            tokens = split_tokens(name)
            if len(tokens) > 1 and tokens[-2] in _NOT_POSTAL:
                return None
        return verdict

    def about_person(self, table: str, columns: Iterable[str]) -> bool:
        """Is a row of `table` a person: a person table (`users`, `customers`) or a sibling
        column that names one (`email`, `first_name`, `phone`, `username`)? Decides
        whether a bare `name` column is a person's name (else a product's, a region's)."""
        if self.sanitizer.bodies.person_key(table):
            return True
        return any(self.columns.classify(c) in PERSON_VERDICTS for c in columns)

    # -- values -----------------------------------------------------------------------

    def text(self, value: str, location: str, column: str = "") -> tuple[str, list[Redaction]]:
        """Free text by the URL and value rules; text holding a JSON object or array is
        walked as JSON under `column`'s name and edited in place."""
        out: list[Redaction] = []
        stripped = value.strip()
        if len(stripped) > 1 and stripped[0] in "{[" and stripped[-1] in "}]":
            new = self._json_text(value, location, column, out)
            if new is not None:
                return new, out
        if column and version_like(column, stripped):
            return value, out  # `app_version = 2.4.1.0` is not an address
        urls = self.sanitizer.bodies.urls.in_text(value, location, out)
        new_text, more = self.sanitizer.sanitize_text(urls, location)
        out.extend(more)
        return (value if new_text == value else new_text), out

    def json(self, value: Any, location: str, column: str = "") -> tuple[Any, list[Redaction]]:
        """A JSON column's decoded value (dict, list, str, number) walked as the member
        `column` of a captured JSON body; returns the edited value."""
        out: list[Redaction] = []
        if isinstance(value, str):
            new_text, hits = self.text(value, location, column)
            return new_text, hits
        try:
            raw = orjson.dumps(value)
        except TypeError:
            try:
                raw = json.dumps(value, ensure_ascii=False).encode("utf-8")
            except (TypeError, ValueError):
                return value, out
        new = self._json_text(raw.decode("utf-8"), location, column, out)
        if new is None or new == raw.decode("utf-8"):
            return value, out
        return json.loads(new), out

    def binary(self, value: bytes, location: str) -> tuple[bytes, list[Redaction]]:
        """Bytes that are UTF-8 text go through the text rules; other bytes are kept."""
        if not value or not looks_textual(value):
            return value, []
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return value, []
        new, out = self.text(text, location)
        return (value if new is text else new.encode("utf-8")), out

    def integer(self, value: int, location: str) -> tuple[int, list[Redaction]]:
        """An integer that is a card number (as the JSON walker finds one) becomes another
        number of the same length that is no card (keyed, so equal inputs stay equal)."""
        if -_INT_LIMIT < value < _INT_LIMIT or not card_ok(str(abs(value))):
            return value, []
        return self.number(value, "credit-card"), [Redaction("credit-card", location, "mask")]

    def masked(self, value: Any, rule: str = "sensitive-key") -> Any:
        """A cell of a secret column replaced by a value of its own type: the marker for
        text, its bytes for binary, a keyed number of the same size (never a valid card)
        for numbers, `1900-01-01` for dates, a keyed UUID for a UUID; booleans and NULLs
        stay. Equal inputs give equal outputs, so a UNIQUE column stays unique."""
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value if is_marker(value) else marker(rule)
        if isinstance(value, bytes | bytearray | memoryview):
            return marker(rule).encode()
        if isinstance(value, int | float | decimal.Decimal):
            return self.number(value, rule)
        if isinstance(value, dt.datetime):
            return value.replace(
                year=1900, month=1, day=1, hour=0, minute=0, second=0, microsecond=0
            )
        if isinstance(value, dt.date):
            return dt.date(1900, 1, 1)
        if isinstance(value, dt.time):
            return dt.time(0, 0)
        if isinstance(value, uuid.UUID):
            return uuid.UUID(bytes=self.pseudonymizer.digest(rule, str(value))[:16], version=4)
        return marker(rule)

    def number(self, value: int | float | decimal.Decimal, rule: str) -> Any:
        """A keyed number with the digits of `value` replaced: same sign, length and type;
        a 12-19 digit result fails the Luhn check, so it is never a card number."""
        if isinstance(value, float) and not math.isfinite(value):
            return 0.0
        text = str(abs(int(value)))
        n = max(1, len(text))
        stream = self.pseudonymizer.digest(rule, str(value))
        digits = "".join(str(b % 10) for b in (stream * (n // 32 + 1))[:n])
        if n > 1 and digits[0] == "0":
            digits = "1" + digits[1:]
        if 12 <= n <= 19 and luhn_ok(digits):
            digits = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        out = int(digits) * (-1 if value < 0 else 1)
        if isinstance(value, float):
            return float(out)
        if isinstance(value, decimal.Decimal):
            return decimal.Decimal(out)
        return out

    # -- internals --------------------------------------------------------------------

    def _json_text(self, text: str, location: str, column: str, out: list[Redaction]) -> str | None:
        """`text` walked as the value of the member `column` (its name gives the context
        a key gives in a body: `user`, `credentials`); None when it is not JSON."""
        key = json.dumps(column or "value", ensure_ascii=False)
        prefix = "{" + key + ":"
        wrapped = (prefix + text + "}").encode("utf-8", "surrogatepass")
        hits: list[Redaction] = []
        new = self.sanitizer.bodies.json(wrapped, location, hits)
        if new is None:
            return None
        if new is wrapped:
            return text
        decoded = new.decode("utf-8", "surrogatepass")
        if not (decoded.startswith(prefix) and decoded.endswith("}")):
            # the key itself was edited (a column named like an email): walk it bare
            hits = []
            bare = self.sanitizer.bodies.json(text.encode("utf-8", "surrogatepass"), location, hits)
            if bare is None:
                return None
            out.extend(hits)
            return bare.decode("utf-8", "surrogatepass")
        out.extend(_relocated(h, location) for h in hits)
        return decoded[len(prefix) : -1]


def _relocated(h: Redaction, location: str) -> Redaction:
    """A redaction's location without the wrapper member's key."""
    return Redaction(h.rule, location, h.action)
