"""amber._aio: which event loop the commands run on, and how the choice fails."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from amber import _aio
from amber.errors import ConfigError


async def _loop_type() -> type:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop())


def test_uvloop_is_the_default_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_aio.LOOP_ENV, raising=False)
    assert _aio.loop_factory() is uvloop.new_event_loop
    assert issubclass(_aio.run(_loop_type()), uvloop.Loop)


@pytest.mark.parametrize("value", ["asyncio", " AsyncIO "])
def test_asyncio_can_be_chosen(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(_aio.LOOP_ENV, value)
    assert _aio.loop_factory() is None
    assert not issubclass(_aio.run(_loop_type()), uvloop.Loop)


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop -> ImportError
    monkeypatch.setenv(_aio.LOOP_ENV, "auto")
    assert _aio.loop_factory() is None
    assert not issubclass(_aio.run(_loop_type()), uvloop.Loop)


def test_insisting_on_a_missing_uvloop_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)
    monkeypatch.setenv(_aio.LOOP_ENV, "uvloop")
    with pytest.raises(ConfigError, match=r"AMBER_EVENT_LOOP: uvloop is not installed"):
        _aio.loop_factory()


def test_an_unknown_choice_is_an_error_and_the_coroutine_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(_aio.LOOP_ENV, "trio")
    coro = _loop_type()
    with pytest.raises(ConfigError, match=r"expected auto, uvloop or asyncio, got 'trio'"):
        _aio.run(coro)
    assert coro.cr_frame is None  # closed: no "never awaited" warning later


def test_run_returns_the_result_and_propagates_errors() -> None:
    async def boom() -> None:
        raise ValueError("inner")

    async def value() -> int:
        return 42

    assert _aio.run(value()) == 42
    with pytest.raises(ValueError, match="inner"):
        _aio.run(boom())


@pytest.mark.parametrize("value", ["uvloop", "asyncio"])
def test_no_loop_is_left_current_afterwards(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    # as after asyncio.run: asking for the current loop fails instead of making a new one
    # that nobody closes (a ResourceWarning at some later garbage collection)
    monkeypatch.setenv(_aio.LOOP_ENV, value)
    asyncio.set_event_loop_policy(None)  # a fresh policy: nothing set in this thread yet
    _aio.run(_loop_type())
    with pytest.raises(RuntimeError):
        asyncio.get_event_loop_policy().get_event_loop()
