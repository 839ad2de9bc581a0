"""Which keys (JSON members, form fields, query parameters, cookie names) are sensitive.

Two tiers, and never a substring match (Sentry's `auth` matched `author`, `cc` matched
`Accept`):

1. **Exact** match on the normalized key: lowercase, `-` and `.` folded to `_`.
2. **Marker** match on the key's *tokens*, split on `_`, `-`, `.` and camelCase
   (`userPassword` -> `user`, `password`). `token` is a marker, the plural `tokens` is not:
   `tokens_used`, `max_tokens`, `prompt_tokens` are counts. A marker followed by a
   qualifier such as `count`, `expires`, `type` or `length` (`session_count`,
   `token_expires_at`, `password_length`), or preceded by `has`, `is`, `num`, `max`...
   (`has_password`) describes the secret rather than holding it and is not redacted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping

__all__ = [
    "DEFAULT_IDENTITY_KEYS",
    "DEFAULT_IDENTITY_SUFFIXES",
    "DEFAULT_KEY_MARKERS",
    "DEFAULT_SENSITIVE_KEYS",
    "KeyClassifier",
    "normalize_key",
    "split_tokens",
    "version_like",
]

# Sentry's SDK denylist, Schemathesis' extras and the auth/payment names of the reference.
DEFAULT_SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        # sentry-python DEFAULT_DENYLIST
        "password", "passwd", "secret", "api_key", "apikey", "auth", "credentials",
        "mysql_pwd", "privatekey", "private_key", "token", "session", "csrftoken",
        "sessionid", "x_csrftoken", "set_cookie", "cookie", "authorization",
        "x_api_key", "aiohttp_session", "connect_sid", "csrf_token", "csrf", "_csrf",
        "_csrf_token", "phpsessid", "_session", "symfony", "user_session", "_xsrf",
        "xsrf_token", "jsessionid", "sid",
        # Django's CSRF form field, one word (its masked value unmasks to the secret of the
        # csrftoken cookie, which is masked)
        "csrfmiddlewaretoken",
        # OAuth / OIDC
        "access_token", "refresh_token", "id_token", "client_secret", "code_verifier",
        "assertion", "client_assertion", "bearer", "jwt",
        # one-time codes and payment data
        "otp", "totp", "mfa_code", "pin", "cvv", "cvc", "cvv2", "cvc2", "ssn",
        "social_security_number", "iban", "card_number", "cardnumber", "pan",
        "account_number", "routing_number", "tax_id",
        # signatures and keys
        "signature", "sig", "hmac", "private_key_id", "secret_key", "access_key",
        "pwd", "pass", "passphrase",
        # dates of birth, passports and national ids (personal data kept under a name that
        # says what it is, in any shape)
        "dob", "date_of_birth", "dateofbirth", "birth_date", "birthdate", "birthday", "bday",
        "born", "born_on", "geburtsdatum", "passport", "passport_number", "passportnumber",
        "passport_no", "passportno", "nino", "ni_number", "national_insurance_number",
        "national_id", "steuer_id", "steuerid", "steuernummer", "tin", "taxid",
        # ICAO 9303's name for a passport's or identity card's number, as identity
        # verification APIs carry it
        "document_number", "documentnumber", "document_no", "documentno",
        # more one-time codes, payment and bank data, and the keys of seeds and licences
        "one_time_code", "onetimecode", "sort_code", "sortcode", "bsb", "mnemonic",
        "seed_phrase", "seedphrase",
        "recovery_phrase", "passkey", "samlresponse", "saml_response", "samlart",
        # more national ids and licences (a name that says what it is, in any shape)
        "cpf", "aadhaar", "aadhar", "pesel", "bsn", "personnummer", "codice_fiscale",
        "curp", "drivers_license", "driver_license", "drivers_licence", "driving_licence",
        "drivers_license_number", "driver_license_number", "driving_licence_number",
        "dl_number", "license_key", "licence_key", "licensekey",
        # Canada's Social Insurance Number (a bare `sin`, which is also the sine, is masked
        # only when its value is one: `_fields.py`)
        "social_insurance_number", "sin_number", "sin_no", "sinnumber",
        # "password" in other languages, as apps written in them name their fields
        "passwort", "kennwort", "contrasena", "contraseña", "mot_de_passe", "motdepasse",
        "senha", "wachtwoord", "haslo", "hasło", "salasana", "losenord", "lösenord",
        "passord", "adgangskode", "sifre", "şifre", "parol", "пароль", "密码", "密碼",
        "パスワード", "비밀번호",
        "kata_sandi", "katasandi", "mat_khau",
    }
)  # fmt: skip

DEFAULT_KEY_MARKERS: frozenset[str] = frozenset(
    {
        "token", "secret", "secrets", "password", "passwords", "passwd", "passphrase",
        "pwd", "credential", "credentials", "apikey", "session", "sessionid", "auth",
        "csrf", "xsrf", "jwt", "privatekey", "cookie", "passport", "dob", "birthdate",
        "birthday",
        # abbreviations people use: `oldPw`, `login_pw`, `db_pass`, `userPass`, `passcode`
        "pw", "pass", "passcode",
        # "password" in other languages, in names of more words (`neues_passwort`,
        # `nova_senha`, `user_wachtwoord`)
        "passwort", "kennwort", "senha", "wachtwoord", "contrasena", "haslo", "salasana",
        "losenord", "passord",
    }
)  # fmt: skip

# Adjacent token pairs that together mark a secret: `api_key`, `privateKey`, `secret-key`.
_MARKER_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {
        ("api", "key"), ("private", "key"), ("secret", "key"), ("access", "key"),
        ("signing", "key"), ("encryption", "key"), ("client", "secret"),
        ("session", "id"), ("auth", "code"), ("card", "number"), ("security", "code"),
        ("birth", "date"), ("of", "birth"), ("born", "on"), ("tax", "id"), ("national", "id"),
        ("pin", "code"), ("otp", "code"), ("mfa", "code"), ("recovery", "code"),
        ("recovery", "codes"), ("backup", "codes"), ("security", "answer"), ("master", "key"),
        # codes sent to a person to prove who they are, and a card's security code
        ("verification", "code"), ("confirmation", "code"), ("sms", "code"),
        ("factor", "code"), ("login", "code"), ("email", "code"),
        ("card", "code"), ("sort", "code"), ("seed", "phrase"), ("recovery", "phrase"),
        ("license", "key"), ("licence", "key"), ("saml", "response"),
        # second-factor codes as headers and fields name them (`X-2FA-Code`, `tfa_code`)
        ("2fa", "code"), ("tfa", "code"), ("totp", "code"), ("2fa", "token"), ("mfa", "token"),
        ("otp", "token"),
        # Laravel's encryption key (`APP_KEY=base64:...`), a mobile SDK's app key
        ("app", "key"),
        # lists of them (`"api_keys": [...]`; `tokens` alone stays a count)
        ("api", "keys"), ("private", "keys"), ("secret", "keys"), ("access", "keys"),
        ("signing", "keys"), ("encryption", "keys"), ("master", "keys"), ("client", "secrets"),
    }
)  # fmt: skip

# Words that, glued before a marker in one token, still name the secret: `oldpw`,
# `userpass`, `confirmpassword` (a header name or an upper-case `OLDPW` loses its camelCase).
# Only these: `bypass`, `compass` and `haspassword` are not secrets.
_COMPOUND_HEADS: frozenset[str] = frozenset(
    {
        "old", "new", "current", "curr", "confirm", "confirmed", "repeat", "retype", "verify",
        "user", "db", "login", "admin", "root", "app", "smtp", "mail", "wifi", "temp",
        "master", "account", "my", "api", "private", "client", "access", "auth", "session",
        "refresh", "id", "bearer", "bot", "device", "web", "webhook", "signing", "service",
        "x",  # `XAPIKEY2`: an `X-Api-Key2` header written as a variable
        # the services whose client variables glue the word on: `PGPASSWORD` (libpq),
        # `MYSQLPASSWORD`, `REDISPASSWORD`, `SA_PASSWORD` of SQL Server images as `SAPASSWORD`
        "pg", "mysql", "mssql", "redis", "mongo", "mongodb", "ldap", "ftp", "sftp", "imap",
        "ssh", "keystore", "truststore", "vault", "bind", "amqp", "rabbitmq", "kafka", "jdbc",
        "sa",
    }
)  # fmt: skip

# A token after the marker that makes the key describe the secret instead of holding it.
_QUALIFIERS_AFTER: frozenset[str] = frozenset(
    {
        "count", "counts", "length", "len", "type", "types", "expires", "expiry",
        "expiration", "exp", "ttl", "timeout", "used", "limit", "limits", "max", "min",
        "total", "size", "version", "policy", "strength", "required", "enabled",
        "changed", "updated", "created", "rotated", "url", "uri", "endpoint", "status",
        "method", "methods", "scheme", "provider", "name", "names", "id_type", "duration",
        "lifetime", "age", "mode", "hint", "format", "algorithm", "alg", "location",
        "path", "field", "header", "param", "valid", "invalid", "ok", "error", "errors",
        "attempts", "retries", "reset_at", "last", "index", "number_of", "verified",
        "country", "issued", "issuing", "issuer", "through", "rate",
        # a reference to a secret stored elsewhere (Kubernetes `secretKeyRef`, `secretRef`),
        # and when an authentication happened (OIDC `auth_time`)
        "ref", "refs", "reference", "time",
    }
)  # fmt: skip

_QUALIFIERS_BEFORE: frozenset[str] = frozenset(
    {"has", "is", "num", "n", "max", "min", "total", "count", "requires", "require",
     "uses", "use", "needs", "no", "without", "with",
     # Kubernetes' `automountServiceAccountToken` is a flag
     "automount"}
)  # fmt: skip

# Right before `token`, a word that makes it a pagination cursor: `nextPageToken`,
# `NextToken` (AWS), `NextContinuationToken` (S3), `syncToken`. Opaque, not a secret.
_CURSOR_HEADS: frozenset[str] = frozenset(
    {"next", "page", "continuation", "sync", "cursor", "pagination", "resume"}
)
# Keys a marker would take that hold no secret: the names of Kubernetes' image pull secrets.
_ORDINARY_KEYS: frozenset[str] = frozenset({"image_pull_secrets", "imagepullsecrets"})

DEFAULT_IDENTITY_KEYS: Mapping[str, str] = {
    "email": "email", "e_mail": "email", "email_address": "email", "emailaddress": "email",
    "mail": "email",
    "name": "name", "full_name": "name", "fullname": "name", "display_name": "name",
    "displayname": "name", "contact_name": "name", "customer_name": "name",
    "first_name": "first_name", "firstname": "first_name", "given_name": "first_name",
    "givenname": "first_name",
    "last_name": "last_name", "lastname": "last_name", "surname": "last_name",
    "family_name": "last_name", "familyname": "last_name",
    "phone": "phone", "phone_number": "phone", "phonenumber": "phone", "mobile": "phone",
    "mobile_number": "phone", "telephone": "phone", "tel": "phone", "cell": "phone",
    "msisdn": "phone",
    "username": "username", "user_name": "username", "login": "username",
    "ip": "ip", "ip_address": "ip", "ipaddress": "ip", "remote_addr": "ip",
    "client_ip": "ip", "x_forwarded_for": "ip", "x_real_ip": "ip",
    "address": "address", "street": "address", "street_address": "address",
    "address_line1": "address", "address_line_1": "address", "address1": "address",
    "address_line2": "address", "address2": "address",
    "customer_id": "customer_id",
    # names under the keys payment and identity APIs use for them
    "holder": "name", "holder_name": "name", "cardholder": "name", "cardholder_name": "name",
    "card_holder": "name", "card_holder_name": "name", "name_on_card": "name",
    "nameoncard": "name", "account_holder": "name", "account_holder_name": "name",
    "recipient_name": "name", "beneficiary_name": "name", "payee_name": "name",
    "middle_name": "first_name", "middlename": "first_name", "maiden_name": "last_name",
    "nickname": "username", "nick_name": "username",
    "shipping_address": "address", "billing_address": "address", "home_address": "address",
    "mailing_address": "address", "postal_address": "address", "delivery_address": "address",
    # the user a proxy authenticated (oauth2-proxy, Apache, Traefik forward auth)
    "forwarded_user": "username", "remote_user": "username", "auth_request_user": "username",
    "webauth_user": "username",
    # advertising and device ids (personal data under the GDPR): same shape kept
    "idfa": "customer_id", "idfv": "customer_id", "gaid": "customer_id",
    "advertising_id": "customer_id", "ad_id": "customer_id",
}  # fmt: skip

# The last token of a longer key that still names an identity: `billing_email`,
# `contactPhone`, `remote_ip`.
DEFAULT_IDENTITY_SUFFIXES: Mapping[str, str] = {
    "email": "email", "phone": "phone", "mobile": "phone", "username": "username",
    "ip": "ip",
}  # fmt: skip

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_FOLD = str.maketrans({"-": "_", ".": "_", " ": "_"})

# A key with one of these tokens holds a version: its dotted numbers are never addresses.
_VERSION_TOKENS = frozenset(
    {"version", "versions", "ver", "build", "release", "revision", "rev", "firmware", "fw",
     "semver", "v",
     # an ASN.1 object identifier (`"oid": "2.5.29.17"`) is dotted numbers too
     "oid", "oids"}
)  # fmt: skip
_DOTTED = re.compile(r"[0-9]+(?:\.[0-9]+)+")
# Four single digits: a version (`2.4.1.0`, `1.0.0.1`) far more often than an address
# (1 in 400,000 IPv4 addresses has this shape, none a subscriber's: they are resolvers and
# backbone routers, `1.1.1.1`, `8.8.8.8`). The whole value of a field that does not name an
# address (`_ADDRESS_TOKENS`) with this shape is kept.
_SMALL_QUAD = re.compile(r"[1-9]\.[0-9]\.[0-9]\.[0-9]")
_ADDRESS_TOKENS = frozenset(
    {"ip", "ips", "ipv4", "addr", "address", "addresses", "host", "hosts", "hostname",
     "peer", "peers", "remote", "client", "clients", "origin", "source", "src", "dst",
     "destination", "dest", "target", "gateway", "gw", "dns", "nameserver", "nameservers",
     "resolver", "resolvers", "server", "servers", "proxy", "forwarded", "for", "from",
     "to", "by", "via", "nat", "subnet", "cidr", "route", "router", "endpoint", "upstream",
     "backend", "node", "lan", "wan", "public", "private", "local", "bind", "listen",
     "connect", "query", "network", "net", "mask", "netmask", "egress", "ingress"}
)  # fmt: skip
# A key with one of these tokens holds a number that is not a card: a barcode (EAN-13 and
# UPC-A have their own check digit, ISBNs too) or a trace or span id (Datadog's are decimal).
_DIGIT_ID_TOKENS = frozenset(
    {"gtin", "gtin13", "gtin14", "ean", "ean13", "upc", "barcode", "isbn", "isbn13", "trace",
     "span"}
)  # fmt: skip

Verdict = tuple[str, str] | None
"""`("mask", rule)`, `("pseudonym", kind)` or None (not sensitive)."""


def normalize_key(key: str) -> str:
    """Lowercase, with `-`, `.` and spaces folded to `_`: `X-Api.Key` -> `x_api_key`."""
    return key.strip().translate(_FOLD).lower()


def split_tokens(key: str) -> list[str]:
    """Lowercase tokens of a key, split on `_ - .` and camelCase.

    ```python
    >>> split_tokens("userPassword")
    ['user', 'password']
    >>> split_tokens("X-API-Key")
    ['x', 'api', 'key']
    ```
    """
    out: list[str] = []
    for part in re.split(r"[_\-.\s:/\[\]]+", key):
        if part:
            out.extend(t.lower() for t in _CAMEL.findall(part))
    if "2" in out:
        # `2FA` is one word (`X-2FA-Code`, `get2faToken`, `X2FACODE` squashed into an
        # environment variable's name), not a number and `fa`
        for i in range(len(out) - 1, 0, -1):
            if out[i - 1] == "2" and out[i].startswith("fa"):
                out[i - 1 : i + 1] = ["2" + out[i]]
    return out


def version_like(key: str, value: str) -> bool:
    """Is `value` a dotted number under a version-like key (`"version": "2.4.1.0"`), a
    version's dotted quad (`_SMALL_QUAD`) under a key that does not name an address
    (`"min_supported": "2.4.1.0"`), or a run of digits under a key of barcodes or trace
    ids (`"gtin": "4006381333931"`, `"trace_id": "4916920539412553432"`: a card's shape by
    chance, one in ten)?"""
    if value.isdigit():
        return any(t in _DIGIT_ID_TOKENS for t in split_tokens(key))
    if _DOTTED.fullmatch(value) is None:
        return False
    tokens = split_tokens(key)
    if any(t in _VERSION_TOKENS for t in tokens):
        return True
    return _SMALL_QUAD.fullmatch(value) is not None and not any(
        t in _ADDRESS_TOKENS or t.endswith("ip") for t in tokens
    )


class KeyClassifier:
    """Decides, with a cache, what to do with the value under a key.

    **Parameters:**

    * `sensitive` - extra exact keys (normalized) to mask.
    * `markers` - extra marker tokens.
    * `keep` - keys never redacted (normalized), checked first.
    * `identity` - normalized key -> pseudonym kind; merged over the defaults by the caller.
    """

    def __init__(
        self,
        *,
        sensitive: Iterable[str] = (),
        markers: Iterable[str] = (),
        keep: Iterable[str] = (),
        identity: Mapping[str, str] = DEFAULT_IDENTITY_KEYS,
        identity_suffixes: Mapping[str, str] = DEFAULT_IDENTITY_SUFFIXES,
    ) -> None:
        self.sensitive = DEFAULT_SENSITIVE_KEYS | {normalize_key(k) for k in sensitive}
        self.markers = DEFAULT_KEY_MARKERS | {m.lower() for m in markers}
        self.keep = frozenset(normalize_key(k) for k in keep)
        self.identity = {normalize_key(k): v for k, v in identity.items()}
        self.identity_suffixes = dict(identity_suffixes)
        self._cache: dict[str, Verdict] = {}

    def classify(self, key: str) -> Verdict:
        """`("mask", "sensitive-key")`, `("pseudonym", kind)` or None."""
        try:
            return self._cache[key]
        except KeyError:
            pass
        verdict = self._classify(key)
        if len(self._cache) < 100_000:
            self._cache[key] = verdict
        return verdict

    def is_sensitive(self, key: str) -> bool:
        v = self.classify(key)
        return v is not None and v[0] == "mask"

    def _classify(self, key: str) -> Verdict:
        norm = normalize_key(key)
        if not norm or norm in self.keep:
            return None
        kind = self.identity.get(norm)
        if kind is not None:
            return ("pseudonym", kind)
        if norm in _ORDINARY_KEYS:
            return None
        if norm in self.sensitive or norm.lstrip("_") in self.sensitive:
            return ("mask", "sensitive-key")
        tokens = split_tokens(key)
        if not tokens:
            return None
        if self._marked(tokens):
            return ("mask", "sensitive-key")
        if len(tokens) > 1:
            kind = self.identity_suffixes.get(tokens[-1])
            if kind is not None and tokens[-2] not in ("is", "has", "verified"):
                return ("pseudonym", kind)
        if key.endswith("]") and "[" in key:
            # a bracketed form field (Rails, PHP, Stripe): `card[cvc]`, `user[pin]`
            inner = self._classify(key[key.rfind("[") + 1 : -1])
            if inner is not None and inner[0] == "mask":
                return inner
        return None

    def _compound(self, tok: str) -> bool:
        """Is `tok` a marker glued after a head word (`oldpw`), or a marker pair written
        as one word (`recoverycodes`)?"""
        for i in range(1, len(tok) - 1):
            head, tail = tok[:i], tok[i:]
            if (head, tail) in _MARKER_PAIRS or (head in _COMPOUND_HEADS and tail in self.markers):
                return True
        return False

    def _marked(self, tokens: list[str]) -> bool:
        n = len(tokens)
        for i, tok in enumerate(tokens):
            hit_end = -1
            if tok in self.markers or (len(tok) >= 4 and self._compound(tok)):
                hit_end = i
            elif i + 1 < n and (tok, tokens[i + 1]) in _MARKER_PAIRS:
                hit_end = i + 1
            if hit_end < 0:
                continue
            if any(t in _QUALIFIERS_AFTER for t in tokens[hit_end + 1 :]):
                continue
            if any(t in _QUALIFIERS_BEFORE for t in tokens[:i]):
                continue
            if tok == "token" and i and tokens[i - 1] in _CURSOR_HEADS:
                continue
            return True
        return False
