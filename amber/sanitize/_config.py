"""`SanitizeConfig`: the defaults ship in code; amber.yaml's `sanitize:` section adds to them.

```yaml
sanitize:
  headers:
    redact: [x-internal-token]        # masked whole, in requests and responses
    keep: [x-debug-hint]              # never touched, not even by the value rules
  keys:
    redact: [employee_number]         # exact keys (normalized) to mask
    markers: [nonce]                  # extra marker tokens
    keep: [session_count]             # keys never redacted
    pseudonymize:                     # key -> pseudonym kind; null removes a default
      account_ref: customer_id
      name: null
  detectors:                          # turn built-in value detectors off (or on)
    phone: false
  rules:                              # custom value rules
    - {name: ticket, pattern: 'TCK-[0-9]{6}', action: mask}
    - {name: employee, pattern: 'E[0-9]{7}', action: pseudonym, kind: customer_id}
  max_decoded_body: 16777216          # bytes; larger decoded bodies are truncated
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from amber._pseudonym import PSEUDONYM_KINDS
from amber.errors import ConfigError

from ._keys import DEFAULT_IDENTITY_KEYS
from ._keys import normalize_key
from ._values import DETECTOR_NAMES
from ._values import CustomRule

__all__ = ["DEFAULT_MAX_DECODED_BODY", "SanitizeConfig"]

DEFAULT_MAX_DECODED_BODY = 16 * 1024 * 1024

_RULE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class SanitizeConfig:
    """What the sanitizer redacts, on top of the built-in defaults.

    Every field adds to (or, for the `keep_*` allowlists and `detectors`, carves out of)
    the defaults documented in docs/sanitization.md. Names are case-insensitive; keys are
    normalized (`X-Api.Key` -> `x_api_key`).
    """

    sensitive_headers: frozenset[str] = frozenset()
    keep_headers: frozenset[str] = frozenset()
    sensitive_keys: frozenset[str] = frozenset()
    key_markers: frozenset[str] = frozenset()
    keep_keys: frozenset[str] = frozenset()
    pseudonymize: Mapping[str, str | None] = field(default_factory=dict)
    detectors: Mapping[str, bool] = field(default_factory=dict)
    rules: tuple[CustomRule, ...] = ()
    max_decoded_body: int = DEFAULT_MAX_DECODED_BODY

    def identity_keys(self) -> dict[str, str]:
        """The default identity keys with `pseudonymize` applied (None removes one)."""
        out = dict(DEFAULT_IDENTITY_KEYS)
        for key, kind in self.pseudonymize.items():
            norm = normalize_key(key)
            if kind is None:
                out.pop(norm, None)
            else:
                out[norm] = kind
        return out

    def enabled_detectors(self) -> list[str]:
        return [n for n in DETECTOR_NAMES if self.detectors.get(n, True)]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> SanitizeConfig:
        """Build from amber.yaml's `sanitize:` mapping (None or {} gives the defaults).

        *Raises:* `ConfigError` with `key="sanitize.<path>"` on an unknown key, a wrong type,
        an unknown detector or pseudonym kind, or a regex that does not compile.
        """
        if data is None:
            return cls()
        _expect_mapping(data, "sanitize")
        _no_unknown(data, "sanitize", {"headers", "keys", "detectors", "rules", "max_decoded_body"})
        kw: dict[str, Any] = {}

        headers = _section(data, "headers")
        _expect_mapping(headers, "sanitize.headers")
        _no_unknown(headers, "sanitize.headers", {"redact", "keep"})
        kw["sensitive_headers"] = _names(headers.get("redact"), "sanitize.headers.redact")
        kw["keep_headers"] = _names(headers.get("keep"), "sanitize.headers.keep")

        keys = _section(data, "keys")
        _expect_mapping(keys, "sanitize.keys")
        _no_unknown(keys, "sanitize.keys", {"redact", "markers", "keep", "pseudonymize"})
        kw["sensitive_keys"] = frozenset(
            normalize_key(k) for k in _names(keys.get("redact"), "sanitize.keys.redact")
        )
        kw["key_markers"] = _names(keys.get("markers"), "sanitize.keys.markers")
        kw["keep_keys"] = frozenset(
            normalize_key(k) for k in _names(keys.get("keep"), "sanitize.keys.keep")
        )
        pseudo = _section(keys, "pseudonymize")
        _expect_mapping(pseudo, "sanitize.keys.pseudonymize")
        mapping: dict[str, str | None] = {}
        for k, v in pseudo.items():
            where = f"sanitize.keys.pseudonymize.{k}"
            if not isinstance(k, str) or not k.strip():
                raise ConfigError("expected a key name", key="sanitize.keys.pseudonymize")
            if v is not None and v not in PSEUDONYM_KINDS:
                raise ConfigError(
                    f"unknown pseudonym kind {v!r}; expected one of "
                    f"{', '.join(PSEUDONYM_KINDS)} (or null to stop pseudonymizing)",
                    key=where,
                )
            mapping[k] = v
        kw["pseudonymize"] = mapping

        detectors = _section(data, "detectors")
        _expect_mapping(detectors, "sanitize.detectors")
        for name, on in detectors.items():
            where = f"sanitize.detectors.{name}"
            if name not in DETECTOR_NAMES:
                raise ConfigError(
                    f"unknown detector; expected one of {', '.join(DETECTOR_NAMES)}", key=where
                )
            if not isinstance(on, bool):
                raise ConfigError(f"expected true or false, got {on!r}", key=where)
        kw["detectors"] = dict(detectors)

        rules = data.get("rules")
        rules = [] if rules is None else rules
        if not isinstance(rules, list):
            raise ConfigError(
                f"expected a list of rules, got {type(rules).__name__}", key="sanitize.rules"
            )
        kw["rules"] = tuple(_rule(r, f"sanitize.rules[{i}]") for i, r in enumerate(rules))

        if "max_decoded_body" in data:
            size = data["max_decoded_body"]
            if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
                raise ConfigError(
                    f"expected a number of bytes >= 1024, got {size!r}",
                    key="sanitize.max_decoded_body",
                )
            kw["max_decoded_body"] = size
        return cls(**kw)


def _section(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name)
    return {} if value is None else value


def _expect_mapping(value: Any, where: str) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError(f"expected a mapping, got {type(value).__name__}", key=where)


def _no_unknown(data: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    for k in data:
        if k not in allowed:
            raise ConfigError(
                f"unknown key; expected one of {', '.join(sorted(allowed))}", key=f"{where}.{k}"
            )


def _names(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigError(f"expected a list of names, got {value!r}", key=where)
    out: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"expected a non-empty name, got {item!r}", key=f"{where}[{i}]")
        out.add(item.strip().lower())
    return frozenset(out)


def _rule(raw: Any, where: str) -> CustomRule:
    _expect_mapping(raw, where)
    _no_unknown(raw, where, {"name", "pattern", "action", "kind"})
    name = raw.get("name")
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        raise ConfigError(
            f"expected a rule name of letters, digits, '_', '.', '-', got {name!r}",
            key=f"{where}.name",
        )
    pattern = raw.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"expected a regular expression, got {pattern!r}", key=f"{where}.pattern")
    try:
        compiled = re.compile(pattern)
    except re.error as e:
        raise ConfigError(f"invalid regular expression: {e}", key=f"{where}.pattern") from e
    if compiled.search("") is not None:
        raise ConfigError("the pattern matches the empty string", key=f"{where}.pattern")
    action = raw.get("action", "mask")
    if action not in ("mask", "pseudonym"):
        raise ConfigError(f"expected mask or pseudonym, got {action!r}", key=f"{where}.action")
    kind = raw.get("kind", "text")
    if kind not in PSEUDONYM_KINDS:
        raise ConfigError(
            f"unknown pseudonym kind {kind!r}; expected one of {', '.join(PSEUDONYM_KINDS)}",
            key=f"{where}.kind",
        )
    if "kind" in raw and action != "pseudonym":
        raise ConfigError("kind is only used with action: pseudonym", key=f"{where}.kind")
    return CustomRule(name=name, pattern=compiled, action=action, kind=kind)
