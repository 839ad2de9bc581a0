"""Shadow runs: each request goes to a baseline, the candidate and a second baseline.

The order is Diffy's: baseline, candidate, second baseline, one after another. The
candidate sits in the middle, so any drift over time (clocks, counters, caches) is at least as
visible between the two baselines as between baseline and candidate: noise is never
attributed to the candidate for being last. With one baseline URL, the second baseline is
the same service hit a second time.

Non-idempotent requests (POST, PUT, PATCH, DELETE and configured methods) are not sent
unless `allow_writes` is set: a shadow run sends every request three times.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from amber._model import Exchange
from amber.replay._runner import Outcome
from amber.replay._runner import Replayer
from amber.replay._runner import Target

__all__ = ["NON_IDEMPOTENT", "ShadowRunner", "Triple"]

NON_IDEMPOTENT = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Triple:
    """One exchange's three responses."""

    exchange: Exchange
    primary: Outcome
    candidate: Outcome
    secondary: Outcome


class ShadowRunner:
    """Runs a shadow comparison's traffic; the caller compares (see `ShadowAccumulator`)."""

    def __init__(
        self,
        primary: Target,
        candidate: Target,
        secondary: Target | None = None,
        *,
        allow_writes: bool = False,
        unsafe_methods: Iterable[str] = (),
        **replayer_options: Any,
    ) -> None:
        self.primary = Replayer(primary, **replayer_options)
        self.candidate = Replayer(candidate, **replayer_options)
        self.secondary = Replayer(secondary or primary, **replayer_options)
        self.allow_writes = allow_writes
        self.unsafe = NON_IDEMPOTENT | {m.upper() for m in unsafe_methods}
        self.skipped_writes = 0

    def _safe(self, ex: Exchange) -> bool:
        if not self.allow_writes and ex.request.method.upper() in self.unsafe:
            self.skipped_writes += 1
            return False
        return True

    async def _perform(self, ex: Exchange, key: str, scheduled: float | None) -> Triple:
        p = await self.primary.replay_one(ex, self.primary.state(key), scheduled)
        c = await self.candidate.replay_one(ex, self.candidate.state(key), scheduled)
        s = await self.secondary.replay_one(ex, self.secondary.state(key), scheduled)
        return Triple(ex, p, c, s)

    async def run(
        self,
        exchanges: Iterable[Exchange],
        on_triple: Callable[[Triple], Awaitable[None] | None],
    ) -> None:
        """Send every (safe) exchange to the three targets, calling `on_triple` for each."""
        await self.candidate.auth.start(self.candidate.send, self.candidate.target.base)
        await self.secondary.auth.start(self.secondary.send, self.secondary.target.base)
        try:
            await self.primary.run(exchanges, on_triple, self._perform, self._safe)
        finally:
            for r in (self.candidate, self.secondary):
                if r._own_transport:
                    await r.transport.aclose()
