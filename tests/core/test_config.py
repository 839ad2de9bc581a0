from __future__ import annotations

from pathlib import Path

import pytest

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
    p = write(tmp_path, "store: sqlite:///x.db\nrequest_id_headers: [X-Trace]\n"
                        "routes:\n  - /users/{uid}\n")
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
    p = write(tmp_path, "capture:\n  sample_rate: 2\n")
    cfg = load_config(p)

    def build() -> None:
        raise ConfigError("expected a number between 0 and 1", key="capture.sample_rate")

    with pytest.raises(ConfigError) as e:
        cfg.with_key("capture", build)
    assert str(e.value) == f"{p}:2: capture.sample_rate: expected a number between 0 and 1"


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
    assert resolve_store_url(None, cfg, env={"AMBER_STORE": "sqlite:///env.db"}) == "sqlite:///env.db"
    assert resolve_store_url("sqlite:///flag.db", cfg, env={"AMBER_STORE": "x"}) == "sqlite:///flag.db"
    assert resolve_store_url(None, Config(), env={}) == DEFAULT_STORE
