"""The pipe to the writer process: frames arrive whole and in order, a full pipe never blocks
the event loop, frames close in time go out in one write, and the reader copes with partial
frames and EOF."""

from __future__ import annotations

import asyncio
import os
import queue
import struct
import threading

import pytest

from amber.capture._pipe import FrameReader
from amber.capture._pipe import FrameSender


def _reader_thread(fd: int, out: list[object]) -> threading.Thread:
    def run() -> None:
        reader = FrameReader(fd, bytes)
        while (item := reader.get(timeout=10)) is not None:
            out.append(item)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_frames_larger_than_the_pipe_arrive_whole_and_in_order_without_a_loop() -> None:
    r, w = os.pipe()
    got: list[object] = []
    t = _reader_thread(r, got)
    sender = FrameSender(w)
    items = [i.to_bytes(2, "big") + os.urandom(1) * (20_000 + i) for i in range(200)]  # 4 MB
    for item in items:
        sender.send(item)
    sender.send(b"")
    assert sender.drain(timeout=10)
    t.join(timeout=10)
    assert got == items
    os.close(w)
    os.close(r)


def test_a_full_pipe_never_blocks_the_event_loop() -> None:
    r, w = os.pipe()
    sender = FrameSender(w)
    items = [i.to_bytes(2, "big") + b"x" * 50_000 for i in range(100)]  # 5 MB, unread yet

    async def main() -> list[object]:
        for item in items:
            sender.send(item)  # returns at once: the rest waits in the backlog
        assert sender._backlog and sender._loop is not None
        got: list[object] = []
        t = _reader_thread(r, got)
        while sender._backlog or sender._pending:
            await asyncio.sleep(0.01)
        assert sender._loop is None  # the writer callback is gone once drained
        sender.send(b"")
        assert sender.drain(timeout=10)
        await asyncio.to_thread(t.join, 10)
        return got

    assert asyncio.run(main()) == items
    os.close(w)
    os.close(r)


def test_frames_sent_within_a_few_milliseconds_go_out_in_one_write() -> None:
    r, w = os.pipe()
    sender = FrameSender(w, delay=0.05)

    async def main() -> None:
        for i in range(20):
            sender.send(b"%d" % i)
        assert sender._pending and sender._timer is not None  # collected, not yet written
        await asyncio.sleep(0.2)
        assert not sender._pending and sender._timer is None

    asyncio.run(main())
    reader = FrameReader(r, bytes)
    assert [reader.get(timeout=1) for _ in range(20)] == [b"%d" % i for i in range(20)]
    os.close(w)
    os.close(r)


def test_partial_frames_and_eof_on_the_reading_side() -> None:
    r, w = os.pipe()
    frame = b'{"a": 1}'
    data = struct.pack("<I", len(frame)) + frame
    reader = FrameReader(r, bytes)
    os.write(w, data[:3])
    with pytest.raises(queue.Empty):
        reader.get(timeout=0.05)
    os.write(w, data[3:])
    assert reader.get(timeout=1) == frame
    os.close(w)  # the proxy died: the child finishes what it has and stops
    assert reader.get(timeout=1) is None
    os.close(r)


def test_close_stops_writing_and_lets_go_of_the_pipe_on_the_loop() -> None:
    """What a restart does with the pipe to a dead writer: nothing more is written, and the
    event loop stops watching the fd before it is closed (never a closed or reused fd)."""
    r, w = os.pipe()
    sender = FrameSender(w)
    closed: list[bool] = []

    def close_pipe() -> None:
        closed.append(True)
        os.close(w)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for _ in range(100):
            sender.send(b"x" * 50_000)  # more than the pipe holds: the loop watches the fd
        assert sender._loop is loop
        await asyncio.to_thread(sender.close, close_pipe)  # from another thread, as a restart
        while not closed:
            await asyncio.sleep(0.01)
        assert not loop.remove_writer(w)  # no longer watched
        sender.send(b"after")  # dropped, not written, not raised

    asyncio.run(main())
    assert sender.broken and not sender._backlog and not sender._pending
    os.close(r)
