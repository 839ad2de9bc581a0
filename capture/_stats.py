"""`CaptureStats`: where every exchange capture saw ended, counted once, under one lock.

`seen == stored + filtered + sampled_out + every drop reason + in_flight` holds exactly in
every `StatsSnapshot`, whichever thread takes it: each change moves exchanges from one place
to another in one step. The addon counts what it decides (filtered, sampled out, no writer,
a failed hook), a writer what it takes (in flight, or dropped on arrival) and what becomes of
it (stored, or dropped under its true reason); events that are not an exchange's fate (hook
errors, failed store writes, writer restarts) are counted beside them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from typing import get_args

__all__ = [
    "DROP_REASONS",
    "EVENTS",
    "CaptureStats",
    "DropReason",
    "Event",
    "Outcome",
    "StatsSnapshot",
]


DropReason = Literal[
    "queue_full",  # the writer's queue was full (it is slower than the traffic)
    "sanitize_failed",  # sanitizing raised: never stored raw
    "store_unavailable",  # the store could not be reached or written until the queue was full
    "unstorable",  # the store refused this exchange alone (its content); the writer went on
    "store_lost",  # the SQLite file was deleted or replaced under the writer
    "writer_restart",  # lost with a writer process that died, or offered while it restarted
    "stop_timeout",  # still unwritten when stopping waited its time out
    "no_writer",  # no writer was running (not started, stopped, or its options rejected)
    "hook_failed",  # amber's hook failed on the flow (the flow itself passed through)
]
"""Why an exchange was dropped: one reason per drop, each counted apart."""

DROP_REASONS: tuple[DropReason, ...] = get_args(DropReason)

Outcome = Literal["stored", "filtered", "sampled_out"] | DropReason
"""Where an exchange the hooks saw ends: stored, deliberately not kept, or dropped."""

Event = Literal["hook_errors", "store_failures", "writer_restarts"]
"""What is counted besides exchanges: failures in amber's hooks (those in `_record` also
drop the exchange, as `hook_failed`; a failed copy of a streamed body does not), failed
store writes (each retry) and restarts of the writer process."""

EVENTS: tuple[Event, ...] = get_args(Event)


@dataclass(frozen=True)
class StatsSnapshot:
    """The counters at one moment. `seen == stored + filtered + sampled_out +
    sum(dropped.values()) + in_flight` holds exactly in every snapshot."""

    seen: int
    stored: int
    filtered: int
    sampled_out: int
    in_flight: int  # offered to the writer and not yet stored or dropped
    dropped: Mapping[DropReason, int]
    events: Mapping[Event, int]

    def summary(self) -> str:
        """One line for the log: every outcome, every drop reason and event, zeros too."""
        drops = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in self.dropped.items())
        events = ", ".join(f"{n} {e.replace('_', ' ')}" for e, n in self.events.items())
        return (
            f"seen {self.seen}, stored {self.stored}, filtered {self.filtered}, "
            f"sampled out {self.sampled_out}, in flight {self.in_flight}; "
            f"dropped {sum(self.dropped.values())}: {drops}; {events}"
        )


class CaptureStats:
    """Counts what happened to every exchange the hooks saw, under one lock.

    Each change moves exchanges from one place to another in one step (`count`: seen and
    settled at once; `enter`: seen and now in flight; `settle`: from in flight to where it
    ended), so the identity of `StatsSnapshot` holds at every moment, from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n: dict[str, int] = dict.fromkeys(
            ("seen", "stored", "filtered", "sampled_out", "in_flight", *DROP_REASONS, *EVENTS), 0
        )

    def count(self, outcome: Outcome) -> None:
        """An exchange seen and settled at once (filtered, sampled out, dropped on arrival)."""
        with self._lock:
            self._n["seen"] += 1
            self._n[outcome] += 1

    def enter(self) -> None:
        """An exchange seen and handed to the writer: in flight until settled."""
        with self._lock:
            self._n["seen"] += 1
            self._n["in_flight"] += 1

    def settle(self, outcome: Outcome, n: int = 1) -> None:
        """`n` exchanges in flight ended as `outcome`."""
        with self._lock:
            self._n["in_flight"] -= n
            self._n[outcome] += n

    def recount(self, was: DropReason, now: DropReason, n: int) -> None:
        """`n` drops counted as `was` turn out to be `now` (refusals of a full queue while an
        insert was in progress that then proved hung)."""
        with self._lock:
            n = min(n, self._n[was])
            self._n[was] -= n
            self._n[now] += n

    def note(self, event: Event, n: int = 1) -> None:
        """An event that is not an exchange's fate (a hook error, a failed write, a
        restart)."""
        with self._lock:
            self._n[event] += n

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            n = dict(self._n)
        return StatsSnapshot(
            seen=n["seen"],
            stored=n["stored"],
            filtered=n["filtered"],
            sampled_out=n["sampled_out"],
            in_flight=n["in_flight"],
            dropped={r: n[r] for r in DROP_REASONS},
            events={e: n[e] for e in EVENTS},
        )

    def summary(self) -> str:
        return self.snapshot().summary()

    @property
    def seen(self) -> int:
        return self._n["seen"]

    @property
    def stored(self) -> int:
        return self._n["stored"]

    @property
    def filtered(self) -> int:
        return self._n["filtered"]

    @property
    def sampled_out(self) -> int:
        return self._n["sampled_out"]

    @property
    def in_flight(self) -> int:
        return self._n["in_flight"]

    @property
    def hook_errors(self) -> int:
        return self._n["hook_errors"]

    @property
    def store_failures(self) -> int:
        return self._n["store_failures"]

    def dropped(self, reason: DropReason) -> int:
        return self._n[reason]
