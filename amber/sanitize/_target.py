"""`TargetSanitizer`: a target's live response put in the capture's sanitized space.

Replay, shadow and snapshot tests compare what a target answers with what was recorded,
and the recording is sanitized: a real name is stored as its pseudonym, a token as
`[REDACTED:<rule>]`. Comparing the raw answer with it would report every pseudonymized
field as different, and keep the raw values in run results and reports. So the answer goes
through the same `Sanitizer`, with the same key, first: the keyed pseudonymizer gives the
same fake for the same real value, a marker meets a marker, and nothing raw is kept.

Cheap where it can be:

* a body byte-equal to the recorded one is taken as is (it *is* the stored, sanitized
  body), as is each header field equal to a recorded one (name and value) and a reason
  equal to the recorded one;
* any other body gets the sanitizer's full body rules (key rules in context, value
  detectors), each differing header field the header rules, the reason the value rules.
  Pseudonyms are cached by the `Pseudonymizer`.

Fails closed: a body that cannot be sanitized is replaced by `[REDACTED:unsanitized-body]`
(it then differs, visibly) rather than kept raw.
"""

from __future__ import annotations

import dataclasses

from amber._model import Exchange
from amber._model import Headers
from amber._model import Redaction
from amber._model import Response
from amber._pseudonym import marker

from ._sanitizer import Sanitizer

__all__ = ["UNSANITIZED_BODY", "TargetSanitizer"]

UNSANITIZED_BODY = marker("unsanitized-body").encode()
"""The body kept in place of one the sanitizer failed on."""


class TargetSanitizer:
    """Puts target responses and texts in the sanitized space of `sanitizer`.

    ```python
    >>> ts = TargetSanitizer(Sanitizer(SanitizeConfig(), Pseudonymizer(load_key())))
    >>> clean = ts.response(live_response, recorded_exchange)
    ```

    Safe to share between threads (it keeps no state of its own).
    """

    def __init__(self, sanitizer: Sanitizer) -> None:
        self.sanitizer = sanitizer

    def response(self, actual: Response, recorded: Exchange | Response | None = None) -> Response:
        """`actual` with its headers, body and reason sanitized; the parts equal to the
        `recorded` response's (an exchange's or a response) are kept as they are."""
        rec = recorded.response if isinstance(recorded, Exchange) else recorded
        out: list[Redaction] = []
        headers = self.headers(actual.headers, rec.headers if rec is not None else ())
        body = actual.body
        if body and (rec is None or body != rec.body):
            body = self.body(body, actual.content_type)
        reason = actual.reason
        if reason and (rec is None or reason != rec.reason):
            reason = self.sanitizer.scanner.apply(reason, "response.reason", out)
        if headers is actual.headers and body is actual.body and reason is actual.reason:
            return actual
        return dataclasses.replace(actual, headers=headers, body=body, reason=reason)

    def headers(self, headers: Headers, recorded: Headers = ()) -> Headers:
        """`headers` with every field not among `recorded` (same name and value)
        sanitized by the header rules; the same tuple when nothing changed."""
        if not headers or headers == recorded:
            return headers
        known = set(recorded)
        rules = self.sanitizer.headers
        out: list[Redaction] = []
        result: list[tuple[str, str]] = []
        changed = False
        for field in headers:
            if field in known:
                result.append(field)
                continue
            new = rules.sanitize((field,), "response", out)
            if new[0] != field:
                changed = True
            result.append(new[0])
        return tuple(result) if changed else headers

    def body(self, body: bytes, content_type: str | None) -> bytes:
        """`body` by the sanitizer's body rules (fails closed: `UNSANITIZED_BODY`)."""
        out: list[Redaction] = []
        try:
            return self.sanitizer.bodies.sanitize(body, content_type, "response.body", out)
        except Exception:
            return UNSANITIZED_BODY

    def text(self, value: str, location: str = "report") -> str:
        """Free text from a target (an error message, a display) by the value rules."""
        return self.sanitizer.sanitize_text(value, location)[0]
