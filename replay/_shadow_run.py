"""Shadow runs: each request goes to a baseline, the candidate and a second baseline.

The order is Diffy's: baseline, candidate, second baseline, one after another. The
candidate sits in the middle, so any drift over time (clocks, counters, caches) is at least as
visible between the two baselines as between baseline and candidate: noise is never
attributed to the candidate for being last. With one baseline URL, the second baseline is
the same service hit a second time.

Non-idempotent requests (POST, PUT, PATCH, DELETE and configured methods) are not sent
unless `allow_writes` is set: a shadow run sends every request three times.

`shadow_exchanges(store, settings, events)` is the use case (`amber shadow` is its command
line): it guards the targets, runs a `ShadowRunner`, compares with a `ShadowAccumulator`,
keeps a `RunResult` per request (the candidate's response) in the store, audits the run
and returns a `ShadowSummary` with the report, its values sanitized.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from amber._model import Exchange
from amber._model import Response
from amber._model import printable
from amber._runs import RunLog
from amber._runs import RunResult
from amber._runs import RunState
from amber._runs import RunWriter
from amber._store import Store
from amber.errors import TargetUnreachable
from amber.replay._auth import Auth
from amber.replay._noise import NoiseFile
from amber.replay._reach import UnreachableWatch
from amber.replay._run import UNHEARD
from amber.replay._run import Clean
from amber.replay._run import RunEvents
from amber.replay._run import Selection
from amber.replay._run import SendOptions
from amber.replay._run import drive
from amber.replay._runner import NOT_SENT
from amber.replay._runner import Outcome
from amber.replay._runner import Replayer
from amber.replay._runner import Target
from amber.replay._shadow import SIDES
from amber.replay._shadow import FailOn
from amber.replay._shadow import ShadowAccumulator
from amber.replay._shadow import ShadowReport
from amber.replay._shadow import ShadowSettings
from amber.replay._targets import Safety
from amber.replay._targets import count_writes
from amber.replay._targets import guard_targets
from amber.replay._targets import is_write

__all__ = [
    "ShadowRunSettings",
    "ShadowRunner",
    "ShadowSummary",
    "Triple",
    "clean_report",
    "shadow_exchanges",
]


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
        auth: Callable[[], Auth] | None = None,
        **replayer_options: Any,
    ) -> None:
        """`auth` makes each target's credentials (each logs in on its own); the other
        options are the three `Replayer`s'."""
        self.primary = Replayer(primary, auth=auth() if auth else None, **replayer_options)
        self.candidate = Replayer(candidate, auth=auth() if auth else None, **replayer_options)
        self.secondary = Replayer(
            secondary or primary, auth=auth() if auth else None, **replayer_options
        )
        self.allow_writes = allow_writes
        self.unsafe = tuple(m.upper() for m in unsafe_methods)
        self.skipped_writes = 0

    def _safe(self, ex: Exchange) -> bool:
        # a write as it will be sent: any method but the four reads, or one listed in
        # `replay.unsafe_methods`, method-override headers and `_method` fields included
        if not self.allow_writes and is_write(ex.request, self.unsafe):
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
        """Send every (safe) exchange to the three targets, calling `on_triple` for each.

        *Raises:* `TargetUnreachable` once `unreachable_after` requests in a row to a side
        could not connect (naming every side that is down), after the requests in flight
        went to `on_triple`: nothing further is sent (`Replayer.stop`)."""
        await self.candidate.auth.start(self.candidate.send, self.candidate.target.base)
        await self.secondary.auth.start(self.secondary.send, self.secondary.target.base)
        try:
            await self.primary.run(exchanges, self._watched(on_triple), self._perform, self._safe)
        finally:
            for r in (self.candidate, self.secondary):
                if r._own_transport:
                    await r.transport.aclose()

    def _watched(
        self, on_triple: Callable[[Triple], Awaitable[None] | None]
    ) -> Callable[[Triple], Awaitable[None] | None]:
        """`on_triple`, then each side's `UnreachableWatch` (a baseline asked twice is one
        target: named once)."""
        limit = self.primary.unreachable_after
        if not limit:
            return on_triple
        replayers = (self.primary, self.candidate, self.secondary)
        watches = [
            UnreachableWatch(r.target, limit, side)
            for r, side in zip(replayers, SIDES, strict=True)
        ]

        def sink(t: Triple) -> Awaitable[None] | None:
            outcomes = (t.primary, t.candidate, t.secondary)
            if any(o.error is NOT_SENT for o in outcomes):
                return None  # the run stopped before (some of) it was sent
            result = on_triple(t)
            for w, o in zip(watches, outcomes, strict=True):
                w.count(o)
            if any(w.tripped for w in watches):
                down, seen = [], set()
                for w in watches:
                    if w.tripped and w.target.url not in seen:
                        seen.add(w.target.url)
                        down.append(w.message(f"--{w.side}"))
                for r in replayers:  # the first stop's reason is the one raised
                    r.stop("; ".join(down))
            return result

        return sink


