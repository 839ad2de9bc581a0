"""Whether a target answers: the class of a transport error, and the early stop of a run
whose target cannot be reached.

A replay against a dead target used to report every request as an error row (1,200 of
them for a 3,000-request run) and exit like a run that found differences. `error_kind`
tells "could not connect" from "connected, then failed"; `UnreachableWatch` counts
connection failures in a row and raises `TargetUnreachable` (exit status 3) at a limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Literal

import httpx

from amber.errors import TargetUnreachable

if TYPE_CHECKING:
    from amber.replay._runner import Outcome
    from amber.replay._runner import Target

__all__ = ["ErrorKind", "UnreachableWatch", "error_kind"]

ErrorKind = Literal["connect", "timeout", "other"]
"""A transport error's class: `connect` (the target could not be reached: connection
refused, no such host, TLS handshake or connect timeout), `timeout` (connected, no complete
answer in time), `other` (the connection broke, or the answer was not HTTP)."""


def error_kind(e: BaseException) -> ErrorKind:
    """The class of a transport error (see `ErrorKind`)."""
    if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout, ConnectionRefusedError)):
        return "connect"
    if isinstance(e, (httpx.TimeoutException, TimeoutError)):
        return "timeout"
    return "other"


class UnreachableWatch:
    """Stops a run whose target cannot be reached, instead of reporting every request as
    an error: `check(outcome)` raises `TargetUnreachable` once `limit` requests in a row
    could not connect (`error_kind` `connect`); any answer starts the count again.

    `limit` 0 never stops. `side` names the target in the message (`target`, `baseline`).
    """

    __slots__ = ("answered", "first_error", "in_a_row", "limit", "raised", "side", "target")

    def __init__(self, target: Target, limit: int, side: str = "target") -> None:
        self.target = target
        self.limit = limit
        self.side = side
        self.in_a_row = 0
        self.answered = 0
        self.first_error: str | None = None
        self.raised = False

    @property
    def tripped(self) -> bool:
        return bool(self.limit) and self.in_a_row >= self.limit

    def count(self, outcome: Outcome) -> None:
        """Count one outcome without raising."""
        if outcome.error_kind == "connect":
            if not self.in_a_row:
                self.first_error = outcome.error
            self.in_a_row += 1
        elif outcome.response is not None:
            self.in_a_row = 0
            self.answered += 1

    def message(self, flag: str = "--target") -> str:
        """One line: which target, how many requests in a row, the first error, what to do."""
        how = (
            f"the first {self.in_a_row} requests could not connect"
            if not self.answered
            else f"{self.in_a_row} requests in a row could not connect after "
            f"{self.answered} answered"
        )
        return (
            f"{self.side} {self.target.display} is unreachable: {how} "
            f"({self.first_error or 'connection failed'}); check that it is running and "
            f"{flag}"
        )

    def check(self, outcome: Outcome) -> None:
        """`count`, then raise `TargetUnreachable` when the limit is reached (once: the
        outcomes handed over while the run winds down are only counted)."""
        self.count(outcome)
        if self.tripped and not self.raised:
            self.raised = True
            raise TargetUnreachable(self.message())
