from __future__ import annotations

from pathlib import Path

import pytest

from amber._config import CAPTURE_KEYS
from amber._config import DEFAULT_STORE
from amber._config import Config
from amber._config import find_config
from amber._config import load_config
from amber._config import resolve_store_url
from amber.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "amber.yaml"
    p.write_text(text)
    return p


def test_valid_config(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "store: sqlite:///x.db\nrequest_id_headers: [X-Trace]\nroutes:\n  - /users/{uid}\n",
    )
    cfg = load_config(p)
    assert cfg.store == "sqlite:///x.db"
    assert cfg.request_id_headers == ("X-Trace",)
    assert cfg.router.route("GET", "/users/5") == "/users/{uid}"


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    p = write(tmp_path, "store: sqlite:///x.db\n\nstroe: oops\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).startswith(f"{p}:3: stroe: unknown key")


def test_bad_route_names_the_item_line(tmp_path: Path) -> None:
    p = write(tmp_path, "routes:\n  - /ok/{id}\n  - no-slash\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert f"{p}:3: routes[1]:" in str(e.value)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    p = write(tmp_path, "store: [unclosed\nroutes: 1\n")
    with pytest.raises(ConfigError, match=r"amber.yaml:\d+: invalid YAML"):
        load_config(p)


def test_unsafe_yaml_tags_are_rejected(tmp_path: Path) -> None:
    p = write(tmp_path, "store: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(p)


def test_section_errors_get_line_numbers(tmp_path: Path) -> None:
    p = write(tmp_path, "replay:\n  timeout: 2\n")
    cfg = load_config(p)

    def build() -> None:
        raise ConfigError("expected a duration", key="replay.timeout")

    with pytest.raises(ConfigError) as e:
        cfg.with_key("replay", build)
    assert str(e.value) == f"{p}:2: replay.timeout: expected a duration"


def test_every_capture_key_is_accepted(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        """capture:
  filter: "~d api.example.com"
  include_paths: [/api/*]
  exclude_paths: [/health, "/users/{id}/avatar"]
  include_hosts: ["*.example.com"]
  exclude_hosts: [internal.example.com]
  methods: [GET, POST]
  content_types: [application/json]
  sample_rate: 0.3
  sample_key: header:X-User-Id
  always_header: X-Debug
  max_body_size: 65536
  queue_size: 500
  queue_bytes: 1048576
  writer: thread
  status_file: /var/lib/node_exporter/textfile/amber.prom
  status_interval: 300
""",
    )
    cfg = load_config(p)
    assert set(cfg.capture) == set(CAPTURE_KEYS)
    assert cfg.capture["sample_rate"] == 0.3 and cfg.capture["writer"] == "thread"
    assert Config().capture == {}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # mistyped, and keys nothing implements: an error, never silently ignored
        ("capture:\n  sample_rat: 0.3\n", 2, "unknown key; did you mean 'sample_rate'?"),
        ("capture:\n  writer: thread\n  retention: 30d\n", 3, "unknown key; valid keys"),
        ("capture:\n  sample_rate: 1.5\n", 2, "expected a number between 0 and 1, got 1.5"),
        ("capture:\n  sample_rate: half\n", 2, "expected a number between 0 and 1, got 'half'"),
        ("capture:\n  sample_rate: true\n", 2, "expected a number between 0 and 1, got True"),
        ("capture:\n  sample_rate:\n", 2, "expected a number between 0 and 1, got None"),
        ("capture:\n  exclude_paths: /health\n", 2, "expected a list of path globs"),
        ("capture:\n  methods: [GET, 1]\n", 2, "expected a list of HTTP methods"),
        ("capture:\n  sample_key: query:user\n", 2, "expected 'header:NAME' or 'cookie:NAME'"),
        ("capture:\n  always_header: ''\n", 2, "expected a header name"),
        ("capture:\n  max_body_size: -1\n", 2, "expected a byte count"),
        ("capture:\n  queue_size: 0\n", 2, "expected a number of exchanges"),
        ("capture:\n  queue_bytes: 1.5\n", 2, "expected a byte count"),
        ("capture:\n  writer: fork\n", 2, "expected 'process' or 'thread'"),
        ("capture:\n  status_interval: -1\n", 2, "expected a number of seconds"),
        ("capture: [sample_rate]\n", 1, "expected a mapping"),
    ],
)
def test_a_bad_capture_key_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).startswith(f"{p}:{line}: capture")
    assert message in str(e.value)


def test_an_unknown_capture_key_lists_the_valid_ones(tmp_path: Path) -> None:
    p = write(tmp_path, "capture:\n  retention: 30d\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value) == (
        f"{p}:2: capture.retention: unknown key; valid keys under capture: "
        + ", ".join(CAPTURE_KEYS)
    )


def test_wrong_types(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="store: expected a database URL"):
        load_config(write(tmp_path, "store: 5\n"))
    with pytest.raises(ConfigError, match="sanitize: expected a mapping"):
        load_config(write(tmp_path, "sanitize: [1]\n"))
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(write(tmp_path, "- a\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.yaml")


def test_discovery_and_store_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config(env={}).path is None
    write(tmp_path, "store: sqlite:///from-config.db\n")
    cfg = find_config(env={})
    assert cfg.path == "amber.yaml"
    assert resolve_store_url(None, cfg, env={}) == "sqlite:///from-config.db"
    assert (
        resolve_store_url(None, cfg, env={"AMBER_STORE": "sqlite:///env.db"}) == "sqlite:///env.db"
    )
    assert (
        resolve_store_url("sqlite:///flag.db", cfg, env={"AMBER_STORE": "x"}) == "sqlite:///flag.db"
    )
    assert resolve_store_url(None, Config(), env={}) == DEFAULT_STORE
