from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from amber._model import Exchange
from amber._model import Request
from amber._model import new_id
from amber._store import ExchangeQuery
from amber._store import Store
from amber.replay._feed import Feed
from tests.conftest import T0


def post(i: int, size: int = 10) -> Exchange:
    return Exchange(new_id(), Request("POST", "http", "x", 80, "/echo", body=bytes([i]) * size))


def test_the_feed_bounds_its_read_ahead_by_body_bytes_too() -> None:
    def source() -> Iterator[Exchange]:
        for i in range(100):
            yield post(i, 1000)

    async def main() -> tuple[list[int], int]:
        feed = Feed(source(), asyncio.get_running_loop(), chunk=256, depth=2, chunk_bytes=5000)
        deadline = time.monotonic() + 10
        while len(feed._chunks) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # and it stops there: `depth` chunks ahead
        ahead = [len(c) for c in feed._chunks]
        n = 0
        while await feed.wait() is not None:
            n += 1
        feed.close()
        return ahead, n

    ahead, n = asyncio.run(main())
    assert ahead == [5, 5] and n == 100


def test_an_error_of_the_source_is_raised_on_the_loop_after_what_came_before() -> None:
    def source() -> Iterator[Exchange]:
        yield from (post(i) for i in range(5))
        raise OSError("the store went away")

    async def main(got: list[int]) -> None:
        feed = Feed(source(), asyncio.get_running_loop(), chunk=2)
        try:
            while (ex := await feed.wait()) is not None:
                got.append(ex.request.body[0])
        finally:
            feed.close()

    got: list[int] = []
    with pytest.raises(OSError, match="the store went away"):
        asyncio.run(main(got))
    assert got == [0, 1, 2, 3, 4]


def test_a_list_is_used_as_is_without_a_thread() -> None:
    async def main() -> list[Exchange | None]:
        feed = Feed([post(0), post(1)], asyncio.get_running_loop())
        assert feed._thread is None
        return [feed.next(), feed.next(), feed.next(), await feed.wait()]

    first, second, none, end = asyncio.run(main())
    assert first is not None and second is not None and none is None and end is None


def test_the_store_s_pages_are_handed_over_in_chunks_bounded_by_rows_and_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a store, the reader hands whole pages over in slices of `chunk` rows; a page
    whose bodies pass `chunk_bytes` is cut by bytes too. Every row arrives, in order."""
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    store.add_many(
        [
            Exchange(
                new_id(T0 + i),
                Request("POST", "http", "x", 80, "/echo", body=b"%d" % i + b"x" * size),
            )
            for i, size in enumerate([10] * 50 + [1000] * 30)
        ]
    )
    sizes: list[int] = []
    real = Feed._deliver

    def deliver(self: Feed, chunk: list[Any] | None, error: BaseException | None) -> None:
        if chunk is not None:
            sizes.append(len(chunk))
        real(self, chunk, error)

    monkeypatch.setattr(Feed, "_deliver", deliver)  # before the reader thread starts

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        feed = Feed(
            store.iter_exchanges(ExchangeQuery(), page=40), loop, chunk=16, chunk_bytes=5000
        )
        got = []
        try:
            while (ex := await feed.wait()) is not None:
                got.append(ex.request.body.rstrip(b"x"))
        finally:
            feed.close()
        return got

    try:
        got = asyncio.run(main())
    finally:
        store.close()
    assert got == [b"%d" % i for i in range(80)]
    # page 1: 40 small rows in slices of 16; page 2: 10 small rows and 30 of ~1 KB, cut at
    # 5,000 bytes (5 rows)
    assert sizes[:3] == [16, 16, 8]
    assert all(n <= 16 for n in sizes) and sum(sizes) == 80 and len(sizes) > 5