def clean_report(report: ShadowReport, clean: Clean) -> None:
    """Sanitize the examples' values (and the sides' first errors) in place: they come from
    the targets' responses."""
    for sides in [report.sides, *(r.sides for r in report.routes)]:
        for side in sides.values():
            side.first_error = clean(side.first_error)
    for r in report.routes:
        for f in r.fields:
            f.examples = [
                dataclasses.replace(e, expected=clean(e.expected), actual=clean(e.actual))
                for e in f.examples
            ]
            f.noise_examples = [
                dataclasses.replace(e, expected=clean(e.expected), actual=clean(e.actual))
                for e in f.noise_examples
            ]


@dataclass(frozen=True)
class ShadowRunSettings:
    """One shadow run: the targets, which exchanges, how, and when it fails.

    `baseline2` defaults to the baseline asked twice. `shadow` holds the thresholds and the
    default `fail_on`; `fail_on`, when given, replaces that gate. `clean`, `noise`,
    `selection`, `sending` and `params` are as in `ReplaySettings`; `safety.allow_writes`
    also sends non-idempotent requests (three times each).
    """

    baseline: Target
    candidate: Target
    clean: Clean
    baseline2: Target | None = None
    selection: Selection = field(default_factory=Selection)
    sending: SendOptions = field(default_factory=SendOptions)
    safety: Safety = field(default_factory=Safety)
    noise: NoiseFile = field(default_factory=NoiseFile)
    shadow: ShadowSettings = field(default_factory=ShadowSettings)
    fail_on: FailOn | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def gate(self) -> FailOn:
        """When the run fails: `fail_on`, else the `shadow:` configuration's."""
        return self.fail_on or self.shadow.fail_on

    @property
    def targets(self) -> str:
        """The targets as the run and the audit log name them."""
        return f"baseline {self.baseline.display} candidate {self.candidate.display}" + (
            f" baseline2 {self.baseline2.display}" if self.baseline2 else ""
        )


@dataclass(frozen=True)
class ShadowSummary:
    """How a shadow run went: its report (values sanitized), the gate's verdict (`reasons`
    it failed for; empty when it passed) and the noise the baselines showed."""

    run_id: str
    settings: ShadowRunSettings
    state: RunState
    requests: int
    skipped_writes: int
    elapsed_s: float
    report: ShadowReport
    reasons: list[str]
    accumulator: ShadowAccumulator
    stopped: str | None = None
    """Why the run stopped early (`TargetUnreachable`'s message), else None."""

    @property
    def unreachable(self) -> list[str]:
        """The gate's reasons about sides that did not answer (exit status 3), and why the
        run stopped early, if it did."""
        reasons = self.report.gate_errors(self.settings.gate)
        return ([self.stopped] if self.stopped else []) + reasons

    def meta(self) -> dict[str, Any]:
        """The report's `meta` (JSON and HTML): run, targets, counts, elapsed, state."""
        s = self.settings
        return {
            "run": self.run_id,
            "baseline": s.baseline.display,
            "candidate": s.candidate.display,
            "baseline2": (s.baseline2 or s.baseline).display,
            "requests": self.requests,
            "skipped_writes": self.skipped_writes,
            "elapsed_s": self.elapsed_s,
            "state": self.state,
            "stopped": self.stopped,
        }

    def learned_noise(self) -> str:
        """What differed between the two baselines, as a reviewable noise file (YAML)."""
        acc = self.accumulator
        return acc.learned_noise().dump(comment=acc.learned_noise_comment())


def shadow_exchanges(
    store: Store, settings: ShadowRunSettings, events: RunEvents | None = None
) -> ShadowSummary:
    """Shadow `settings.selection` from `store` on the three targets and keep the run.

    *Raises:* `UsageError` when a target's rules refuse the run (before anything is
    sent); errors of the store or the loop once the run is finished as `failed`. A run
    stopped because a side could not connect (`SendOptions.unreachable_after`) ends as
    `failed` and is returned, with `stopped` saying why.
    Ctrl-C ends the run as `interrupted`, returned (with its report) like a completed one.
    """
    events = events or UNHEARD
    sel, sending, sh = settings.selection, settings.sending, settings.shadow
    rate = guard_targets(
        [settings.baseline, settings.candidate, settings.baseline2],
        settings.safety,
        rate=sending.rate,
        count_unsafe=lambda methods: sel.count_methods(store, methods),
        count_writes=lambda methods: count_writes(sel.exchanges(store), methods),
        notify=events.notice,
    )
    runner = ShadowRunner(
        settings.baseline,
        settings.candidate,
        settings.baseline2,
        allow_writes=settings.safety.allow_writes,
        unsafe_methods=settings.safety.unsafe_methods,
        auth=sending.auth,
        **sending.replayer_options(rate),
    )
    acc = ShadowAccumulator(
        settings.noise.rules_for,
        relative_threshold=sh.relative_threshold,
        absolute_threshold=sh.absolute_threshold,
        max_examples=sh.max_examples,
    )
    log = RunLog(store)
    run_id = log.start(
        "shadow",
        settings.targets,
        {"ids": list(sel.ids), "allow_writes": settings.safety.allow_writes, **settings.params},
    )
    writer = log.writer(run_id)  # stored from a thread: the loop never waits on the store
    watch = getattr(events, "watch", None)  # a progress display reads the side counts
    if watch is not None:
        watch(acc)
    events.started(run_id, sel.total(store))
    if settings.clean.warning:
        events.notice(settings.clean.warning)
    started = time.monotonic()
    ended: list[ShadowSummary] = []
    sent = _Sent()

    def finish(state: RunState) -> None:
        elapsed = round(time.monotonic() - started, 3)
        ended.append(
            _finish(log, run_id, settings, acc, state, runner.skipped_writes, elapsed, sent)
        )

    try:
        drive(
            runner.run(sel.exchanges(store), _sink(settings, acc, writer, events, sent)),
            writer,
            finish,
        )
    except TargetUnreachable as e:  # its line quotes the first error, cleaned as results are
        return dataclasses.replace(ended[0], stopped=settings.clean(str(e)))
    return ended[0]


