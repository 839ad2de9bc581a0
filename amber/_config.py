"""amber.yaml: safe-loaded, validated, with errors that name the file, the line and the key.

```yaml
version: 1
store: sqlite:///.amber/store.db        # or postgresql+psycopg://user@host/db
request_id_headers: [X-Trace]           # tried before the built-in list
routes:                                 # route templates, first match wins
  - /users/{user_id}/orders/{order_id}
  - GET /files/{path*}
sanitize: {...}                         # see docs/sanitization.md
capture:                                # see docs/capture.md; every key is optional
  sample_rate: 0.3
  exclude_paths: [/health]
```

The `capture:` section is checked here, key by key (`CAPTURE_KEYS`): an unknown or mistyped
key is an error naming the file, the line and the valid keys, so a setting amber would not
honour is never silently accepted. The capture addon takes these values wherever its own
option is not given (option > amber.yaml > default).

Other sections owned by other parts of amber (`sanitize`, `replay`, `fixtures`, `targets`,
`sources`, `testgen`, `testing`, `audit`) are kept as mappings here and validated by their owners
through `Config.section()`, which turns their `ConfigError(key=...)` into one with file and
line. `testing.identity` is checked when the file is loaded (`amber._identity`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import TypeVar

import yaml

from amber._routes import Router
from amber.errors import ConfigError

__all__ = [
    "CAPTURE_KEYS",
    "CONFIG_ENV",
    "DEFAULT_STORE",
    "STORE_ENV",
    "Config",
    "find_config",
    "load_config",
]

CONFIG_ENV = "AMBER_CONFIG"
STORE_ENV = "AMBER_STORE"
DEFAULT_STORE = "sqlite:///.amber/store.db"
"""The default store: `.amber/store.db` under the current directory."""

_CORE_KEYS = {"version", "store", "request_id_headers", "routes"}
_SECTIONS = {
    "sanitize",
    "capture",
    "replay",
    "shadow",
    "fixtures",
    "targets",
    "sources",
    "testgen",
    "testing",
    "audit",
}
_TESTING_KEYS = ("identity", "expect", "database")
_DATABASE_ENV_FORMS = ("url", "path")

T = TypeVar("T")


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_text_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def _is_fraction(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _is_count(low: int) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= low

    return check


def _is_sample_key(value: object) -> bool:
    if not isinstance(value, str):
        return False
    kind, _, name = value.strip().partition(":")
    return not value.strip() or (kind in ("header", "cookie") and bool(name))


# key -> (check, what it expects); the capture addon has one option per key (amber_KEY)
_CAPTURE_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "filter": (_is_text, "a mitmproxy filter expression (a string)"),
    "include_paths": (_is_text_list, "a list of path globs or route templates"),
    "exclude_paths": (_is_text_list, "a list of path globs or route templates"),
    "include_hosts": (_is_text_list, "a list of host globs"),
    "exclude_hosts": (_is_text_list, "a list of host globs"),
    "methods": (_is_text_list, "a list of HTTP methods"),
    "content_types": (_is_text_list, "a list of content-type prefixes"),
    "sample_rate": (_is_fraction, "a number between 0 and 1"),
    "sample_key": (_is_sample_key, "'header:NAME' or 'cookie:NAME'"),
    "always_header": (_is_name, "a header name"),
    "max_body_size": (_is_count(0), "a byte count (an integer >= 0)"),
    "queue_size": (_is_count(1), "a number of exchanges (an integer >= 1)"),
    "queue_bytes": (_is_count(1), "a byte count (an integer >= 1)"),
    "writer": (lambda v: v in ("process", "thread"), "'process' or 'thread'"),
    "status_file": (_is_text, "a file path (a string)"),
    "status_interval": (_is_count(0), "a number of seconds (an integer >= 0)"),
}
CAPTURE_KEYS: tuple[str, ...] = tuple(_CAPTURE_CHECKS)
"""The keys amber.yaml's `capture:` section accepts, in the order docs/capture.md lists them."""


