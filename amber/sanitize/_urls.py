"""URLs wherever they occur: the request line, URL headers, text bodies and JSON strings.

One `UrlSanitizer` applies the same rules to every URL, so a signed download link is
masked alike in the request line, a `Location` header, an `<a href>` and a JSON string:

* **query and fragment**: each parameter by the key rules, plus the signed-URL and OAuth
  parameters that mean "secret" only in a URL (`X-Amz-Signature`, `oauth_signature`,
  `sig`, `hash`, `ticket`, `k`, `code`...: `url_param_verdict`), then the value rules.
* **path**: a segment after a marker segment (`/password-reset/<token>`, `/invite/<code>`)
  is a token; after `reset`, `verify`, `invite`, `confirm` and the like even when it is
  short or letters only (`/verify-email/qwhdkfta`), after the others (`token`, `share`,
  `download`...) when it mixes letters and digits.
* **userinfo**: the value rules mask a password (`https://user:[REDACTED:url-userinfo]@h`).
* **URL-encoded URLs** inside text (`redirect=https%3A%2F%2F...`) are decoded, sanitized
  by the same rules and encoded again when something was replaced.

Untouched URLs and untouched parts of a URL keep their exact bytes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote
from urllib.parse import unquote

from amber._model import Redaction
from amber._pseudonym import marker

from ._encoded import quoted_printable
from ._encoded import reencoded
from ._keys import Verdict
from ._keys import normalize_key
from ._keys import split_tokens

if TYPE_CHECKING:
    from ._bodies import BodySanitizer

__all__ = ["URL_HEADERS", "UrlSanitizer", "url_param_verdict"]

# Headers whose whole value is one URL (`Link` and `Refresh` hold one among other text).
URL_HEADERS = frozenset(
    {"location", "referer", "content-location", "x-original-url", "x-rewrite-url",
     "origin-url", "x-forwarded-url",
     # the original request's path and query as proxies pass them on (Traefik and nginx
     # forward auth, Envoy, IIS): an OAuth callback's `?code=` travels in them
     "x-forwarded-uri", "x-original-uri", "x-envoy-original-path", "x-request-uri",
     "x-forwarded-path"}
)  # fmt: skip
# Query parameters that carry a signature or a credential in signed and OAuth URLs.
_SIGNED_PARAMS = frozenset(
    {
        "xamzsignature", "xamzcredential", "xamzsecuritytoken", "xgoogsignature",
        "xgoogcredential", "oauthsignature", "oauthtoken", "oauthverifier", "signature",
        "sig", "keypairid", "policy", "setoken", "sessiontoken", "accesstoken", "idtoken",
        "refreshtoken", "token", "apikey", "key", "secret", "password", "authtoken",
    }
)  # fmt: skip
# Short or common names that are a secret in a URL only with a value long enough to be one
# (`?code=200` and `?hash=sha256` stay; `?code=<OAuth code>` and `?k=<key>` do not).
_AMBIGUOUS_PARAMS = frozenset({"code", "hash", "ticket", "k", "st", "auth", "t", "h", "s"})
_AMBIGUOUS_MIN = 8
_VERDICT: Verdict = ("mask", "signed-url")
# After one of these path segments, the next segment is a token even if short or letters
# only; after one of `_PATH_MARKERS`, when it mixes letters and digits.
_STRONG_MARKERS = frozenset(
    {
        "reset", "verify", "verification", "confirm", "confirmation", "invite", "invites",
        "invitation", "invitations", "magic", "unsubscribe", "activate", "activation",
    }
)  # fmt: skip
_PATH_MARKERS = _STRONG_MARKERS | frozenset(
    {
        "token", "tokens", "secret", "secrets", "password", "session", "sessions", "apikey",
        "apikeys", "key", "keys", "auth", "oauth", "callback", "share", "download", "login",
    }
)  # fmt: skip
# What follows a strong marker that is an action, not a token (`/invite/accept`).
_ACTIONS = frozenset(
    {
        "accept", "decline", "resend", "request", "requests", "complete", "success",
        "failed", "expired", "status", "start", "finish", "email", "password", "account",
        "callback", "link", "new", "cancel", "confirm", "verify", "reset", "phone", "sent",
    }
)  # fmt: skip
_STRONG_TOKEN = re.compile(r"[A-Za-z0-9_~-]{6,}")
_MIXED_TOKEN = re.compile(r"[A-Za-z0-9_~.=+/-]{8,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A URL in text: a scheme, `://`, then up to a space, quote, bracket or backslash; and a
# percent-encoded one (`https%3A%2F%2F...`, `mongodb%2Bsrv%3A%2F%2F...`), up to the end of its
# parameter.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s\"'<>`\\]+")
# in quoted-printable text a URL goes on after a soft line break (`=` at a line's end)
_QP_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,15}://(?:=\r?\n|[^\s\"'<>`\\])+")
_ENCODED_URL = re.compile(r"(?i)\b[a-z](?:[a-z0-9+.-]|%2B){1,15}%3A%2F%2F[^\s\"'<>`\\&]+")
_TRAILING = ".,;:!?)]}'"
_PCHAR_SAFE = "[]:@!$&'()*+,;=~"


def _encode_segment(text: str) -> str:
    return quote(text, safe=_PCHAR_SAFE, errors="surrogateescape")


def _encode_in_encoded(text: str) -> str:
    """What replaced a span of a percent-encoded URL (`https%3A%2F%2F...`): encoded but
    for a marker's brackets and colon, which stay readable."""
    return quote(text, safe="[]:", errors="surrogateescape")


