"""Where a captured request's masked credentials were: placeholders for the test identity.

The capture masked credentials (`Authorization: Basic [REDACTED:authorization]`,
`password=[REDACTED:sensitive-key]`, `{"api_key": "[REDACTED:...]"}`, session cookies).
`Credentials` rewrites a request for a generated test: each masked credential becomes the
placeholder of what it was (`{{amber:basic}}`, `{{amber:password}}`, `{{amber:api_key}}`,
by its header, field or key name, `testing.identity.fields` first), masked cookies are
dropped and mark the test as needing the identity's login, and everything else stays byte
for byte. The test client (`AppClient`) fills the placeholders from amber.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from amber._identity import credential_of_field
from amber._identity import placeholder
from amber._model import HOP_BY_HOP
from amber._pseudonym import is_marker

__all__ = ["Credentials"]

_DROP_HEADERS = HOP_BY_HOP | {"cookie", "authorization", "x-request-id"}
_MARKER = r"\[REDACTED:[A-Za-z0-9_.:-]{1,64}\]"
_JSON_MASKED = re.compile(r'"((?:[^"\\]|\\.){1,200})"(\s*:\s*)"(' + _MARKER + ')"')
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*) +(" + _MARKER + r")\s*$")


@dataclass
class Credentials:
    """Where a request's masked credentials were, as placeholders for the test identity
    (`amber._identity`): the credentials the request needs, and whether it needs the
    identity's login (its masked cookies were a session)."""

    fields: dict[str, str]
    kinds: list[str]
    login: bool = False

    def put(self, name: str, masked: str) -> str | None:
        """The placeholder for `name`'s masked value, or None when it is no credential."""
        kind = credential_of_field(name, self.fields)
        if kind is None or not is_marker(masked):
            return None
        if kind not in self.kinds:
            self.kinds.append(kind)
        return placeholder(kind)

    def header(self, name: str, value: str) -> str | None:
        """The header's value with placeholders, or None to drop it."""
        low = name.lower()
        if low == "cookie":
            if "[REDACTED:" in value:
                self.login = True
            return None
        if low in ("authorization", "proxy-authorization"):
            m = _SCHEME.match(value)
            scheme = m.group(1) if m else ""
            kind = {"basic": "basic", "bearer": "bearer"}.get(scheme.lower(), "api_key")
            if m is None and not is_marker(value.strip()):
                return None
            if kind not in self.kinds:
                self.kinds.append(kind)
            return (f"{scheme} " if scheme else "") + placeholder(kind)
        if low in _DROP_HEADERS:
            return None
        if "[REDACTED:" not in value:
            return value
        return self.put(name, value.strip())

    def pairs(self, text: str) -> str:
        """`a=1&password=[REDACTED:...]` with placeholders for the masked credentials."""
        pieces = text.split("&")
        for i, piece in enumerate(pieces):
            name, eq, value = piece.partition("=")
            new = self.put(unquote_plus(name), unquote_plus(value)) if eq else None
            if new is not None:
                pieces[i] = f"{name}={new}"
        return "&".join(pieces)

    def json_text(self, text: str) -> str:
        """A JSON body with placeholders for masked credentials under their keys (the
        rest of the text byte for byte)."""

        def sub(m: re.Match[str]) -> str:
            new = self.put(m.group(1), m.group(3))
            return m.group(0) if new is None else f'"{m.group(1)}"{m.group(2)}"{new}"'

        return _JSON_MASKED.sub(sub, text)
