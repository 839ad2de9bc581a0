"""The status reporter: summary lines on a period and on SIGUSR1, and the status file in
Prometheus' text format, written atomically and never fatal."""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from amber.capture._stats import CaptureStats
from amber.capture._status import StatusReporter
from amber.capture._status import prometheus_text
from amber.capture.addon import CaptureAddon
from tests.capture.conftest import wait_for
from tests.capture.test_addon import KEY
from tests.capture.test_addon import FakeFactory
from tests.capture.test_addon import addon_context
from tests.capture.test_addon import flow

# one sample line of the text exposition format: name, optional labels, a number
SAMPLE = re.compile(r'^(amber_capture_[a-z_]+)(\{reason="[a-z_]+"\})? (-?[0-9.e+]+)$')


def some_stats() -> CaptureStats:
    stats = CaptureStats()
    for outcome in ("filtered", "sampled_out", "queue_full", "unstorable", "unstorable"):
        stats.count(outcome)  # type: ignore[arg-type]
    for _ in range(4):
        stats.enter()
    stats.settle("stored", 3)
    stats.note("writer_restarts")
    return stats


def parse(text: str) -> dict[str, float]:
    """The samples of a status file, checked line by line against the format."""
    out: dict[str, float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge")
            typed.add(name)
        elif not line.startswith("# HELP "):
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            assert m.group(1) in typed, f"{m.group(1)} has no TYPE line before it"
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def test_the_status_file_says_what_the_summary_says_and_adds_up() -> None:
    snap = some_stats().snapshot()
    values = parse(prometheus_text(snap, now=1_700_000_000.5))
    assert values["amber_capture_seen_total"] == 9
    assert values["amber_capture_stored_total"] == 3
    assert values['amber_capture_dropped_total{reason="unstorable"}'] == 2
    assert values["amber_capture_in_flight"] == 1
    assert values["amber_capture_writer_restarts_total"] == 1
    assert values["amber_capture_status_time_seconds"] == 1_700_000_000.5
    parts = sum(v for k, v in values.items() if k.startswith("amber_capture_dropped_total"))
    parts += sum(
        values[f"amber_capture_{k}"]
        for k in ("stored_total", "filtered_total", "sampled_out_total", "in_flight")
    )
    assert parts == values["amber_capture_seen_total"]
    big = CaptureStats()
    for _ in range(3):
        big.enter()
    big.settle("stored", 3)
    big.note("store_failures", 12_345_678)
    assert "amber_capture_store_failures_total 12345678\n" in prometheus_text(big.snapshot(), 0)


@pytest.fixture
def reporters() -> Iterator[list[StatusReporter]]:
    made: list[StatusReporter] = []
    yield made
    for r in made:
        r.stop()


def test_the_status_file_is_written_while_running_and_final_at_stop(
    tmp_path: Path,
    reporters: list[StatusReporter],
) -> None:
    stats = some_stats()
    r = StatusReporter(stats, file_period=0.05)
    reporters.append(r)
    path = tmp_path / "amber.prom"
    r.configure(str(path), interval=0)
    r.start()
    wait_for(path.exists, 30, "the status file")
    assert parse(path.read_text())["amber_capture_stored_total"] == 3
    stats.settle("stored")
    r.stop()
    assert parse(path.read_text())["amber_capture_stored_total"] == 4  # the final counts
    assert [p.name for p in tmp_path.iterdir()] == ["amber.prom"]  # no temporary left


def test_sigusr1_and_the_period_log_a_summary_line(
    tmp_path: Path,
    reporters: list[StatusReporter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = StatusReporter(some_stats())
    reporters.append(r)
    r.configure("", interval=3600)
    with caplog.at_level(logging.WARNING, logger="amber.capture"):
        r.start()
        os.kill(os.getpid(), signal.SIGUSR1)
        wait_for(lambda: "seen 9, stored 3" in caplog.text, 30, "the line SIGUSR1 asks for")
        r.configure("", interval=0.05)
        wait_for(lambda: caplog.text.count("seen 9, stored 3") >= 3, 30, "periodic lines")
        r.stop()
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL  # given back at stop


def test_an_unwritable_status_file_is_said_once_and_retried(
    tmp_path: Path,
    reporters: list[StatusReporter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = StatusReporter(some_stats(), file_period=0.02)
    reporters.append(r)
    missing = tmp_path / "not-yet" / "amber.prom"
    with caplog.at_level(logging.ERROR, logger="amber.capture"):
        r.configure(str(missing), interval=0)
        r.start()
        wait_for(lambda: "cannot write the status file" in caplog.text, 30, "the error")
        missing.parent.mkdir()
        wait_for(missing.exists, 30, "the status file once its folder exists")
        r.stop()
    assert caplog.text.count("cannot write the status file") == 1
    assert "FileNotFoundError" in caplog.text


def test_the_addon_reports_through_its_status_options(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`amber_status_file` and `amber_status_interval`, as `--set` gives them: the file
    appears once the addon runs, SIGUSR1 logs a line, and `done` leaves the final counts."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMBER_KEY", KEY)
    factory = FakeFactory()
    addon = CaptureAddon(writer_factory=factory)
    status = tmp_path / "amber.prom"
    with caplog.at_level(logging.WARNING, logger="amber.capture"), addon_context(addon) as tctx:
        tctx.options.set(f"amber_status_file={status}", "amber_status_interval=0")
        addon.running()
        wait_for(status.exists, 30, "the status file")
        addon.response(flow("/kept"))
        tctx.configure(addon, amber_exclude_paths=["/left-out"])
        addon.response(flow("/left-out"))
        os.kill(os.getpid(), signal.SIGUSR1)
        wait_for(lambda: "seen 1, stored 0, filtered 1" in caplog.text, 30, "a line")
    values = parse(status.read_text())
    assert values["amber_capture_seen_total"] == 1  # the fake writer does not count
    assert values["amber_capture_filtered_total"] == 1
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
