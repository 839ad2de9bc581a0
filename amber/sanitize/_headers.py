"""Headers: the name decides first, then the value rules run on everything else.

| header | treatment |
|---|---|
| `authorization`, `proxy-authorization` | scheme kept: `Bearer [REDACTED:authorization]` |
| `cookie` | per cookie, names kept: values masked, except preferences (`SAFE_COOKIES`) |
| `set-cookie` | every value masked (folded lines too); names and attributes kept |
| forwarded-for family | every address pseudonymized (TEST-NET / 2001:db8::) |
| `from` | email pseudonymized; anything else masked |
| `location`, `referer`, `content-location`, `x-original-url`... | the URL rules (`_urls.py`) |
| API-key, token, signature headers, or a name with a marker token | masked whole |
| a name the key rules call sensitive (`X-Passport-Number`, `X-Dob`) | masked whole |
| a name the key rules call an identity (`X-User-Email`, `X-Phone`) | pseudonymized |
| allowlisted (`content-type`, `date`...) | untouched |
| everything else | URLs in it by the URL rules (`link`, `refresh`), then value rules |
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from amber._model import Headers
from amber._model import Redaction
from amber._pseudonym import Pseudonymizer
from amber._pseudonym import is_marker
from amber._pseudonym import marker

from ._fields import field_verdict
from ._keys import KeyClassifier
from ._keys import version_like
from ._urls import URL_HEADERS
from ._values import ValueScanner

if TYPE_CHECKING:
    from ._urls import UrlSanitizer

__all__ = [
    "DEFAULT_KEEP_HEADERS",
    "SAFE_COOKIES",
    "DEFAULT_SENSITIVE_HEADERS",
    "FORWARDED_IP_HEADERS",
    "HeaderSanitizer",
]

DEFAULT_SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {
        "x-api-key", "api-key", "apikey", "x-auth-token", "x-csrf-token", "x-xsrf-token",
        "x-csrftoken", "csrf-token", "x-amz-security-token", "x-goog-api-key",
        "x-session-token", "x-session-id", "www-authenticate", "proxy-authenticate",
        "x-access-token", "x-refresh-token", "x-id-token", "x-client-secret",
        "stripe-signature", "x-hub-signature", "x-hub-signature-256", "x-slack-signature",
        "x-twilio-signature", "x-shopify-hmac-sha256", "webhook-signature",
        "x-signature", "x-webhook-signature", "x-gitlab-token", "x-vault-token",
        "x-amz-signature", "x-ms-authorization-auxiliary", "x-functions-key",
        # API keys under names that do not say so: Honeycomb's, JFrog Artifactory's
        "x-honeycomb-team", "x-jfrog-art-api",
    }
)  # fmt: skip

FORWARDED_IP_HEADERS: frozenset[str] = frozenset(
    {
        "x-forwarded-for", "x-real-ip", "true-client-ip", "cf-connecting-ip",
        "x-client-ip", "x-cluster-client-ip", "fastly-client-ip", "x-original-forwarded-for",
        "x-envoy-external-address", "forwarded", "x-forwarded",
    }
)  # fmt: skip

DEFAULT_KEEP_HEADERS: frozenset[str] = frozenset(
    {
        "content-type", "content-length", "content-encoding", "content-language",
        "content-range", "transfer-encoding", "connection", "keep-alive", "accept",
        "accept-encoding", "accept-language", "accept-ranges", "cache-control", "pragma",
        "date", "expires", "last-modified", "etag", "if-none-match", "if-match",
        "if-modified-since", "if-unmodified-since", "vary", "age", "host", "upgrade", "te",
        "trailer", "range", "access-control-allow-methods", "access-control-allow-headers",
        "access-control-expose-headers", "access-control-request-headers",
        "access-control-request-method", "access-control-max-age",
        "access-control-allow-credentials", "strict-transport-security",
        "x-content-type-options", "x-frame-options", "idempotency-key",
        "sec-websocket-key", "sec-websocket-accept", "sec-websocket-version",
        "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user",
    }
)  # fmt: skip

_NAME_MARKERS: frozenset[str] = frozenset(
    {
        "token", "secret", "signature", "sig", "auth", "authorization", "authenticate",
        "authentication", "key", "apikey", "session", "sessionid", "password", "passwd",
        "pwd", "credential", "credentials", "csrf", "xsrf", "csrftoken", "hmac", "jwt", "otp",
        "sess",
    }
)  # fmt: skip

SAFE_COOKIES: frozenset[str] = frozenset(
    {
        "theme", "lang", "language", "locale", "tz", "timezone", "currency", "country",
        "colorscheme", "color_scheme", "color-scheme", "colormode", "color_mode", "darkmode",
        "dark_mode", "font_size", "layout", "sidebar_collapsed", "page_size", "pagesize",
        "cookieconsent", "cookie_consent", "cookies_accepted",
    }
)  # fmt: skip
# A `,` in a `Set-Cookie` line that starts the next cookie (not the one in `Expires=Wed, 09`)
_FOLD = re.compile(r",(?=[ \t]*[^\s=;,]+=)")
_OPAQUE = re.compile(r"[A-Za-z0-9+/=_.%~-]{16,}")
_SCHEME = re.compile(r"^([ \t]*[A-Za-z][A-Za-z0-9._~+-]*[ \t]+)(\S.*)$", re.DOTALL)
_FORWARDED_ADDR = re.compile(r'(?i)\b(for|by)=("?)([^;,"\s]+)\2')
_IP_PORT = re.compile(r"^\[?([0-9A-Fa-f:.]+?)\]?(?::([0-9]{1,5}))?$")


def _name_tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[-_.\s]+", name.lower()) if t]


def is_opaque_token(value: str) -> bool:
    """Looks like a credential: 16+ token characters mixing letters and digits."""
    if _OPAQUE.fullmatch(value) is None:
        return False
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


class HeaderSanitizer:
    """Sanitizes a header multi-map; names and order are always kept."""

    def __init__(
        self,
        scanner: ValueScanner,
        keys: KeyClassifier,
        pseudonymizer: Pseudonymizer,
        *,
        sensitive: Iterable[str] = (),
        keep: Iterable[str] = (),
        urls: UrlSanitizer | None = None,
        keep_cookies: Iterable[str] = (),
    ) -> None:
        self.scanner = scanner
        self.urls = urls
        self.keep_cookies = frozenset(k.lower() for k in keep_cookies)
        self.keys = keys
        self.pseudo = pseudonymizer
        self.keep = DEFAULT_KEEP_HEADERS | {k.lower() for k in keep}
        self.sensitive = (DEFAULT_SENSITIVE_HEADERS | {s.lower() for s in sensitive}) - {
            k.lower() for k in keep
        }
        self._verdicts: dict[str, str] = {}
        # a header named by an identity key (`X-User-Email`): the pseudonym kind
        self._identities: dict[str, str] = {}

    def _kind(self, lname: str, name: str) -> str:
        found = self._verdicts.get(name)
        if found is not None:
            return found
        if lname in self.keep:
            kind = "keep"
        elif lname in URL_HEADERS and self.urls is not None:
            kind = "url"
        elif lname in ("authorization", "proxy-authorization"):
            kind = "authorization"
        elif lname == "cookie":
            kind = "cookie"
        elif lname == "set-cookie":
            kind = "set-cookie"
        elif lname in FORWARDED_IP_HEADERS:
            kind = "forwarded"
        elif lname in self.sensitive:
            kind = "mask"
        elif lname == "from":
            kind = "from"
        elif any(t in _NAME_MARKERS for t in _name_tokens(lname)):
            kind = "mask"
        else:
            kind = self._by_key(lname, name)
        if len(self._verdicts) < 10_000:
            self._verdicts[name] = kind
        return kind

    def _by_key(self, lname: str, name: str) -> str:
        """The kind of a header the key rules name (`X-Passport-Number`, `X-User-Email`,
        `X-oldPw`: the name as written, so camelCase splits): "mask", "identity" (kind
        noted in `_identities`), or "values"."""
        verdict = self.keys.classify(name[2:] if lname.startswith("x-") else name)
        if verdict is None or verdict == ("pseudonym", "name"):
            return "values"  # a bare `X-Name` is no person's
        action, what = verdict
        if action == "mask":
            return "mask"
        self._identities[lname] = what
        return "identity"

    def sanitize(self, headers: Headers, side: str, out: list[Redaction]) -> Headers:
        result: list[tuple[str, str]] = []
        changed = False
        verdicts = self._verdicts
        for name, value in headers:
            if verdicts.get(name) == "keep" and "@" not in value:
                result.append((name, value))  # `Accept`, `Content-Type`...: no call, no location
                continue
            new = self._one(name, value, f"{side}.headers.{name.lower()}", out)
            if new != value:
                changed = True
            result.append((name, new))
        return tuple(result) if changed else headers

    def _one(self, name: str, value: str, loc: str, out: list[Redaction]) -> str:
        lname = name.lower()
        kind = self._kind(lname, name)
        if kind == "keep":
            if lname == "host" and "@" in value:
                out.append(Redaction("url-userinfo", loc, "drop"))
                return value.rpartition("@")[2]
            return value
        if not value.strip():
            return value
        if kind == "values":
            return self._values(name, value, loc, out)
        if kind == "url" and self.urls is not None:
            return self.scanner.apply(self.urls.url(value, loc, out), loc, out)
        if kind == "authorization":
            return self._authorization(value, loc, out)
        if kind == "cookie":
            return self._cookie(value, loc, out)
        if kind == "set-cookie":
            return self._set_cookie(value, loc, out)
        if kind == "forwarded":
            return self._forwarded(lname, value, loc, out)
        if kind == "identity":
            what = self._identities[lname]
            if is_marker(value) or self.pseudo.is_own(what, value):
                return value
            out.append(Redaction(what, loc, "pseudonym"))
            return self.pseudo.pseudonym(what, value)
        if kind == "from":
            new = self.scanner.apply(value, loc, out)
            if new == value and not is_marker(value) and not self.pseudo.is_own("email", value):
                out.append(Redaction("from", loc, "mask"))
                return marker("from")
            return new
        # mask
        if is_marker(value):
            return value
        out.append(Redaction("sensitive-header", loc, "mask"))
        return marker("sensitive-header")

    def _values(self, name: str, value: str, loc: str, out: list[Redaction]) -> str:
        core = value.strip()
        if version_like(name, core):
            return value  # `X-App-Version: 2.4.1.0` is not an address
        verdict = field_verdict(name.lower().removeprefix("x-"), core)
        if verdict is not None:  # `X-Code: <an OAuth code>`, `X-Amz-Signature`, `X-Ak-Bmsc`
            if is_marker(core):
                return value
            out.append(Redaction(verdict[1], loc, "mask"))
            return marker(verdict[1])
        if self.urls is not None:
            if len(core) > 1 and core[0] in "{[" and core[-1] in "}]":
                edited = self.urls.bodies.json_text(value, loc, out)
                if edited is not None:  # a JSON document in a header: walked like a body
                    return edited
            value = self.urls.in_text(value, loc, out)  # `Link: <url>`, `Refresh: 0; url=`
        return self.scanner.apply(value, loc, out)

    def _authorization(self, value: str, loc: str, out: list[Redaction]) -> str:
        m = _SCHEME.match(value)
        if m is not None:
            scheme, cred = m.group(1), m.group(2)
            if is_marker(cred.strip()):
                return value
            out.append(Redaction("authorization", loc, "mask"))
            return scheme + marker("authorization")
        if is_marker(value.strip()):
            return value
        out.append(Redaction("authorization", loc, "mask"))
        return marker("authorization")

    def _cookie(self, value: str, loc: str, out: list[Redaction]) -> str:
        """Each `name=value` of a `Cookie` header: names kept; a value masked unless its
        name is a known preference (`SAFE_COOKIES`, or a kept key) and it is not opaque."""
        parts = value.split(";")
        changed = False
        for i, part in enumerate(parts):
            name, eq, val = part.partition("=")
            if not eq or not val.strip():
                continue
            cname = name.strip()
            cloc = f"{loc}.{cname}"
            core = val.strip()
            quoted = len(core) >= 2 and core[0] == core[-1] == '"'
            inner = core[1:-1] if quoted else core
            if not inner or is_marker(inner):
                continue
            if not self._safe_cookie(cname) or is_opaque_token(inner):
                out.append(Redaction("cookie", cloc, "mask"))
                new_inner = marker("cookie")
            else:
                new_inner = self.scanner.apply(inner, cloc, out)
                if new_inner == inner:
                    continue
            lead = val[: len(val) - len(val.lstrip())]
            trail = val[len(val.rstrip()) :]
            q = '"' if quoted else ""
            parts[i] = f"{name}={lead}{q}{new_inner}{q}{trail}"
            changed = True
        return ";".join(parts) if changed else value

    def _safe_cookie(self, name: str) -> bool:
        low = name.lower()
        return low in SAFE_COOKIES or low in self.keep_cookies

    def _set_cookie(self, value: str, loc: str, out: list[Redaction]) -> str:
        """Every cookie's value masked, its name and attributes kept; a folded line (several
        cookies joined by `,` before the next `name=`) is handled cookie by cookie."""
        cookies = _FOLD.split(value)
        for i, cookie in enumerate(cookies):
            first, sep, attrs = cookie.partition(";")
            name, eq, val = first.partition("=")
            core = val.strip().strip('"')
            if not eq or not core or is_marker(core):
                continue
            out.append(Redaction("set-cookie", f"{loc}.{name.strip()}", "mask"))
            lead = val[: len(val) - len(val.lstrip())]
            cookies[i] = f"{name}={lead}{marker('set-cookie')}{sep}{attrs}"
        return ",".join(cookies)

    def _ip(self, token: str) -> str | None:
        """The pseudonym of an address token (with optional port), or None."""
        m = _IP_PORT.match(token.strip())
        if m is None:
            return None
        host, port = m.group(1), m.group(2)
        if host.count(":") >= 2 and not token.strip().startswith("["):
            host, port = token.strip(), None  # IPv6: no port unless bracketed
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return None
        text = str(addr)
        if self.pseudo.is_own("ip", text) or addr.is_loopback or addr.is_unspecified:
            return None
        fake = self.pseudo.pseudonym("ip", text)
        if addr.version == 6:
            fake = f"[{fake}]" if token.strip().startswith("[") else fake
        return f"{fake}:{port}" if port else fake

    def _forwarded(self, lname: str, value: str, loc: str, out: list[Redaction]) -> str:
        count = 0
        if lname in ("forwarded", "x-forwarded"):

            def repl(m: re.Match[str]) -> str:
                nonlocal count
                fake = self._ip(m.group(3))
                if fake is None:
                    return m.group(0)
                count += 1
                q = m.group(2) or ('"' if ":" in fake else "")
                return f"{m.group(1)}={q}{fake}{q}"

            new = _FORWARDED_ADDR.sub(repl, value)
        else:
            parts = value.split(",")
            for i, part in enumerate(parts):
                fake = self._ip(part)
                if fake is not None:
                    lead = part[: len(part) - len(part.lstrip())]
                    parts[i] = lead + fake
                    count += 1
            new = ",".join(parts)
        if count:
            out.append(Redaction("client-ip", loc, "pseudonym"))
        # whatever else is in there still goes through the value rules
        return self.scanner.apply(new, loc, out)
