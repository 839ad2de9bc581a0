"""Transport error classes and the early stop of a run whose target cannot be reached."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from amber._model import Response
from amber.errors import TargetUnreachable
from amber.replay._reach import UnreachableWatch
from amber.replay._reach import error_kind
from amber.replay._runner import Outcome
from amber.replay._runner import Replayer
from amber.replay._runner import Target
from tests.conftest import make_exchange
from tests.core.cli.conftest import GETS
from tests.replay.conftest import AppState
from tests.replay.conftest import make_app
from tests.replay.test_runner import SESSION
from tests.replay.test_runner import record
from tests.servers import free_port
from tests.servers import serve


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ConnectError("refused"), "connect"),
        (httpx.ConnectTimeout("slow handshake"), "connect"),
        (ConnectionRefusedError(111, "refused"), "connect"),
        (httpx.ReadTimeout("no answer"), "timeout"),
        (TimeoutError(), "timeout"),
        (httpx.RemoteProtocolError("connection closed"), "other"),
        (ConnectionResetError(104, "reset"), "other"),
    ],
)
def test_error_kinds(error: BaseException, kind: str) -> None:
    assert error_kind(error) == kind


def _outcome(kind: str | None) -> Outcome:
    ex = make_exchange(1)
    if kind is None:
        return Outcome(ex, Response(200), None, 0.0, 1.0)
    return Outcome(ex, None, f"{kind} failed", 0.0, 1.0, error_kind=kind)  # type: ignore[arg-type]


def test_the_watch_counts_connection_failures_in_a_row_only() -> None:
    w = UnreachableWatch(Target("http://127.0.0.1:9"), 3, "candidate")
    for kind in ("connect", "connect", "timeout", None, "connect", "connect"):
        w.check(_outcome(kind))  # a timeout is not "unreachable"; an answer resets
    assert (w.in_a_row, w.answered, w.tripped) == (2, 1, False)
    with pytest.raises(TargetUnreachable) as info:
        w.check(_outcome("connect"))
    assert str(info.value) == (
        "candidate http://127.0.0.1:9 is unreachable: 3 requests in a row could not connect "
        "after 1 answered (connect failed); check that it is running and --target"
    )
    w.check(_outcome("connect"))  # raised once: the outcomes of a winding-down run count only
    assert w.in_a_row == 4
    never = UnreachableWatch(Target("http://x"), 0)
    for _ in range(100):
        never.check(_outcome("connect"))
    assert not never.tripped


def test_a_replayer_stops_on_a_dead_target_and_hands_over_what_it_sent() -> None:
    with serve(make_app(AppState())) as url:
        exchanges = []
        for i in range(12):
            exchanges += record(url, SESSION + GETS, client_addr=f"192.0.2.{i + 1}")
    seen: list[Outcome] = []
    replayer = Replayer(Target(f"http://127.0.0.1:{free_port()}"), unreachable_after=5)
    with pytest.raises(TargetUnreachable, match="the first 5 requests could not connect"):
        asyncio.run(replayer.run(exchanges, seen.append))
    # the fifth, then what was in flight or held for hand-over (two per worker): not all 60
    assert 5 <= len(seen) <= 5 + 2 * 8 and all(o.error_kind == "connect" for o in seen)
    with pytest.raises(ValueError, match="unreachable_after"):
        Replayer(Target("http://x"), unreachable_after=-1)
