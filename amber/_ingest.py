"""The one path every exchange takes before it is stored: decode, cap, sanitize, label.

Capture's writer thread, `amber import` and anything else that persists exchanges call
`Pipeline.process`; there is no other way into the store for outside traffic.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import TypeVar

from amber._config import Config
from amber._decode import decode_body
from amber._model import Exchange
from amber._model import Redaction
from amber._model import Request
from amber._model import Response
from amber._model import extract_request_id
from amber._pseudonym import Pseudonymizer
from amber._routes import Router
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer

__all__ = ["DEFAULT_BODY_CAP", "Pipeline"]

_M = TypeVar("_M", Request, Response)

DEFAULT_BODY_CAP = 1024 * 1024
"""Bodies above this many (decoded) bytes are cut to it and flagged `body_truncated`."""

_WINDOW = 4096
"""How far past the cap a body is sanitized before it is cut: a secret that straddles the
cap is seen whole, replaced, and no prefix of it is stored."""
_PARTIAL_MAX = 512
# A cut body's last word: the bytes after the last space, quote, bracket, comma or
# semicolon (a token, a URL, `key=value&...`). When the cut falls inside it and it is
# shorter than `_PARTIAL_MAX`, it is dropped: it may be the prefix of a secret, too short
# for the detectors to recognize.
# A marker (`[REDACTED:rule]`) inside a word is part of it (`postgres://user:[REDACTED:
# url-userinfo]@db`), and so is a marker the cut falls inside (`mysql://user:[RED`): the word
# is the secret's context, and its start may be the planted value's own prefix.
_WORD = rb"[^\s\"'<>()\[\]{},;]"
_MARKER = rb"\[REDACTED:[a-z0-9-]{1,64}\]"
_CUT_MARKER = rb"\[(?:[A-Z]{1,8}(?::[a-z0-9-]{0,64})?)?\Z"
_PARTIAL = re.compile(rb"(?:%s|%s)+(?:%s)?\Z|%s" % (_WORD, _MARKER, _CUT_MARKER, _CUT_MARKER))
_TOKEN_BYTE = re.compile(rb"%s|\[REDACTED:" % _WORD)


@dataclass
class _Counters:
    processed: int = 0
    truncated: int = 0
    undecodable: int = 0


class Pipeline:
    """Decode, cap, sanitize and label exchanges. Thread-safe after construction."""

    def __init__(
        self,
        sanitizer: Sanitizer,
        router: Router,
        request_id_headers: tuple[str, ...] = (),
        body_cap: int = DEFAULT_BODY_CAP,
        max_decoded: int | None = None,
    ) -> None:
        self.sanitizer = sanitizer
        self.router = router
        self.request_id_headers = request_id_headers
        self.body_cap = body_cap
        # Decompress up to somewhat more than the cap, so a capped body is still real data.
        self.max_decoded = max_decoded if max_decoded is not None else max(body_cap * 4, 1 << 20)
        self.counters = _Counters()

    @classmethod
    def from_config(cls, config: Config, key: bytes, *, body_cap: int | None = None) -> Pipeline:
        """Build from amber.yaml (`sanitize`, `routes`, `request_id_headers`, `capture`).

        *Raises:* `ConfigError` naming file, line and key.
        """
        section: Mapping[str, Any] = config.section("sanitize")
        scfg = config.with_key("sanitize", lambda: SanitizeConfig.from_mapping(section))
        cap = body_cap
        if cap is None:
            raw = config.section("capture").get("max_body_size", DEFAULT_BODY_CAP)
            if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
                raise config.error("expected a byte count (integer >= 0)", "capture.max_body_size")
            cap = raw
        return cls(
            Sanitizer(scfg, Pseudonymizer(key)),
            config.router,
            config.request_id_headers,
            body_cap=cap,
        )

    def _decoded(self, msg: _M, where: str, notes: list[Redaction]) -> _M:
        """`msg` with its body decoded and capped (`msg` itself when that changes nothing,
        as for most bodies: no copy of the message)."""
        decoded = decode_body(msg.body, msg.content_encoding, max_decoded=self.max_decoded)
        body = decoded.body
        truncated = msg.body_truncated or decoded.truncated
        if decoded.undecodable:
            self.counters.undecodable += 1
            notes.append(Redaction("undecodable-body", f"{where}.body", "drop"))
            body = b""
        if self.body_cap and len(body) > self.body_cap:
            body = body[: self.body_cap + _WINDOW]  # cut to the cap after sanitizing
            truncated = True
        if truncated:
            self.counters.truncated += 1
        encoding = decoded.original_encoding or msg.content_encoding
        if (
            body is msg.body
            and truncated == msg.body_truncated
            and encoding == msg.content_encoding
        ):
            return msg
        return dataclasses.replace(
            msg, body=body, content_encoding=encoding, body_truncated=truncated
        )

    def _window(self, msg: _M) -> _M:
        """`msg` with a body over the cap cut to the sanitizing window, flagged truncated."""
        if not self.body_cap or len(msg.body) <= self.body_cap:
            return msg
        return dataclasses.replace(
            msg, body=msg.body[: self.body_cap + _WINDOW], body_truncated=True
        )

    def _cut(self, msg: _M) -> _M:
        """A sanitized truncated body cut to the cap, without a trailing partial token.

        The end of a truncated body is a cut (ours at the cap, the window's, or one made
        before amber saw it); the word a cut falls inside is dropped, so no prefix of a
        secret too short to be recognized is stored.
        """
        if not msg.body_truncated or not msg.body:
            return msg
        body = msg.body
        inside = True
        if self.body_cap and len(body) > self.body_cap:
            inside = _TOKEN_BYTE.match(body, self.body_cap) is not None
            body = body[: self.body_cap]
        if inside:
            m = _PARTIAL.search(body, max(0, len(body) - _PARTIAL_MAX - 1))
            if m is not None and (m.start() == 0 or not _TOKEN_BYTE.match(body, m.start() - 1)):
                body = body[: m.start()]
        return msg if body is msg.body else dataclasses.replace(msg, body=body)

    def process(self, ex: Exchange, *, encoded: bool = True) -> Exchange:
        """The stored form of `ex`.

        `encoded=True` means the bodies are still as on the wire (capture); imports from HAR
        or flow files pass already decoded bodies with `encoded=False`.

        *Raises:* `SanitizeError` when the exchange cannot be made safe: drop it.
        """
        notes: list[Redaction] = []
        req, resp = ex.request, ex.response
        if encoded:
            req = self._decoded(req, "request", notes)
            if resp is not None:
                resp = self._decoded(resp, "response", notes)
        else:
            req = self._window(req)
            if resp is not None:
                resp = self._window(resp)
        staged = ex
        if req is not ex.request or resp is not ex.response:
            staged = dataclasses.replace(ex, request=req, response=resp)
        clean = self.sanitizer.sanitize(staged)
        clean = dataclasses.replace(
            clean,
            request=self._cut(clean.request),
            response=self._cut(clean.response) if clean.response is not None else None,
        )
        self.counters.processed += 1
        request_id = extract_request_id(
            clean.request.headers,
            clean.response.headers if clean.response else (),
            self.request_id_headers,
        )
        return dataclasses.replace(
            clean,
            request_id=request_id,
            route=self.router.route(clean.request.method, clean.request.path),
            redactions=tuple(notes) + clean.redactions,
        )