def _line_index(node: yaml.Node, prefix: str, out: dict[str, int]) -> None:
    """Record the (1-based) line of every key path under `node`."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = f"{prefix}.{k.value}" if prefix else str(k.value)
            out[key] = k.start_mark.line + 1
            _line_index(v, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            key = f"{prefix}[{i}]"
            out[key] = v.start_mark.line + 1
            _line_index(v, key, out)


@dataclass
class Config:
    """A loaded amber.yaml (or the defaults when there is none)."""

    path: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def store(self) -> str | None:
        value = self.data.get("store")
        return str(value) if value else None

    @property
    def request_id_headers(self) -> tuple[str, ...]:
        return tuple(self.data.get("request_id_headers") or ())

    @property
    def router(self) -> Router:
        return self.with_key("routes", lambda: Router(self.data.get("routes") or ()))

    def line_of(self, key: str) -> int | None:
        """The line of `key` (dotted path, `[i]` for list items), or of its nearest parent."""
        while key:
            if key in self.lines:
                return self.lines[key]
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""
        return None

    def error(self, message: str, key: str) -> ConfigError:
        return ConfigError(message, path=self.path, line=self.line_of(key), key=key)

    def with_key(self, key: str, build: Callable[[], T]) -> T:
        """Run `build`; a `ConfigError` it raises is re-raised naming file, line and key."""
        with self.locate(key):
            return build()

    @contextmanager
    def locate(self, default_key: str) -> Iterator[None]:
        try:
            yield
        except ConfigError as e:
            if e.path is not None:
                raise
            key = e.key or default_key
            message = str(e)
            if e.key and message.startswith(f"{e.key}: "):
                message = message[len(e.key) + 2 :]
            raise self.error(message, key) from e

    @property
    def capture(self) -> Mapping[str, Any]:
        """The `capture:` section (checked when the file was loaded; empty when absent)."""
        return self.section("capture")

    def section(self, name: str) -> Mapping[str, Any]:
        """The raw mapping of section `name` (empty when absent)."""
        value = self.data.get(name) or {}
        if not isinstance(value, Mapping):
            raise self.error(f"expected a mapping, got {type(value).__name__}", name)
        return value


def _validate(cfg: Config) -> None:
    for key in cfg.data:
        if key not in _CORE_KEYS | _SECTIONS:
            known = ", ".join(sorted(_CORE_KEYS | _SECTIONS))
            raise cfg.error(f"unknown key (known keys: {known})", str(key))
    version = cfg.data.get("version", 1)
    if version != 1:
        raise cfg.error(
            f"unsupported config version {version!r}; this amber reads version 1", "version"
        )
    store = cfg.data.get("store")
    if store is not None and not isinstance(store, str):
        raise cfg.error("expected a database URL string", "store")
    rid = cfg.data.get("request_id_headers")
    if rid is not None and (not isinstance(rid, list) or not all(isinstance(x, str) for x in rid)):
        raise cfg.error("expected a list of header names", "request_id_headers")
    routes = cfg.data.get("routes")
    if routes is not None:
        if not isinstance(routes, list):
            raise cfg.error("expected a list of route patterns", "routes")
        for i, r in enumerate(routes):
            if not isinstance(r, str):
                raise cfg.error("expected a route pattern string", f"routes[{i}]")
            with cfg.locate(f"routes[{i}]"):
                Router([r])
    for name in _SECTIONS:
        if name in cfg.data:
            cfg.section(name)
    _validate_capture(cfg)
    _validate_testing(cfg)


def _validate_testing(cfg: Config) -> None:
    """`testing:` holds `identity` (checked here: fixtures, tests and `amber scan` read it)
    and `expect` (checked by `amber gen-test`, which reads it); `testgen.auth` still works,
    deprecated in favour of `testing.identity`."""
    for key in cfg.section("testing"):
        if key not in _TESTING_KEYS:
            raise cfg.error(
                f"unknown key (valid keys under testing: {', '.join(_TESTING_KEYS)})",
                f"testing.{key}",
            )
    _validate_testing_database(cfg)
    from amber._identity import identity_from_config

    identity_from_config(cfg)


def _validate_testing_database(cfg: Config) -> None:
    """`testing.database`: `path` (a file name, relative to amber.yaml's folder) and
    `env_form` (`url` or `path`), read by amber's pytest plugin and `amber gen-test`."""
    db = cfg.section("testing").get("database")
    if db is None:
        return
    if not isinstance(db, dict):
        raise cfg.error("expected a mapping with path and env_form", "testing.database")
    for key, value in db.items():
        if key == "path" and not (_is_text(value) and str(value).strip()):
            raise cfg.error(
                "expected a file path (a string), e.g. data/app.db", "testing.database.path"
            )
        elif key == "env_form" and value not in _DATABASE_ENV_FORMS:
            raise cfg.error(
                "expected url (the env var holds sqlite:///FILE) or path (it holds FILE)",
                "testing.database.env_form",
            )
        elif key not in ("path", "env_form"):
            raise cfg.error(
                "unknown key (valid keys under testing.database: path, env_form)",
                f"testing.database.{key}",
            )


def _validate_capture(cfg: Config) -> None:
    """Every key under `capture:` is known and holds what its option accepts."""
    for key, value in cfg.capture.items():
        if key not in _CAPTURE_CHECKS:
            close = difflib.get_close_matches(str(key), CAPTURE_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise cfg.error(
                f"unknown key; {hint}valid keys under capture: {', '.join(CAPTURE_KEYS)}",
                f"capture.{key}",
            )
        check, expected = _CAPTURE_CHECKS[key]
        if not check(value):
            raise cfg.error(f"expected {expected}, got {value!r}", f"capture.{key}")


def load_config(path: str | os.PathLike[str]) -> Config:
    """Load and validate an amber.yaml.

    *Raises:* `ConfigError` naming the file and line for unreadable files, YAML syntax
    errors, unknown keys and invalid values.
    """
    p = str(path)
    try:
        text = Path(p).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found; create it or pass --config PATH", path=p) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the file: {e}", path=p) from e
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise ConfigError(f"invalid YAML: {e.problem}", path=p, line=line) from e
    except yaml.YAMLError as e:
        raise ConfigError(f"invalid YAML: {e}", path=p) from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys", path=p, line=1)
    lines: dict[str, int] = {}
    if node is not None:
        _line_index(node, "", lines)
    cfg = Config(path=p, data=data, lines=lines)
    _validate(cfg)
    return cfg


def find_config(explicit: str | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """The config to use: `explicit`, else `$AMBER_CONFIG`, else `./amber.yaml`, else defaults."""
    if explicit:
        return load_config(explicit)
    if env.get(CONFIG_ENV):
        return load_config(env[CONFIG_ENV])
    if Path("amber.yaml").is_file():
        return load_config("amber.yaml")
    return Config()


def resolve_store_url(
    explicit: str | None, config: Config, env: Mapping[str, str] = os.environ
) -> str:
    """`--store`, else `$AMBER_STORE`, else the config's `store`, else `DEFAULT_STORE`."""
    return explicit or env.get(STORE_ENV) or config.store or DEFAULT_STORE
