"""`CaptureStats`: every exchange counted once, where it ended; the summary line names every
reason; the identity holds in every snapshot while threads count at once."""

from __future__ import annotations

import random
import threading

from amber.capture._stats import DROP_REASONS
from amber.capture._stats import CaptureStats
from amber.capture._stats import StatsSnapshot


def balanced(s: StatsSnapshot) -> bool:
    """The accounting identity: every exchange seen is in exactly one place."""
    return s.seen == (s.stored + s.filtered + s.sampled_out + sum(s.dropped.values()) + s.in_flight)


def test_summary_line_names_every_outcome_reason_and_event() -> None:
    stats = CaptureStats()
    for outcome in ("filtered", "sampled_out", "queue_full", "unstorable"):
        stats.count(outcome)  # type: ignore[arg-type]
    for _ in range(3):
        stats.enter()
    stats.settle("stored", 2)
    stats.note("store_failures")
    assert stats.summary() == (
        "seen 7, stored 2, filtered 1, sampled out 1, in flight 1; dropped 2: 1 queue full, "
        "0 sanitize failed, 0 store unavailable, 1 unstorable, 0 store lost, 0 writer "
        "restart, 0 stop timeout, 0 no writer, 0 hook failed; 0 hook errors, 1 store "
        "failures, 0 writer restarts"
    )


def test_the_identity_holds_in_every_snapshot_while_threads_count() -> None:
    """Four threads count, enter and settle at random (as the addon, a writer and a watchdog
    do) while another takes snapshots: every snapshot balances, and the totals are exact."""
    stats = CaptureStats()
    outcomes = ["filtered", "sampled_out", *DROP_REASONS]
    expected: list[dict[str, int]] = []
    snapshots: list[StatsSnapshot] = []
    counting = threading.Event()

    def count(seed: int) -> None:
        rng = random.Random(seed)
        mine = {"seen": 0, "stored": 0}
        for _ in range(3000):
            if rng.random() < 0.5:
                outcome = rng.choice(outcomes)
                stats.count(outcome)  # type: ignore[arg-type]
                mine[outcome] = mine.get(outcome, 0) + 1
            else:
                stats.enter()  # and settled at once or later: in flight meanwhile
                stats.settle("stored")
                mine["stored"] += 1
            mine["seen"] += 1
        expected.append(mine)

    def watch() -> None:
        while counting.is_set():
            snapshots.append(stats.snapshot())

    counting.set()
    watcher = threading.Thread(target=watch)
    watcher.start()
    counters = [threading.Thread(target=count, args=(seed,)) for seed in range(4)]
    for t in counters:
        t.start()
    for t in counters:
        t.join()
    counting.clear()
    watcher.join()
    final = stats.snapshot()
    assert snapshots and all(balanced(s) for s in snapshots) and balanced(final)
    assert final.in_flight == 0 and final.seen == 4 * 3000
    assert final.stored == sum(e["stored"] for e in expected)
    for reason in DROP_REASONS:
        assert final.dropped[reason] == sum(e.get(reason, 0) for e in expected)
