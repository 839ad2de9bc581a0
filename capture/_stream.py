"""Streams through the capture addon: which responses go to the client as they arrive, and
`StreamCopy`, the `flow.response.stream` callable that passes each chunk on unchanged and
keeps the part amber records.

mitmproxy buffers a response body whole before the `response` hook unless the
`responseheaders` hook sets `flow.response.stream`; a live event stream would then reach
the client only when it ends.
"""

from __future__ import annotations

import logging

from mitmproxy import http

__all__ = ["STREAM_TYPES", "StreamCopy", "should_stream"]

log = logging.getLogger("amber.capture")


STREAM_TYPES = frozenset(
    {
        "text/event-stream",  # server-sent events
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-seq",
        "application/stream+json",
    }
)
"""Response content types that are streams of events: forwarded live, never buffered."""


def should_stream(headers: http.Headers, limit: int) -> bool:
    """An event stream, or a body announced larger than `limit`. A body of unknown length
    (chunked) that is not an event stream is buffered as mitmproxy does, and cut to the cap
    when recorded."""
    ctype = headers.get("content-type")
    if ctype and ctype.partition(";")[0].strip().lower() in STREAM_TYPES:
        return True
    length = headers.get("content-length")
    return length is not None and length.isdigit() and int(length) > limit


class StreamCopy:
    """The `flow.response.stream` callable of a response amber streams: every chunk goes on
    to the client as it arrives, unchanged, and the first `limit` bytes are kept to record.

    Fail open: if keeping a chunk raises, the chunk still passes unchanged and the copy is
    given up: the exchange is still recorded, without its body and flagged truncated (not a
    drop), and the failure is logged once, by class only.
    """

    __slots__ = ("_kept", "_limit", "_parts", "broken", "cut")

    def __init__(self, limit: int) -> None:
        self._parts: list[bytes] = []
        self._kept = 0
        self._limit = limit
        self.cut = False  # bytes beyond the limit passed without being kept
        self.broken = False

    def __call__(self, chunk: bytes) -> bytes:
        if not self.broken:
            try:
                self._keep(chunk)
            except Exception as e:  # the stream must go on whatever happens to the copy
                self.broken = True
                self._parts = []
                log.error(
                    "amber: copying a streamed body failed (%s); the stream passed "
                    "through untouched and is recorded without its body",
                    type(e).__name__,
                )
        return chunk

    def _keep(self, chunk: bytes) -> None:
        room = self._limit - self._kept
        if len(chunk) > room:
            self.cut = True
            chunk = chunk[:room]
        if chunk:
            self._parts.append(chunk)
            self._kept += len(chunk)

    def body(self, *, complete: bool) -> tuple[bytes | None, bool]:
        """The body to record and whether it is cut: over the limit, or (`complete` False)
        the stream broke off before its end. None when the copy was given up."""
        if self.broken:
            return None, True
        return b"".join(self._parts), self.cut or not complete
