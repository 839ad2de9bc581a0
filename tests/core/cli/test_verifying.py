"""The flags of verifying against the app: where their defaults come from, what --help
says, and which database verify may not use."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from amber._config import load_config
from amber.cli._fixtures import _same_database
from amber.cli._verifying import add_verify_args
from amber.cli._verifying import verify_db_url_of


def test_the_verify_database_comes_from_the_flag_the_env_or_amber_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "amber.yaml"
    cfg.write_text("version: 1\ntestgen:\n  verify_db_url: postgresql://h/from_yaml\n")
    config = load_config(cfg)
    monkeypatch.delenv("AMBER_VERIFY_DB_URL", raising=False)
    assert verify_db_url_of(config, None) == "postgresql://h/from_yaml"
    monkeypatch.setenv("AMBER_VERIFY_DB_URL", "postgresql://h/from_env")
    assert verify_db_url_of(config, None) == "postgresql://h/from_env"
    assert verify_db_url_of(config, "postgresql://h/flag") == "postgresql://h/flag"
    monkeypatch.delenv("AMBER_VERIFY_DB_URL")
    cfg.write_text("version: 1\n")
    assert verify_db_url_of(load_config(cfg), None) is None  # a fresh SQLite file per run


def test_help_explains_every_verify_flag() -> None:
    p = argparse.ArgumentParser()
    add_verify_args(p, gen_test=False)
    text = " ".join(p.format_help().split())
    for flag in ("--verify", "--app", "--db-env", "--widen-max", "--app-python"):
        assert flag in text
    assert "--verify-db-url URL" in text and "never the source database" in text
    assert "AMBER_VERIFY_DB_URL" in text


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("postgresql://u:pw@db:5432/app", "postgresql+psycopg://u@DB:5432/app", True),
        ("postgres://db/app", "postgresql://db/app/", True),
        ("postgresql://db/app", "postgresql://db/app_verify", False),
        ("postgresql://db:5432/app", "postgresql://db:5433/app", False),
        ("postgresql://db/app", "postgresql://other/app", False),
        ("sqlite:///a.db", "sqlite:///a.db", True),
        ("sqlite:///a.db", "postgresql://db/a.db", False),
    ],
)
def test_the_source_is_recognised_under_another_spelling(a: str, b: str, same: bool) -> None:
    assert _same_database(a, b) is same
