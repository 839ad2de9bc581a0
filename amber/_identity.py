"""Test identity: the credentials generated tests, fixtures and `amber scan` agree on.

Declared once in amber.yaml (docs/testing.md, "Test identity"):

```yaml
testing:
  identity:
    user: test-user@example.org        # a value, or ${ENV} (read when a test needs it)
    password: ${AMBER_TEST_PASSWORD}
    api_key: test-api-key              # X-Api-Key-style headers, masked key fields
    bearer: test-token                 # Authorization: Bearer (else the login's token)
    hash: {scheme: werkzeug}           # how fixtures write the test password's hash
    login:                             # cookies or a token, from a login request
      method: POST
      path: /login
      form: {username: "{user}", password: "{password}"}   # or json: {...}
      token: {json: $.access_token}    # optional: the response's token is the bearer
    fields: {pin: password}            # masked field names amber cannot classify
```

The capture masked the credentials of every recorded request (`Bearer
[REDACTED:authorization]`, `password=[REDACTED:sensitive-key]`). A generated test holds a
placeholder (`{{amber:password}}`) wherever a masked credential was, and the test client puts
the declared value there; a test whose placeholder has no declared value fails with
`needs_sentence` (the sentence its docstring shows), not with the app's 401.

Hashes are deterministic (the salt is derived from the password), so that `amber scan` can
recompute the hash a fixture holds and not report it. Schemes: `werkzeug` (pbkdf2:sha256),
`werkzeug-scrypt` and `django` (pbkdf2_sha256) are written with hashlib in the library's
own format (and checked with the library when it is installed); `bcrypt` and `argon2`
need the `bcrypt` or `argon2-cffi` package, and say so when it is missing.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from amber.errors import ConfigError

__all__ = [
    "CREDENTIALS",
    "HASH_SCHEMES",
    "PLACEHOLDER_RE",
    "HashScheme",
    "IdentityLogin",
    "TestIdentity",
    "credential_of_field",
    "expand_env",
    "identity_from_config",
    "is_password_column",
    "needs_sentence",
    "placeholder",
]

CREDENTIALS = ("user", "password", "api_key", "bearer", "basic")
"""What a placeholder stands for; `basic` is base64 of `user:password`."""

HASH_SCHEMES = (
    "werkzeug",
    "werkzeug-scrypt",
    "django",
    "passlib-pbkdf2-sha256",
    "bcrypt",
    "argon2",
)

PLACEHOLDER_RE = re.compile(r"\{\{amber:(user|password|api_key|bearer|basic)\}\}")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEYS = ("user", "password", "api_key", "bearer", "hash", "login", "fields")
_PASSWORD_COLUMN = re.compile(
    r"^(password|passwd|pwd|pass)(_?(hash|hashed|digest|encrypted))?$"
    r"|^(hashed|encrypted|crypted)_?(password|passwd|pwd)$"
)


def placeholder(kind: str) -> str:
    """The text a generated test holds where a masked credential of `kind` was."""
    return "{{amber:" + kind + "}}"


def expand_env(value: str, key: str, env: Mapping[str, str] = os.environ) -> str:
    """`value` with each `${NAME}` replaced from `env`. *Raises:* `ConfigError` naming the
    variable and `key` when one is not set."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise ConfigError(
                f"environment variable {name} is not set (export it, or remove the reference)",
                key=key,
            )
        return env[name]

    return _VAR.sub(sub, value)


def needs_sentence(kinds: tuple[str, ...] | list[str], login: bool = False) -> str:
    """The sentence a generated test states in its docstring and fails with when amber.yaml
    does not declare what it needs."""
    names = [f"testing.identity.{k}" for k in _declared_names(kinds)]
    if login:
        names.append("testing.identity.login")
    listed = ", ".join(names) if names else "testing.identity"
    return (
        f"this test needs {listed} in amber.yaml (the capture masked the request's "
        "credentials; see docs/testing.md, Test identity)"
    )


