"""`StatusReporter`: what capture has done so far, told while it runs.

The same counters as the summary line at stop (`CaptureStats`), reported three more ways:
- a summary line in the log every `interval` seconds (0: never) and whenever the process
  gets SIGUSR1 (`kill -USR1 PID`), for whoever reads the proxy's output;
- a status file rewritten every few seconds and at stop, for monitoring, in Prometheus'
  text exposition format: node_exporter's textfile collector picks it up as it is (name it
  `*.prom` in the collector's directory), and `cat` shows it to a person.

Why a file and not an HTTP endpoint: a capture proxy sits in production traffic, and a file
opens no port, needs no access control and serves nothing amber would have to secure; the
textfile collector is how node_exporter takes metrics from programs that do not serve them
(mitmproxy itself serves none). The file is written to a temporary name and renamed over the
old one, so a reader always sees a whole file.

Reporting runs in its own daemon thread, never on mitmproxy's event loop: a slow or hung
disk cannot stall traffic. A status file that cannot be written is logged once (the path and
the error class) and tried again at the next round.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amber.capture._stats import CaptureStats
from amber.capture._stats import StatsSnapshot

__all__ = ["StatusReporter", "prometheus_text"]

log = logging.getLogger("amber.capture")

FILE_PERIOD = 5.0  # seconds between rewrites of the status file


def prometheus_text(snap: StatsSnapshot, now: float) -> str:
    """`snap` in Prometheus' text exposition format (version 0.0.4). `seen_total` equals the
    sum of the outcome counters, every `dropped_total` and `in_flight`."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_: str, values: list[tuple[str, int | float]]) -> None:
        lines.append(f"# HELP amber_capture_{name} {help_}")
        lines.append(f"# TYPE amber_capture_{name} {kind}")
        # every digit of a count (never 1.23e+06), and the float's repr for the time
        lines.extend(f"amber_capture_{name}{labels} {value!r}" for labels, value in values)

    metric("seen_total", "counter", "Exchanges the capture hooks saw.", [("", snap.seen)])
    metric(
        "stored_total", "counter", "Exchanges written to the store, sanitized.", [("", snap.stored)]
    )
    metric("filtered_total", "counter", "Exchanges left out by the filters.", [("", snap.filtered)])
    metric(
        "sampled_out_total", "counter", "Exchanges left out by sampling.", [("", snap.sampled_out)]
    )
    metric(
        "dropped_total",
        "counter",
        "Exchanges dropped, by reason.",
        [(f'{{reason="{r}"}}', n) for r, n in snap.dropped.items()],
    )
    metric(
        "in_flight",
        "gauge",
        "Exchanges handed to the writer, not yet stored or dropped.",
        [("", snap.in_flight)],
    )
    metric(
        "hook_errors_total",
        "counter",
        "Failures inside amber's hooks (the flows passed).",
        [("", snap.events["hook_errors"])],
    )
    metric(
        "store_failures_total",
        "counter",
        "Failed store writes, each retry counted.",
        [("", snap.events["store_failures"])],
    )
    metric(
        "writer_restarts_total",
        "counter",
        "Restarts of the writer process.",
        [("", snap.events["writer_restarts"])],
    )
    metric(
        "status_time_seconds",
        "gauge",
        "When these values were taken (Unix time).",
        [("", round(now, 3))],
    )
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename: readers see the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # not *.prom: never collected
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class StatusReporter:
    """Reports `stats` while capture runs: see the module docstring.

    `configure` may be called at any time (options change at run time); `start` begins the
    reporting thread and takes SIGUSR1 (when called in the main thread); `stop` ends both and
    writes the status file one last time, with the final counts.
    """

    def __init__(
        self,
        stats: CaptureStats,
        *,
        clock: Callable[[], float] = time.monotonic,
        file_period: float = FILE_PERIOD,
    ) -> None:
        self.stats = stats
        self.path: Path | None = None
        self.interval = 0.0
        self._next_line = 0.0
        self._clock = clock
        self._file_period = file_period
        self._wake = threading.Event()
        self._asked = False  # SIGUSR1 came: log a line now
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._previous_handler: Any = None
        self._failed_path: Path | None = None  # the path whose failure was logged

    def configure(self, path: str, interval: float) -> None:
        """Write the status file at `path` (empty: none); log a line every `interval` s."""
        self.path = Path(path) if path else None
        self.interval = interval
        self._next_line = self._clock() + interval
        self._wake.set()  # the thread takes the new values at once

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="amber-status", daemon=True)
        self._thread.start()
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGUSR1, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.ask()

    def ask(self) -> None:
        """Log a summary line (and rewrite the status file) now, as SIGUSR1 does."""
        self._asked = True
        self._wake.set()

    def stop(self) -> None:
        """End reporting; the status file gets the final counts."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._previous_handler is not None:
            with contextlib.suppress(ValueError):  # not the main thread: leave it
                signal.signal(signal.SIGUSR1, self._previous_handler)
            self._previous_handler = None
        self._stopping = True
        self._wake.set()
        thread.join(timeout=10)
        self._write_file(self.stats.snapshot())

    def _run(self) -> None:
        while True:
            wait = self._file_period
            if self.interval > 0:
                wait = min(wait, max(0.0, self._next_line - self._clock()))
            self._wake.wait(wait)
            self._wake.clear()
            if self._stopping:
                return
            snap = self.stats.snapshot()
            now = self._clock()
            if self._asked or (self.interval > 0 and now >= self._next_line):
                self._asked = False
                self._next_line = now + self.interval
                log.warning("amber: %s", snap.summary())
            self._write_file(snap)

    def _write_file(self, snap: StatsSnapshot) -> None:
        path = self.path
        if path is None:
            return
        try:
            write_atomically(path, prometheus_text(snap, time.time()))
        except OSError as e:
            if self._failed_path != path:  # once per path, not every round
                self._failed_path = path
                log.error(
                    "amber: cannot write the status file %s (%s); trying again every %.0fs",
                    path,
                    type(e).__name__,
                    self._file_period,
                )
            return
        self._failed_path = None
