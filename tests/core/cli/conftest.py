from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from amber._store import Store
from amber.cli import main
from tests.replay.conftest import AppState
from tests.replay.conftest import make_app
from tests.replay.test_runner import SESSION
from tests.replay.test_runner import record
from tests.servers import serve

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


GETS = [("GET", "/orders/{order}", b"")] * 2


@pytest.fixture
def recorded(env: Path) -> Iterator[Path]:
    """12 captured sessions (login, create an order, read it 3 times) in the env's store."""
    with serve(make_app(AppState())) as url, Store.open(f"sqlite:///{env / 'store.db'}") as s:
        for i in range(12):
            s.add_many(record(url, SESSION + GETS, client_addr=f"192.0.2.{i + 1}"))
    yield env


def apps(stack: ExitStack, n: int, **kw: bool) -> list[str]:
    return [stack.enter_context(serve(make_app(AppState(), **kw))) for _ in range(n)]
