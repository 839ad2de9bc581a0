from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from amber.cli import main

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated working directory with a store URL and a pseudonym key in the env."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMBER_STORE", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("AMBER_KEY", "test-key-0123456789abcdef")
    monkeypatch.delenv("AMBER_CONFIG", raising=False)
    return tmp_path


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def amber(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
