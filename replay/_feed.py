"""The replayer's source of exchanges: read ahead in a thread, handed over on the loop."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from amber._model import Exchange
from amber._store import ExchangeStream

__all__ = ["Feed"]


class Feed:
    """Exchanges from `source`, read ahead in a thread in chunks (lists are used directly).

    Reading a page from the store takes milliseconds; done on the event loop it would delay
    every request scheduled meanwhile (and wreck `--speed` timing). The thread hands over
    whole chunks with `call_soon_threadsafe` (one loop wake-up per chunk) and stays at most
    `depth` chunks ahead, so memory stays bounded.

    From an `ExchangeStream` (the store) the thread only reads rows, and each row is decoded
    here, on the loop, when a worker takes it: decoding in the thread held the GIL whenever
    the loop had a response to handle, and cost 0.87 of wrk's rate against 0.99 (fast app,
    same run). Decoding one row takes a few microseconds, too little to hurt timing.
    """

    def __init__(
        self,
        source: Iterable[Exchange],
        loop: asyncio.AbstractEventLoop,
        chunk: int = 256,
        depth: int = 4,
        chunk_bytes: int = 8 << 20,
    ) -> None:
        self._loop = loop
        self._buf: list[Any] = []
        self._pos = 0
        self._chunks: deque[list[Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._ahead = threading.Semaphore(depth)
        self._stop = threading.Event()
        self._decode: Callable[[Any], Exchange] | None = None
        if isinstance(source, (list, tuple)):
            self._buf = list(source)
            self._done = True
            return
        self._done = False
        if isinstance(source, ExchangeStream):
            self._decode = source.decode
            target: Callable[..., None] = self._produce_pages
            args: tuple[Any, ...] = (source.pages(), chunk, chunk_bytes, source.row_size)
        else:
            target, args = self._produce, (source, chunk, chunk_bytes, _exchange_size)
        self._thread = threading.Thread(
            target=target,
            args=args,
            name="amber-replay-source",
            daemon=True,
        )
        self._thread.start()

    def next(self) -> Exchange | None:
        """The next exchange when one is at hand, else None (then `wait`)."""
        pos = self._pos
        buf = self._buf
        if pos < len(buf):
            self._pos = pos + 1
            item = buf[pos]
        elif self._chunks:
            self._buf = buf = self._chunks.popleft()
            self._ahead.release()
            if not buf:
                self._pos = 0
                return None
            self._pos = 1
            item = buf[0]
        else:
            return None
        decode = self._decode
        if decode is None:
            return item  # type: ignore[no-any-return]
        buf[self._pos - 1] = None  # the row is not needed once decoded
        return decode(item)

    async def wait(self) -> Exchange | None:
        """The next exchange, or None at the end of the source."""
        while True:
            ex = self.next()
            if ex is not None:
                return ex
            if self._chunks:
                continue  # an empty chunk
            if self._error is not None:
                raise self._error
            if self._done:
                return None
            if self._waiter is None:
                self._waiter = self._loop.create_future()
            await asyncio.shield(self._waiter)

    def _deliver(self, chunk: list[Any] | None, error: BaseException | None) -> None:
        if chunk is not None:
            self._chunks.append(chunk)
        else:
            self._done = True
            self._error = error
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _hand_over(self, chunk: list[Any] | None, error: BaseException | None = None) -> bool:
        if chunk is not None:
            while not self._ahead.acquire(timeout=0.1):
                if self._stop.is_set():
                    return False
        if self._stop.is_set():
            return False
        try:
            self._loop.call_soon_threadsafe(self._deliver, chunk, error)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _produce(
        self, source: Iterable[Any], chunk: int, chunk_bytes: int, size: Callable[[Any], int]
    ) -> None:
        # a chunk ends at `chunk` items or `chunk_bytes` of bodies: with at most `depth`
        # chunks ahead, memory stays bounded whatever the bodies weigh
        buf: list[Any] = []
        error: BaseException | None = None
        try:
            held = 0
            for item in source:
                buf.append(item)
                held += size(item)
                if len(buf) >= chunk or held >= chunk_bytes:
                    if not self._hand_over(buf):
                        return
                    buf = []
                    held = 0
        except BaseException as e:  # re-raised on the loop, after what was read before it
            error = e
        if buf and not self._hand_over(buf):
            return
        self._hand_over(None, error)

    def _produce_pages(
        self,
        pages: Iterable[list[Any]],
        chunk: int,
        chunk_bytes: int,
        size: Callable[[Any], int],
    ) -> None:
        # the store's rows come a page at a time: handed over in slices of `chunk` rows, with
        # no Python-level step per row here (a page whose bodies pass `chunk_bytes` is cut
        # row by row, as `_produce` cuts any source)
        error: BaseException | None = None
        try:
            for page in pages:
                if len(page) > 1 and sum(map(size, page)) > chunk_bytes:
                    buf: list[Any] = []
                    held = 0
                    for row in page:
                        buf.append(row)
                        held += size(row)
                        if len(buf) >= chunk or held >= chunk_bytes:
                            if not self._hand_over(buf):
                                return
                            buf, held = [], 0
                    if buf and not self._hand_over(buf):
                        return
                    continue
                for i in range(0, len(page), chunk):
                    if not self._hand_over(page[i : i + chunk]):
                        return
        except BaseException as e:  # re-raised on the loop, after what was read before it
            error = e
        self._hand_over(None, error)

    def close(self) -> None:
        self._stop.set()
        self._chunks.clear()


def _exchange_size(ex: Exchange) -> int:
    resp = ex.response
    return len(ex.request.body) + (len(resp.body) if resp is not None else 0)