def _declared_names(kinds: tuple[str, ...] | list[str]) -> list[str]:
    out: list[str] = []
    for k in kinds:
        for name in ("user", "password") if k == "basic" else (k,):
            if name not in out:
                out.append(name)
    return out


_FIELD_KINDS = (
    ("password", re.compile(r"(^|[_-])(password|passwd|pwd|pass|passphrase|pin)([_-]|$)")),
    ("api_key", re.compile(r"(api|access|secret|client)[_-]?key|^key$|apikey")),
    ("bearer", re.compile(r"token|auth|session|jwt")),
    ("user", re.compile(r"^(user|username|user_name|login|email|userid|user_id)$")),
)


def credential_of_field(name: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """Which credential a masked field, query parameter or header called `name` held: the
    `fields` of the identity first, then by its name (None: not a credential)."""
    if overrides and name in overrides:
        return overrides[name]
    low = name.strip().lower()
    if low in ("x-api-key", "api-key", "apikey"):
        return "api_key"
    for kind, rx in _FIELD_KINDS:
        if rx.search(low):
            return kind
    return None


def is_password_column(name: str) -> bool:
    """Whether a column called `name` holds a password (hash): `password_hash`,
    `hashed_password`, `passwd`, `encrypted_password`..."""
    return _PASSWORD_COLUMN.match(name.strip().lower()) is not None


@dataclass(frozen=True)
class HashScheme:
    """How the test password's hash is written (`testing.identity.hash`)."""

    scheme: str = "werkzeug"
    iterations: int | None = None  # pbkdf2 schemes; a test hash needs no strength
    rounds: int = 4  # bcrypt cost

    def hash(self, password: str) -> str:
        """The test password's hash in the scheme's format, with a salt derived from the
        password (the same hash every time). *Raises:* `ConfigError` when the scheme needs
        a library that is not installed."""
        salt = hashlib.sha256(b"amber-test-identity:" + password.encode()).hexdigest()[:16]
        if self.scheme == "werkzeug":
            n = self.iterations or 1000
            digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), n).hex()
            out = f"pbkdf2:sha256:{n}${salt}${digest}"
            return _checked_werkzeug(out, password)
        if self.scheme == "werkzeug-scrypt":
            n, r, p = 2**14, 8, 1
            digest = hashlib.scrypt(
                password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p
            ).hex()
            return _checked_werkzeug(f"scrypt:{n}:{r}:{p}${salt}${digest}", password)
        if self.scheme == "django":
            n = self.iterations or 1000
            raw = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), n)
            return f"pbkdf2_sha256${n}${salt}${base64.b64encode(raw).decode('ascii')}"
        if self.scheme == "passlib-pbkdf2-sha256":
            # passlib's pbkdf2_sha256: "$pbkdf2-sha256$<n>$<salt>$<digest>", salt and
            # digest in passlib's adapted base64 ("." for "+", no padding)
            n = self.iterations or 1000
            raw_salt = hashlib.sha256(b"amber-passlib:" + password.encode()).digest()[:16]
            raw = hashlib.pbkdf2_hmac("sha256", password.encode(), raw_salt, n)
            return f"$pbkdf2-sha256${n}${_ab64(raw_salt)}${_ab64(raw)}"
        if self.scheme == "bcrypt":
            bcrypt = _library("bcrypt", "bcrypt")
            alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            seed = hashlib.sha256(b"amber-bcrypt:" + password.encode()).digest()
            # the last of the 22 salt characters carries 2 bits only: one of . O e u
            chars = "".join(alphabet[b % 64] for b in seed[:21]) + ".Oeu"[seed[21] % 4]
            prefix = f"$2b${self.rounds:02d}${chars}".encode("ascii")
            return str(bcrypt.hashpw(password.encode(), prefix).decode("ascii"))
        if self.scheme == "argon2":
            low = _library("argon2.low_level", "argon2-cffi")
            return str(
                low.hash_secret(
                    password.encode(),
                    salt.encode(),
                    time_cost=1,
                    memory_cost=8,
                    parallelism=1,
                    hash_len=32,
                    type=low.Type.ID,
                ).decode("ascii")
            )
        raise ConfigError(
            f"unknown hash scheme {self.scheme!r} (known: {', '.join(HASH_SCHEMES)})",
            key="testing.identity.hash.scheme",
        )