def _finish(
    log: RunLog,
    run_id: str,
    settings: ShadowRunSettings,
    acc: ShadowAccumulator,
    state: RunState,
    skipped_writes: int,
    elapsed_s: float,
    sent: _Sent,
) -> ShadowSummary:
    """The report and the gate's verdict; the run's summary in the store; the audit record."""
    report = acc.report()
    clean_report(report, settings.clean)
    summary = ShadowSummary(
        run_id,
        settings,
        state,
        acc.requests,
        skipped_writes,
        elapsed_s,
        report,
        report.gate(settings.gate),
        acc,
    )
    regressions = len(report.regressions())
    log.finish(
        run_id,
        state,
        {
            "requests": summary.requests,
            "regressions": regressions,
            "skipped_writes": skipped_writes,
            "errors": dict(zip(SIDES, acc.side_errors, strict=True)),
            "gate": summary.reasons[:50],
        },
    )
    settings.safety.audit(
        "shadow",
        settings.targets,
        run=run_id,
        state=state,
        requests=summary.requests,
        regressions=regressions,
        skipped_writes=skipped_writes,
        **sent.counts(),
    )
    return summary


def _not_compared(errored: tuple[str, ...]) -> str | None:
    """The stored error of a request a baseline got no response to (None: compared)."""
    return f"not compared: no response from the {' and '.join(errored)}" if errored else None


@dataclass(slots=True)
class _Sent:
    """What a shadow run sent, for its audit record: requests per method and per route
    (the store's route templates, already sanitized; the 50 most sent are kept)."""

    methods: Counter[str] = field(default_factory=Counter)
    routes: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, dict[str, int]]:
        routes = {printable(r): n for r, n in self.routes.most_common(50)}
        return {"methods": dict(self.methods), "routes": routes}


def _sink(
    settings: ShadowRunSettings,
    acc: ShadowAccumulator,
    writer: RunWriter,
    events: RunEvents,
    sent: _Sent,
) -> Callable[[Triple], None]:
    """What happens to each request's three responses: compare, count, store, report."""
    clean = settings.clean

    def sanitized(o: Outcome, ex: Exchange) -> Response | None:
        # each side in the capture's sanitized space before it is compared: a pseudonym
        # meets a pseudonym, and the report, noise and results never hold a raw value
        return clean.response(o.response, ex) if o.response is not None else None

    def on_triple(t: Triple) -> None:
        ex = t.exchange
        sent.methods[ex.request.method] += 1
        sent.routes[ex.route] += 1
        req = ex.request
        v = acc.add(
            exchange_id=ex.id,
            method=req.method,
            route=ex.route,
            primary=sanitized(t.primary, ex),
            candidate=sanitized(t.candidate, ex),
            secondary=sanitized(t.secondary, ex),
            primary_error=t.primary.error,
            candidate_error=t.candidate.error,
            secondary_error=t.secondary.error,
            latency_ms=(t.primary.latency_ms, t.candidate.latency_ms, t.secondary.latency_ms),
            error_kinds=(t.primary.error_kind, t.candidate.error_kind, t.secondary.error_kind),
        )
        c = t.candidate
        result = RunResult(
            ex.id,
            c.sent_at,
            c.response.status if c.response else None,
            c.latency_ms,
            v.ok,
            clean(c.error) if c.error else _not_compared(v.errored),
            method=req.method,
            path=req.path,
            route=ex.route,
            recorded_status=ex.status,
            regression_paths=sorted(v.regression_paths),
            suppressed_paths=sorted(v.suppressed_paths),
            noise_paths=sorted(v.noise_paths),
        )
        writer.add(result)
        events.result(result)

    return on_triple
