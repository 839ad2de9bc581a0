"""`StreamCopy` and `should_stream` alone: which responses amber streams, and the copy that
passes every chunk on unchanged while it keeps the part to record. The addon's hooks around
them are tested in test_addon.py, a real stream through `amber capture` in
test_capture_e2e.py."""

from __future__ import annotations

import logging

import pytest
from mitmproxy import http

from amber.capture._stream import STREAM_TYPES
from amber.capture._stream import StreamCopy
from amber.capture._stream import should_stream


@pytest.mark.parametrize(
    ("headers", "streamed"),
    [
        ([("content-type", "text/event-stream")], True),
        ([("Content-Type", "Text/Event-Stream; charset=utf-8")], True),
        ([("content-type", "application/x-ndjson")], True),
        ([("content-type", "application/jsonl")], True),
        ([("content-type", "application/json-seq")], True),
        ([("content-type", "application/json"), ("content-length", "101")], True),  # > limit
        ([("content-type", "application/json"), ("content-length", "100")], False),
        ([("content-type", "application/json")], False),  # chunked: buffered as by mitmproxy
        ([("content-type", "text/plain"), ("content-length", "x")], False),
        ([], False),
    ],
)
def test_event_streams_and_bodies_announced_over_the_limit_are_streamed(
    headers: list[tuple[str, str]],
    streamed: bool,
) -> None:
    fields = tuple((k.encode(), v.encode()) for k, v in headers)
    assert should_stream(http.Headers(fields), 100) is streamed


def test_every_stream_type_is_a_lowercase_media_type() -> None:
    assert all(t == t.lower() and t.count("/") == 1 and ";" not in t for t in STREAM_TYPES)


def test_chunks_pass_unchanged_and_the_first_bytes_are_kept() -> None:
    copy = StreamCopy(10)
    chunks = [b"abcd", b"efgh", b"ijkl", b"mnop", b""]
    assert [copy(c) for c in chunks] == chunks
    assert all(copy(c) is c for c in chunks)  # the same objects: nothing rebuilt
    assert copy.body(complete=True) == (b"abcdefghij", True)  # cut at the limit


def test_a_stream_within_the_limit_is_whole_unless_it_broke_off() -> None:
    copy = StreamCopy(10)
    for chunk in (b"abc", b"def", b""):
        copy(chunk)
    assert copy.body(complete=True) == (b"abcdef", False)
    assert copy.body(complete=False) == (b"abcdef", True)  # mitmproxy's error hook


def test_a_chunk_exactly_at_the_limit_is_not_cut() -> None:
    copy = StreamCopy(4)
    copy(b"abcd")
    assert copy.body(complete=True) == (b"abcd", False)
    copy(b"e")
    assert copy.body(complete=True) == (b"abcd", True)


def test_a_failure_gives_the_copy_up_and_never_the_stream(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    copy = StreamCopy(100)
    copy(b"data: before\n\n")

    def boom(self: StreamCopy, chunk: bytes) -> None:
        raise MemoryError

    monkeypatch.setattr(StreamCopy, "_keep", boom)
    chunks = [b"data: secret-ish\n\n", b"data: after\n\n", b""]
    with caplog.at_level(logging.ERROR, logger="amber.capture"):
        assert [copy(c) for c in chunks] == chunks
    assert caplog.text.count("copying a streamed body failed (MemoryError)") == 1
    assert "secret-ish" not in caplog.text and "before" not in caplog.text
    assert copy.body(complete=True) == (None, True)
