"""The replay use case: send a store's exchanges to a target, compare each response with the
recording, and keep the run in the store (`amber replay` is its command line).

`replay_exchanges(store, settings, events)` guards the target (`guard_targets`), starts a
run (`amber._runs.RunLog`), replays (`Replayer`), compares (`compare_responses`), stores a
`RunResult` per exchange from a writer thread, finishes the run, audits it, and returns a
`ReplaySummary`. It prints nothing: progress, results and notices go to a `RunEvents`.
What both use cases share (the selection, how requests are sent, the events, how a run is
driven to its end) is here too; the shadow use case is in `_shadow_run.py`.

Per exchange, on the event loop, the work is kept to a comparison, one `RunResult` and its
JSON encoding (docs/replay.md, "How it is fast").
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Coroutine
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol

import httpx

from amber import _aio
from amber._config import Config
from amber._model import Exchange
from amber._model import Response
from amber._model import printable
from amber._pseudonym import KEY_ENV
from amber._pseudonym import Pseudonymizer
from amber._pseudonym import load_key
from amber._runs import RunLog
from amber._runs import RunResult
from amber._runs import RunState
from amber._runs import RunWriter
from amber._store import ExchangeQuery
from amber._store import Store
from amber.errors import KeyMissing
from amber.replay._auth import Auth
from amber.replay._compare import compare_responses
from amber.replay._noise import NoiseFile
from amber.replay._noise import NoiseRules
from amber.replay._runner import DEFAULT_UNREACHABLE_AFTER
from amber.replay._runner import Outcome
from amber.replay._runner import Replayer
from amber.replay._runner import Target
from amber.replay._session import Parsed
from amber.replay._targets import Safety
from amber.replay._targets import count_writes
from amber.replay._targets import guard_targets
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from amber.sanitize import TargetSanitizer

__all__ = [
    "DETAIL_LIMIT",
    "UNHEARD",
    "NO_KEY_WARNING",
    "Clean",
    "ReplaySettings",
    "ResultCleaner",
    "ReplaySummary",
    "RunEvents",
    "Selection",
    "SendOptions",
    "drive",
    "replay_exchanges",
    "result_cleaner",
]

DETAIL_LIMIT = 50
"""Differences a replay result keeps (with how many more there were)."""
PAGE = 1000
"""Rows read from the store per query (fewer when their bodies pass the store's page
bytes): a query costs about as much to build as 200 rows to read."""


class Clean(Protocol):
    """What a run keeps from a target goes through this first: `response(actual, recorded)`
    puts a response in the capture's sanitized space before it is compared (a
    `TargetSanitizer`), and calling it sanitizes free text (an error, a display) before it
    is stored or printed. `warning`, when set, is told to the person running it."""

    warning: str | None

    def __call__(self, value: str | None) -> str | None:
        """`value` by the value rules (None stays None)."""

    def response(
        self,
        actual: Response,
        recorded: Exchange | None,
        rules: NoiseRules | None = None,
        parsed: Parsed | None = None,
    ) -> Response:
        """`actual` in sanitized space, compared with `recorded`'s response. With the
        comparison's `rules`, what they ignore or skip need not be sanitized (it is not
        compared, kept or shown): it may be left out or replaced. `parsed`: both bodies as
        carry-over learning parsed them (`Outcome.parsed`), to use instead of parsing
        them again (the replayed document may be changed in place)."""

    def parsed(self, body: bytes) -> Any:
        """The JSON document of a body the last `response` call parsed (its result's or
        the recording's), else None (see `TargetSanitizer.parsed`)."""


class ResultCleaner:
    """The `Clean` of a run: a `TargetSanitizer` over the capture's sanitizer."""

    def __init__(self, sanitizer: Sanitizer, *, warning: str | None = None) -> None:
        self.target = TargetSanitizer(sanitizer)
        self.warning = warning

    def __call__(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self.target.text(value)

    def parsed(self, body: bytes) -> Any:
        return self.target.parsed(body)

    def response(
        self,
        actual: Response,
        recorded: Exchange | None,
        rules: NoiseRules | None = None,
        parsed: Parsed | None = None,
    ) -> Response:
        if rules is None:
            return self.target.response(actual, recorded, parsed=parsed)
        # replay: the members the rules ignore are not sanitized (they become IGNORED, still
        # ignored), nor are the header fields they skip (left out)
        return self.target.response(
            actual,
            recorded,
            ignore=rules.ignore_regex,
            drop_header=rules.skips_header,
            parsed=parsed,
        )


NO_KEY_WARNING = (
    f"warning: {KEY_ENV} is not set: the targets' values are pseudonymized with a key of "
    "this run only, so every pseudonymized field differs from the recording; set the "
    "capture's key to compare them"
)


def result_cleaner(config: Config, env: Mapping[str, str] = os.environ) -> ResultCleaner:
    """The sanitizer for target responses (compared, stored and shown in sanitized space):
    the capture's rules (amber.yaml `sanitize:`), with pseudonyms keyed by `AMBER_KEY`, as
    the capture's were; without it, a key of this run only (and a `warning`)."""
    warning = None
    try:
        key = load_key(env)
    except KeyMissing:
        key, warning = secrets.token_bytes(32), NO_KEY_WARNING
    scfg = config.with_key(
        "sanitize", lambda: SanitizeConfig.from_mapping(config.section("sanitize"))
    )
    return ResultCleaner(Sanitizer(scfg, Pseudonymizer(key)), warning=warning)


@dataclass(frozen=True)
class Selection:
    """The exchanges a run sends: those with these `ids` (amber or request ids), else what
    `query` matches."""

    ids: tuple[str, ...] = ()
    query: ExchangeQuery = field(default_factory=ExchangeQuery)

    def exchanges(self, store: Store) -> Iterator[Exchange]:
        """The exchanges, in order. A query's stream is returned as is: the replayer reads
        its rows in a thread and decodes them on its loop."""
        if self.ids:
            return (store.get(key) for key in self.ids)
        return store.iter_exchanges(self.query, page=PAGE)

    def total(self, store: Store) -> int | None:
        """How many a query selects (None for ids: some may be missing)."""
        return None if self.ids else store.count(self.query)

    def count_methods(self, store: Store, methods: tuple[str, ...]) -> int:
        """How many of the selected exchanges use one of `methods`."""
        if self.ids:
            return sum(1 for i in self.ids if store.get(i).request.method.upper() in methods)
        wanted = [m for m in methods if not self.query.methods or m in self.query.methods]
        if not wanted:
            return 0
        return store.count(dataclasses.replace(self.query, methods=wanted, limit=None))


@dataclass(frozen=True)
class SendOptions:
    """How requests are sent (the `Replayer`'s options, docs/replay.md). `auth` makes each
    replayer's credentials (one per target: each logs in on its own); `transport`, when
    given, replaces the default `FastTransport` (e.g. `httpx.MockTransport` in tests)."""

    concurrency: int = 8
    rate: float | None = None
    speed: float = 0.0
    session_key: str | None = None
    carry_state: bool = True
    drop_headers: tuple[str, ...] = ()
    auth: Callable[[], Auth] = Auth
    transport: httpx.AsyncBaseTransport | None = None
    unreachable_after: int = DEFAULT_UNREACHABLE_AFTER
    """Stop when this many requests in a row to a target could not connect (0: never)."""

    def replayer_options(self, rate: float | None) -> dict[str, Any]:
        """`Replayer` keyword arguments (but `auth`), with `rate` as the guard set it."""
        return {
            "concurrency": self.concurrency,
            "rate": rate,
            "speed": self.speed,
            "session_key": self.session_key,
            "drop_headers": self.drop_headers,
            "carry_state": self.carry_state,
            "transport": self.transport,
            "unreachable_after": self.unreachable_after,
        }


class RunEvents(Protocol):
    """What a run tells its caller while it goes (the CLI prints it; by default nothing
    listens).

    `result` is called on the event loop for every exchange: it delays the next requests
    for as long as it takes.
    """

    def started(self, run_id: str, total: int | None) -> None:
        """The run is in the store as `run_id`; `total` exchanges are selected (None when
        unknown)."""

    def result(self, result: RunResult) -> None:
        """One exchange's result (already stored or queued to be)."""

    def notice(self, message: str) -> None:
        """Something the person running it should know (a limit applied, a warning)."""


class _Unheard:
    """`RunEvents` nobody listens to."""

    def started(self, run_id: str, total: int | None) -> None:
        pass

    def result(self, result: RunResult) -> None:
        pass

    def notice(self, message: str) -> None:
        pass


UNHEARD: RunEvents = _Unheard()
"""The events of a run called without any."""


def drive(
    main: Coroutine[Any, Any, None], writer: RunWriter, finish: Callable[[RunState], None]
) -> RunState:
    """Run `main` on amber's event loop, store the results left in `writer`, then call
    `finish` with the state the run ended in: `completed`; `interrupted` by Ctrl-C (every
    answered exchange is kept); or `failed`, whose error is raised once `finish` has run."""
    state: RunState = "failed"
    try:
        try:
            _aio.run(main)
            ended: RunState = "completed"
        except KeyboardInterrupt:
            ended = "interrupted"
        finally:
            writer.close()
        state = ended
    finally:
        finish(state)
    return state


@dataclass(frozen=True)
class ReplaySettings:
    """One replay: where to, which exchanges, how, under which safety rules.

    `clean` puts the target's responses in sanitized space before they are compared and
    sanitizes what is kept from them (`result_cleaner`); `noise`
    holds what the comparison ignores; `skip_truncated` skips exchanges whose request body
    was cut at capture (else they are sent, with a notice); `params` are kept with the run
    next to the selection and pacing (e.g. the filters as the user gave them).
    """

    target: Target
    clean: Clean
    selection: Selection = field(default_factory=Selection)
    sending: SendOptions = field(default_factory=SendOptions)
    safety: Safety = field(default_factory=Safety)
    noise: NoiseFile = field(default_factory=NoiseFile)
    skip_truncated: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ReplaySummary:
    """How a replay went: counted while it runs, complete when `replay_exchanges` returns.

    `sent` = `ok` + `mismatch`; `error` counts transport errors (also in `mismatch`), of
    which `unreachable` could not connect; `skipped` the exchanges not sent
    (`skip_truncated`).
    """

    run_id: str
    target: str
    state: RunState = "running"
    sent: int = 0
    ok: int = 0
    mismatch: int = 0
    error: int = 0
    skipped: int = 0
    elapsed_s: float = 0.0
    unreachable: int = 0
    # what was sent, for the audit record: requests per method and per route (the routes
    # are the store's templates, already sanitized; the 50 most sent are kept)
    methods: Counter[str] = field(default_factory=Counter)
    routes: Counter[str] = field(default_factory=Counter)

    def sent_counts(self) -> dict[str, dict[str, int]]:
        """Requests sent per method and per route (the 50 most sent), for the audit log."""
        routes = {printable(r): n for r, n in self.routes.most_common(50)}
        return {"methods": dict(self.methods), "routes": routes}

    def counts(self) -> dict[str, int]:
        """The counts, as the run's summary and its audit record hold them."""
        return {
            "sent": self.sent,
            "ok": self.ok,
            "mismatch": self.mismatch,
            "error": self.error,
            "unreachable": self.unreachable,
            "skipped": self.skipped,
        }


def replay_exchanges(
    store: Store, settings: ReplaySettings, events: RunEvents | None = None
) -> ReplaySummary:
    """Replay `settings.selection` from `store` against `settings.target` and keep the run.

    *Raises:* `UsageError` when the target's rules refuse the run (before anything is
    sent); `TargetUnreachable` when `sending.unreachable_after` requests in a row could not
    connect, and errors of the store or the loop, once the run is finished as `failed`.
    Ctrl-C ends the run as `interrupted`, returned like a completed one.
    """
    events = events or UNHEARD
    sel, sending, target = settings.selection, settings.sending, settings.target
    rate = guard_targets(
        [target],
        settings.safety,
        rate=sending.rate,
        count_unsafe=lambda methods: sel.count_methods(store, methods),
        count_writes=lambda methods: count_writes(sel.exchanges(store), methods),
        notify=events.notice,
    )
    replayer = Replayer(target, auth=sending.auth(), **sending.replayer_options(rate))
    log = RunLog(store)
    run_id = log.start(
        "replay",
        target.display,
        {
            "ids": list(sel.ids),
            "concurrency": sending.concurrency,
            "rate": rate,
            "speed": sending.speed,
            **settings.params,
        },
    )
    summary = ReplaySummary(run_id, target.display)
    writer = log.writer(run_id)  # stored from a thread: the loop never waits on the store
    events.started(run_id, sel.total(store))
    if settings.clean.warning:
        events.notice(settings.clean.warning)
    started = time.monotonic()

    def finish(state: RunState) -> None:
        summary.state = state
        summary.elapsed_s = round(time.monotonic() - started, 3)
        log.finish(run_id, state, dict(summary.counts(), elapsed_s=summary.elapsed_s))
        settings.safety.audit(
            "replay",
            summary.target,
            run=run_id,
            state=state,
            **summary.counts(),
            **summary.sent_counts(),
        )

    on_outcome = _sink(settings, writer, events, summary)
    accept = _accept(settings.skip_truncated, summary, events)
    drive(replayer.run(sel.exchanges(store), on_outcome, accept=accept), writer, finish)
    return summary


def _accept(
    skip_truncated: bool, summary: ReplaySummary, events: RunEvents
) -> Callable[[Exchange], bool]:
    """Whether to send an exchange (asked on the loop; see `Replayer.run`)."""

    def accept(ex: Exchange) -> bool:
        if ex.request.body_truncated:
            if skip_truncated:
                summary.skipped += 1
                return False
            events.notice(
                f"warning: {ex.id}: request body was truncated at capture; "
                "replaying it anyway (--skip-truncated to skip)"
            )
        return True

    return accept


def _sink(
    settings: ReplaySettings, writer: RunWriter, events: RunEvents, summary: ReplaySummary
) -> Callable[[Outcome], None]:
    """What happens to each outcome, on the replay's loop: compare, count, store, report.

    Kept lean: one `RunResult` per exchange (encoded for the writer thread as it is
    added). The target's response is put in sanitized space before it is compared
    (`Clean.response`: nothing to do for a body equal to the recorded one), so what a
    difference shows is sanitized; the displays and errors kept are text-cleaned again.
    """
    rules_for = settings.noise.rules_for
    methods, routes = summary.methods, summary.routes
    clean = settings.clean
    parsed = clean.parsed
    add = writer.add
    report = events.result

    def on_outcome(o: Outcome) -> None:
        ex = o.exchange
        req = ex.request
        recorded = ex.response
        actual = o.response
        rules = rules_for(req.method, ex.route)
        if actual is not None:  # compared in sanitized space: pseudonym meets pseudonym
            actual = clean.response(actual, ex, rules, o.parsed)  # bodies parsed once
        cmp = compare_responses(
            recorded,
            actual,
            rules,
            expected_error=ex.error,
            actual_error=o.error,
            expected_truncated=bool(recorded and recorded.body_truncated),
            ignored_displays=False,  # only counted
            parsed=parsed,  # the documents the cleaner parsed already
        )
        diffs = cmp.differences
        ok = not diffs
        summary.sent += 1
        methods[req.method] += 1
        routes[ex.route] += 1
        if o.error:
            summary.error += 1
            if o.error_kind == "connect":
                summary.unreachable += 1
        if ok:
            summary.ok += 1
        else:
            summary.mismatch += 1
        result = RunResult(
            ex.id,
            o.sent_at,
            o.response.status if o.response is not None else None,
            o.latency_ms,
            ok,
            clean(o.error) if o.error else None,
            req.method,
            req.path,
            ex.route,
            ex.status,
            cmp.checks,
            [
                {
                    "path": d.path,
                    "kind": d.kind,
                    "expected": clean(d.expected),
                    "actual": clean(d.actual),
                }
                for d in diffs[:DETAIL_LIMIT]
            ]
            if diffs
            else [],
            max(0, len(diffs) - DETAIL_LIMIT),
            len(cmp.ignored),
        )
        add(result)
        report(result)

    return on_outcome
