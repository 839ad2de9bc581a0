"""The event loop amber's commands run on: uvloop where it is installed, else asyncio's.

Replay and shadow spend most of their CPU in the event loop and the socket calls it makes;
uvloop (libuv underneath) does that work in C. Measured on the replay benchmark against a
local app: 77-84 us of replayer CPU per request instead of 89-112 us, and the rate up by as
much (`docs/replay.md`). Everything amber does on the loop (its transport's protocols,
httpx's client for auth hooks, timers for `--speed`, thread hand-overs from the store
reader) uses asyncio's public API, so both loops run the same code.

`AMBER_EVENT_LOOP=asyncio` chooses asyncio's own loop (to rule uvloop out when chasing a
problem); `uvloop` insists on uvloop; `auto` (the default) takes uvloop when importable.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any
from typing import TypeVar

from amber.errors import ConfigError

__all__ = ["LOOP_ENV", "loop_factory", "run"]

LOOP_ENV = "AMBER_EVENT_LOOP"
"""The environment variable choosing the event loop: `auto`, `uvloop` or `asyncio`."""

_T = TypeVar("_T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the loop `run` uses; None means asyncio's default.

    *Raises:* `ConfigError` for an unknown choice, or for `uvloop` when it is not installed.
    """
    choice = os.environ.get(LOOP_ENV, "").strip().lower() or "auto"
    if choice not in ("auto", "uvloop", "asyncio"):
        raise ConfigError(f"expected auto, uvloop or asyncio, got {choice!r}", key=LOOP_ENV)
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(
                "uvloop is not installed (pip install uvloop), or set it to auto", key=LOOP_ENV
            ) from None
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, _T]) -> _T:
    """`asyncio.run(main)` on the loop `loop_factory` chooses.

    Ctrl-C cancels `main` and then raises `KeyboardInterrupt`, as with `asyncio.run`.
    """
    try:
        factory = loop_factory()
    except BaseException:
        main.close()  # never started: no "coroutine was never awaited" warning
        raise
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    finally:
        if factory is not None:
            # as asyncio.run leaves it: no current loop, so a later `get_event_loop()` in
            # this thread raises instead of quietly making a loop nobody closes
            asyncio.set_event_loop(None)