def _ab64(data: bytes) -> str:
    """passlib's adapted base64: standard base64 with "." for "+" and no padding."""
    return base64.b64encode(data).decode("ascii").rstrip("=").replace("+", ".")


def _library(module: str, package: str) -> Any:
    if importlib.util.find_spec(module.partition(".")[0]) is None:
        raise ConfigError(
            f"the {module.partition('.')[0]} hash scheme needs the {package} package, which "
            f"is not installed: pip install {package} (or choose werkzeug or django, which "
            "amber writes itself)",
            key="testing.identity.hash.scheme",
        )
    return importlib.import_module(module)


def _checked_werkzeug(encoded: str, password: str) -> str:
    """`encoded`, checked with werkzeug when the app has it (the format is werkzeug's)."""
    if importlib.util.find_spec("werkzeug") is not None:
        from werkzeug.security import check_password_hash

        if not check_password_hash(encoded, password):  # pragma: no cover - a format change
            raise ConfigError(
                "this werkzeug does not accept amber's test hash; set "
                "fixtures.known_values for the password column instead",
                key="testing.identity.hash",
            )
    return encoded


@dataclass(frozen=True)
class IdentityLogin:
    """The login request the test client sends before a test that needs it; `{user}`,
    `{password}`, `{api_key}` in its fields are the identity's values."""

    method: str
    path: str
    form: Mapping[str, str] | None = None
    json: Any = None
    token: tuple[str, str] | None = None  # ("json", "$.access_token") / ("header", name)


@dataclass(frozen=True)
class TestIdentity:
    """`testing.identity` (values unexpanded: `${ENV}` is read by `value`)."""

    __test__ = False  # not a pytest test class

    raw: Mapping[str, str] = field(default_factory=dict)
    hash_scheme: HashScheme = field(default_factory=HashScheme)
    login: IdentityLogin | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)  # headers/hook: replay.auth's

    @classmethod
    def from_mapping(cls, data: Any, key: str = "testing.identity") -> TestIdentity:
        if not isinstance(data, Mapping):
            raise ConfigError("expected a mapping (user, password, api_key, ...)", key=key)
        unknown = sorted(set(data) - set(_KEYS) - {"headers", "hook"})
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r} (known: {', '.join(_KEYS)}, headers, hook)",
                key=f"{key}.{unknown[0]}",
            )
        raw: dict[str, str] = {}
        for name in ("user", "password", "api_key", "bearer"):
            value = data.get(name)
            if value is None:
                continue
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise ConfigError("expected a string (a value or ${ENV})", key=f"{key}.{name}")
            raw[name] = str(value)
        scheme = _scheme(data.get("hash"), f"{key}.hash")
        fields = data.get("fields") or {}
        if not isinstance(fields, Mapping) or any(
            v not in ("user", "password", "api_key", "bearer") for v in fields.values()
        ):
            raise ConfigError(
                "expected a mapping of field names to user, password, api_key or bearer",
                key=f"{key}.fields",
            )
        login = _login(data["login"], f"{key}.login") if data.get("login") else None
        extra = {k: data[k] for k in ("headers", "hook") if data.get(k) is not None}
        return cls(raw, scheme, login, {str(k): str(v) for k, v in fields.items()}, extra)

    def declared(self, kind: str) -> bool:
        """Whether `kind` has a value (or a way to get one: a bearer from the login)."""
        if kind == "basic":
            return "user" in self.raw and "password" in self.raw
        if kind == "bearer" and self.login is not None and self.login.token is not None:
            return True
        return kind in self.raw

    def declared_value(self, kind: str) -> bool:
        """Whether `kind` has a value of its own in amber.yaml (not the login's token)."""
        if kind == "basic":
            return self.declared("basic")
        return kind in self.raw

    def value(self, kind: str, env: Mapping[str, str] = os.environ) -> str | None:
        """The declared value of `kind` (`${ENV}` read now), None when not declared."""
        if kind == "basic":
            user, password = self.value("user", env), self.value("password", env)
            if user is None or password is None:
                return None
            return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        raw = self.raw.get(kind)
        return None if raw is None else expand_env(raw, f"testing.identity.{kind}", env)

    def password_hash(self, env: Mapping[str, str] = os.environ) -> str | None:
        """The hash fixtures write in password columns (None without a password)."""
        password = self.value("password", env)
        return None if password is None else self.hash_scheme.hash(password)

    def known_values(self, env: Mapping[str, str] = os.environ) -> list[str]:
        """The declared values and the password's hash, for `amber scan` (the ones whose
        environment variable is not set are left out)."""
        out: list[str] = []
        for kind in ("user", "password", "api_key", "bearer", "basic"):
            try:
                value = self.value(kind, env)
            except ConfigError:
                continue
            if value:
                out.append(value)
        try:
            hashed = self.password_hash(env)
        except ConfigError:
            hashed = None
        if hashed:
            out.append(hashed)
        return out


