"""`Sanitizer`: one exchange in, a new sanitized exchange (with its redactions) out."""

from __future__ import annotations

import dataclasses
import ipaddress
import operator
import re

from amber._model import Exchange
from amber._model import Redaction
from amber._model import Request
from amber._model import Response
from amber._pseudonym import Pseudonymizer
from amber.errors import SanitizeError

from ._bodies import BodySanitizer
from ._config import SanitizeConfig
from ._headers import HeaderSanitizer
from ._keys import KeyClassifier
from ._values import ValueScanner

__all__ = ["Sanitizer"]

_ADDR_CACHE_MAX = 4096


_FIELDS = operator.attrgetter("rule", "location", "action")


def _unique(out: list[Redaction]) -> tuple[Redaction, ...]:
    """`tuple(dict.fromkeys(out))`: the first of each equal redaction, in order, by their
    fields' tuples (hashed in C; a frozen dataclass' `__hash__` is a Python call each)."""
    if len(out) < 2:
        return tuple(out)
    keys = list(map(_FIELDS, out))
    first = dict(zip(reversed(keys), reversed(out), strict=True))  # the earliest object wins
    return tuple(map(first.__getitem__, dict.fromkeys(keys)))


class Sanitizer:
    """Applies the header, key, value and body rules to whole exchanges.

    **Parameters:**

    * `config` - what to redact beyond the defaults (`SanitizeConfig()` for the defaults).
    * `pseudonymizer` - makes the pseudonyms (`Pseudonymizer(load_key())`).

    ```python
    >>> s = Sanitizer(SanitizeConfig(), Pseudonymizer(load_key()))
    >>> clean = s.sanitize(exchange)
    ```

    A `Sanitizer`'s rules are fixed at construction and it is safe to share between
    threads (its caches, of client addresses, scanned strings, pseudonyms, keys and
    redactions, hold results only and are bounded: two threads missing one at once
    compute the same value twice).
    """

    def __init__(self, config: SanitizeConfig, pseudonymizer: Pseudonymizer) -> None:
        self.config = config
        self.pseudonymizer = pseudonymizer
        self.keys = KeyClassifier(
            sensitive=config.sensitive_keys,
            markers=config.key_markers,
            keep=config.keep_keys,
            identity=config.identity_keys(),
        )
        self.scanner = ValueScanner(
            pseudonymizer, self.keys, enabled=config.enabled_detectors(), custom=config.rules
        )
        self.bodies = BodySanitizer(self.scanner, self.keys, pseudonymizer)
        self.urls = self.bodies.urls
        self.headers = HeaderSanitizer(
            self.scanner,
            self.keys,
            pseudonymizer,
            sensitive=config.sensitive_headers,
            keep=config.keep_headers,
            urls=self.urls,
            keep_cookies=config.keep_keys,
        )
        # client address -> (its stored form, the redactions made): a proxy sees the same
        # few addresses over and over, and parsing and pseudonymizing one costs ~10 us
        self._addr_cache: dict[str, tuple[str, tuple[Redaction, ...]]] = {}

    # -- public -----------------------------------------------------------------------

    def sanitize(self, ex: Exchange) -> Exchange:
        """A new exchange with every rule applied and `redactions` filled in.

        Redactions already on `ex` (for example `undecodable-body` from `decode_body`) are
        kept. *Raises:* `SanitizeError` when anything unexpected happens; the message names
        the exchange and the error type but never a value from the exchange.
        """
        try:
            return self._sanitize(ex)
        except SanitizeError:
            raise
        except Exception as e:
            raise SanitizeError(
                f"exchange {ex.id} could not be sanitized ({type(e).__name__}); it was dropped"
            ) from None

    def sanitize_text(self, text: str, location: str) -> tuple[str, list[Redaction]]:
        """The value rules (and `key=value` secrets) applied to free text."""
        out: list[Redaction] = []
        return self.scanner.apply(text, location, out), out

    # -- internals --------------------------------------------------------------------

    def _sanitize(self, ex: Exchange) -> Exchange:
        out: list[Redaction] = list(ex.redactions)
        req = self._request(ex.request, out)
        resp = self._response(ex.response, out) if ex.response is not None else None
        error = ex.error
        if error:
            error = self.scanner.apply(error, "error", out)
        client = self._client_addr(ex.client_addr, out)
        return dataclasses.replace(
            ex,
            request=req,
            response=resp,
            error=error,
            client_addr=client,
            redactions=_unique(out),
            meta=dict(ex.meta),
        )

    def _request(self, req: Request, out: list[Redaction]) -> Request:
        headers = self.headers.sanitize(req.headers, "request", out)
        query = self.urls.query(req.query, "request.query", out, html=False)
        path = self.urls.path(req.path, "request.path", out)
        body = self.bodies.sanitize(req.body, req.content_type, "request.body", out)
        host = req.host
        host_header = req.host_header
        if "@" in host:
            out.append(Redaction("url-userinfo", "request.host", "drop"))
            host = host.rpartition("@")[2]
        if host_header and "@" in host_header:
            out.append(Redaction("url-userinfo", "request.host_header", "drop"))
            host_header = host_header.rpartition("@")[2]
        if (
            headers is req.headers
            and query is req.query
            and path is req.path
            and body is req.body
            and host is req.host
            and host_header is req.host_header
        ):
            return req  # nothing replaced (the common case): no copy
        return dataclasses.replace(
            req,
            headers=headers,
            query=query,
            path=path,
            body=body,
            host=host,
            host_header=host_header,
        )

    def _response(self, resp: Response, out: list[Redaction]) -> Response:
        headers = self.headers.sanitize(resp.headers, "response", out)
        body = self.bodies.sanitize(resp.body, resp.content_type, "response.body", out)
        reason = self.scanner.apply(resp.reason, "response.reason", out) if resp.reason else ""
        if headers is resp.headers and body is resp.body and reason == resp.reason:
            return resp  # nothing replaced: no copy
        return dataclasses.replace(resp, headers=headers, body=body, reason=reason)

    def _client_addr(self, addr: str | None, out: list[Redaction]) -> str | None:
        if not addr:
            return addr
        cached = self._addr_cache.get(addr)
        if cached is None:
            notes: list[Redaction] = []
            cached = (self._new_client_addr(addr, notes), tuple(notes))
            if len(self._addr_cache) >= _ADDR_CACHE_MAX:
                self._addr_cache.clear()
            self._addr_cache[addr] = cached
        out.extend(cached[1])
        return cached[0]

    def _new_client_addr(self, addr: str, out: list[Redaction]) -> str:
        host, port = addr, ""
        m = re.fullmatch(r"\[([^\]]+)\](:\d+)?|([0-9.]+)(:\d+)?", addr)
        if m is not None:
            host = m.group(1) or m.group(3)
            port = m.group(2) or m.group(4) or ""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            new = self.scanner.apply(addr, "client_addr", out)
            return new
        if self.pseudonymizer.is_own("ip", str(ip)):
            return addr
        out.append(Redaction("client-ip", "client_addr", "pseudonym"))
        fake = self.pseudonymizer.pseudonym("ip", str(ip))
        if ip.version == 6 and (port or addr.startswith("[")):
            fake = f"[{fake}]"
        return fake + port

    # -- responses from a target ------------------------------------------------------

    def sanitize_response(self, resp: Response) -> tuple[Response, list[Redaction]]:
        """A target's response (not a captured one) put in sanitized space: the response
        rules of `sanitize` (headers, body, reason) with this sanitizer's key, so a value
        gets the pseudonym the capture gave it. Returns the response and the redactions.

        *Raises:* `SanitizeError` when anything unexpected happens (no value in the
        message).
        """
        out: list[Redaction] = []
        try:
            return self._response(resp, out), out
        except Exception as e:
            raise SanitizeError(f"a response could not be sanitized ({type(e).__name__})") from None