def url_param_verdict(name: str, value: str) -> Verdict:
    """The verdict a URL query parameter gets by its name alone (None: the key rules')."""
    key = normalize_key(name).replace("_", "").replace("-", "")
    if key in _SIGNED_PARAMS:
        return _VERDICT
    if key in _AMBIGUOUS_PARAMS and len(value) >= _AMBIGUOUS_MIN and not value.isdigit():
        return _VERDICT
    return None


def _strong_token(value: str) -> bool:
    return (
        _STRONG_TOKEN.fullmatch(value) is not None
        and value.lower() not in _ACTIONS
        and not (value.isdigit() and len(value) < 10)
    )


def _mixed_token(value: str) -> bool:
    if _MIXED_TOKEN.fullmatch(value) is None or _UUID.fullmatch(value) is not None:
        return False
    digits = sum(c.isdigit() for c in value)
    letters = sum(c.isalpha() for c in value)
    if len(value) >= 16:
        return digits > 0 and letters > 0
    if "-" in value or "_" in value or "." in value:
        return False  # `report-2024`, `v2_final`: words, not a token
    return digits >= 2 and letters >= 3 and not value.isalpha()


class UrlSanitizer:
    """Sanitizes URLs and the request path; `out` collects the redactions."""

    def __init__(self, bodies: BodySanitizer) -> None:
        self.bodies = bodies
        self.scanner = bodies.scanner
        self._segment_kinds: dict[str, str | None] = {}

    def in_text(self, text: str, location: str, out: list[Redaction]) -> str:
        """`text` with every URL in it sanitized (plain or percent-encoded)."""
        if "://" in text:
            rx = _QP_URL if quoted_printable(text) else _URL
            text = rx.sub(lambda m: self._found(m, location, out), text)
        if "%3A%2F%2F" in text or "%3a%2f%2f" in text:
            text = _ENCODED_URL.sub(lambda m: self._encoded(m.group(0), location, out), text)
        return text

    def _found(self, m: re.Match[str], location: str, out: list[Redaction]) -> str:
        found = m.group(0)
        core = found.rstrip(_TRAILING)
        return self.url(core, location, out) + found[len(core) :]

    def _encoded(self, found: str, location: str, out: list[Redaction]) -> str:
        decoded = unquote(found, errors="surrogateescape")
        new = self.url(decoded, location, out)
        if new == decoded:
            return found
        return reencoded(found, new, _encode_in_encoded)

    def url(self, url: str, location: str, out: list[Redaction]) -> str:
        """One URL (absolute, or a path with its query) with the rules applied."""
        head, sep, fragment = url.partition("#")
        head, qsep, query = head.partition("?")
        scheme, colons, rest = head.partition("://")
        if not colons:
            scheme, rest = "", head
        authority, slash, path = rest.partition("/") if colons else ("", "", rest)
        if authority and "@" in authority:
            authority = self.scanner.apply(scheme + "://" + authority, location, out)[
                len(scheme) + 3 :
            ]
        new_path = self.path(slash + path, f"{location}.path", out) if slash or path else ""
        if query:
            query = self.query(query, f"{location}.query", out, html="&amp;" in query)
        if fragment and "=" in fragment:
            fragment = self.query(fragment, f"{location}.fragment", out, html=False)
        start = scheme + colons + authority if colons else ""
        return start + new_path + qsep + query + sep + fragment

    def query(self, query: str, location: str, out: list[Redaction], *, html: bool) -> str:
        """A query string by `url_param_verdict`, the key rules and the value rules
        (`html`: its `&` are written `&amp;`, as in an `href`)."""
        if not html:
            return self.bodies.pairs(query, location, out, plus=True, url=True)
        plain = query.replace("&amp;", "&")
        new = self.bodies.pairs(plain, location, out, plus=True, url=True)
        return query if new == plain else new.replace("&", "&amp;")

    def path(self, path: str, location: str, out: list[Redaction]) -> str:
        """A path with tokens after marker segments masked and each segment scanned."""
        if not path or path == "/":
            return path
        segments = path.split("/")
        changed = False
        after: str | None = None  # "strong", "weak" or None: what the previous segment was
        for i, seg in enumerate(segments):
            if not seg:
                continue
            # `;jsessionid=...` path parameters
            base, semi, params = seg.partition(";")
            value = unquote(base, errors="surrogateescape")
            new = value
            if after is not None and (
                _strong_token(value) if after == "strong" else _mixed_token(value)
            ):
                out.append(Redaction("path-token", location, "mask"))
                new = marker("path-token")
            elif len(value) > 5:
                new = self.scanner.apply(value, location, out)
            new_params = params
            if semi:
                new_params = self.bodies.pairs(
                    params.replace(";", "&"), location, out, plus=False
                ).replace("&", ";")
            if new != value or new_params != params:
                enc = base if new == value else reencoded(base, new, _encode_segment)
                segments[i] = enc + semi + new_params
                changed = True
            after = self._segment_kind(value)
        return "/".join(segments) if changed else path

    def _segment_kind(self, value: str) -> str | None:
        """What a path segment says of the next: "strong" (`reset`...), "weak" or None.
        Cached: segments repeat (`api`, `v1`, `users`)."""
        kinds = self._segment_kinds
        try:
            return kinds[value]
        except KeyError:
            pass
        tokens = split_tokens(value)
        kind: str | None = None
        if any(t in _STRONG_MARKERS for t in tokens):
            kind = "strong"
        elif any(t in _PATH_MARKERS for t in tokens):
            kind = "weak"
        if len(kinds) < 50_000:
            kinds[value] = kind
        return kind