def _scheme(data: Any, key: str) -> HashScheme:
    if data is None:
        return HashScheme()
    if isinstance(data, str):
        data = {"scheme": data}
    if not isinstance(data, Mapping):
        raise ConfigError("expected {scheme: NAME, iterations: N}", key=key)
    scheme = str(data.get("scheme", "werkzeug"))
    if scheme not in HASH_SCHEMES:
        raise ConfigError(
            f"unknown hash scheme {scheme!r} (known: {', '.join(HASH_SCHEMES)})",
            key=f"{key}.scheme",
        )
    iterations, rounds = data.get("iterations"), data.get("rounds", 4)
    for name, n in (("iterations", iterations), ("rounds", rounds)):
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise ConfigError("expected a positive integer", key=f"{key}.{name}")
    return HashScheme(scheme, iterations, int(rounds))


def _login(data: Any, key: str) -> IdentityLogin:
    if not isinstance(data, Mapping) or not isinstance(data.get("path"), str):
        raise ConfigError(
            "expected {method, path, form: {...} or json: {...}, token: {json: PATH}}", key=key
        )
    form = data.get("form")
    if form is not None and not isinstance(form, Mapping):
        raise ConfigError("expected a mapping of field names to values", key=f"{key}.form")
    token = data.get("token")
    pair: tuple[str, str] | None = None
    if token is not None:
        if (
            not isinstance(token, Mapping)
            or len(token) != 1
            or next(iter(token)) not in ("json", "header", "cookie")
        ):
            raise ConfigError(
                "expected one of {json: PATH}, {header: NAME}, {cookie: NAME}",
                key=f"{key}.token",
            )
        kind, name = next(iter(token.items()))
        pair = (str(kind), str(name))
    return IdentityLogin(
        method=str(data.get("method", "POST")).upper(),
        path=str(data["path"]),
        form={str(k): str(v) for k, v in form.items()} if form is not None else None,
        json=data.get("json"),
        token=pair,
    )


def identity_from_config(config: Any) -> TestIdentity | None:
    """`testing.identity` of a loaded `Config`, None when it declares none. *Raises:*
    `ConfigError` with the file and line for a bad declaration."""
    section = config.section("testing")
    data = section.get("identity")
    if data is None:
        return None
    result: TestIdentity = config.with_key(
        "testing.identity", lambda: TestIdentity.from_mapping(data)
    )
    return result
