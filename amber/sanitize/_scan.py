"""`scan_bytes`: find what the sanitizer would have replaced, without saying what it was.

`amber scan` runs this over stored exchanges, exports and generated tests. It uses the same
detectors as the sanitizer, so amber's own markers and pseudonyms (reserved email domains,
TEST-NET and 2001:db8:: addresses, 555-01xx phone numbers) are never reported. A finding
carries the rule and the position (byte offset, line, column), never the matched text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amber import _words
from amber._pseudonym import Pseudonymizer

from ._config import SanitizeConfig
from ._keys import KeyClassifier
from ._values import ValueScanner

__all__ = ["Finding", "scan_bytes"]

# The scanner never makes pseudonyms, but the value scanner wants a pseudonymizer.
_SCAN_KEY = b"amber-scan-never-stores-these-pseudonyms"


@dataclass(frozen=True, slots=True)
class Finding:
    """One suspected leak: which rule, and where (0-based byte offset, 1-based line/col)."""

    rule: str
    offset: int
    line: int
    column: int
    length: int


_SCANNERS: dict[int, tuple[SanitizeConfig, ValueScanner]] = {}
_FIRST = frozenset(_words.FIRST_NAMES)
_LAST = frozenset(_words.LAST_NAMES)


def _amber_name(value: str) -> bool:
    """Is `value` a name amber's pseudonyms are made of (a listed given name and surname)?"""
    first, _, last = value.partition(" ")
    return first in _FIRST and last in _LAST


def _scanner(config: SanitizeConfig | None) -> ValueScanner:
    config = config or SanitizeConfig()
    found = _SCANNERS.get(id(config))
    if found is not None and found[0] is config:
        return found[1]
    keys = KeyClassifier(
        sensitive=config.sensitive_keys,
        markers=config.key_markers,
        keep=config.keep_keys,
        identity=config.identity_keys(),
    )
    scanner = ValueScanner(
        Pseudonymizer(_SCAN_KEY, trust_ranges=True),
        keys,
        enabled=config.enabled_detectors(),
        custom=config.rules,
    )
    if len(_SCANNERS) > 16:
        _SCANNERS.clear()
    _SCANNERS[id(config)] = (config, scanner)
    return scanner


def scan_bytes(
    data: bytes,
    *,
    config: SanitizeConfig | None = None,
    rules: Sequence[str] | None = None,
) -> list[Finding]:
    """Every suspected secret or personal value in `data`, in order.

    **Parameters:**

    * `data` - any bytes (text, JSON, a store file); read as Latin-1 so offsets are bytes.
    * `config` - the same `SanitizeConfig` the sanitizer uses (custom rules, detectors).
    * `rules` - only report these rule names (default: all).

    The secret itself is never part of a `Finding`.
    """
    scanner = _scanner(config)
    text = data.decode("latin-1")
    wanted = set(rules) if rules is not None else None
    findings: list[Finding] = []
    line = 1
    line_start = 0
    pos = 0
    for hit in scanner.hits(text):
        if wanted is not None and hit.rule not in wanted:
            continue
        if hit.rule == "email-display-name" and _amber_name(text[hit.start : hit.end]):
            continue  # a display name amber's generators make: its own pseudonym
        line += text.count("\n", pos, hit.start)
        nl = text.rfind("\n", 0, hit.start)
        line_start = nl + 1
        pos = hit.start
        findings.append(
            Finding(hit.rule, hit.start, line, hit.start - line_start + 1, hit.end - hit.start)
        )
    return findings
