"""Shadow comparison: Diffy's noise statistics plus per-request suppression.

Every request is answered by three instances: **primary** (a known-good build),
**candidate** (the build under test) and **secondary** (a second known-good instance),
sent in that order. Per request, under the route's `NoiseRules`:
`raw = compare(primary, candidate)` and `noise = compare(primary, secondary)`; difference
paths are generalized (`$.items[3].id` -> `$.items[*].id`) into *fields*.

**Per-request suppression.** A candidate difference at field F is *explained* on this
request when the secondary also differs at F on this request, with a compatible kind (a
`value` difference of the secondary excuses a `value` difference of the candidate but not
a `type` difference; a `type` difference excuses both), and the candidate's value keeps the
baselines' *shape* (when the primary's and the secondary's values have the same shape,
e.g. `"a:a:a"` for two ISO timestamps, a candidate value of another shape, such as
`"a/a/a a:a"`, is not explained). A string's shape keeps its punctuation and turns each
run of letters, digits, `_`, `-`, `+` and `=` into `a` (so ids, tokens and UUIDs all have
the shape `"a"`); every number has the same shape.
Unexplained candidate differences are the request's `regression_paths`.

**Counts** per route (`"METHOD /route/{template}"`) and field, over the route's N requests:
`raw` (the candidate differed), `noise` (the secondary differed), `unsuppressed` (the
candidate differed in a way the secondary's difference does not explain) and `reverse`
(the same with the roles swapped: the secondary differed in a way the candidate does not
explain). A field is **reported** when either test passes:

1. **rate** (Diffy): `raw > noise`, `(raw - noise) / (raw + noise) > relative_threshold`
   and `(raw - noise) / N > absolute_threshold`. A field that differs more often on the
   candidate than between the baselines.
2. **per-request** (a paired sign test, McNemar's): with `u = unsuppressed` and
   `r = reverse`: `u > r`, `(u - r) / (u + r) > relative_threshold`,
   `(u - r) / N > absolute_threshold` and `u - r > 3 * sqrt(u + r)`. If the candidate
   were as good as a baseline, candidate and secondary would be interchangeable, so each
   would be the odd one out about equally often; the test ignores the requests where both
   differ, which is what lets a regression inside a noisy field show. Example: the
   baselines differ on 70 % of requests and the candidate on all: the rate test sees 100 %
   vs 70 % (0.18, below 0.2); the paired test sees u = 30 %, r = 0 and reports it. A
   timestamp that differs on every request and changes format on the candidate is caught
   by its shape (u = N, r = 0).

Time drift does not trigger the paired test: the candidate is sent between the two
baselines, so a clock-driven field differs on the secondary whenever it differs on the
candidate (r >= u). Random noise gives u ~ r, and the 3-sigma condition keeps small
samples quiet. A field with no noise at all is reported by the rate test as soon as the
candidate differs on more than `absolute_threshold` of the route's requests.

**Errors are not differences.** A request where any of the three got no response (a
transport error: could not connect, timed out, connection broken) is not compared: each
side's errors are counted per route (`SideReport`: errors, of which `unreachable` could
not connect and `timeouts`), and the gate judges them on their own (`FailOn.unreachable`,
`FailOn.max_error_rate`). Field statistics count the `compared` requests only.

**Status and latency** are counted per route and side for every request: the status mix
(at most `MAX_STATUSES` distinct codes, then `other`) and the latency of each answered
request in a `LatencyHistogram` (log-spaced buckets 4 % wide: p50/p95/p99 within 2 %, at
most ~460 counters per route and side whatever the number of requests).

Memory is O(routes x fields): counters, at most `max_examples` examples per field and at
most `MAX_SIGNATURES` distinct sets of regressed fields per route (to count the requests
whose differences touch a reported field). Never O(requests).

One module because the counters, the per-request suppression and the tests above are one
algorithm, and the report records are what it produces: split, the statistics this
docstring describes would be scattered over files.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from amber._model import Response
from amber.errors import ConfigError
from amber.replay._compare import Difference
from amber.replay._compare import _Body
from amber.replay._compare import _compare_views
from amber.replay._compare import generalize
from amber.replay._noise import NoiseFile
from amber.replay._noise import NoiseRules

__all__ = [
    "DEFAULT_ABSOLUTE_THRESHOLD",
    "DEFAULT_MAX_ERROR_RATE",
    "DEFAULT_RELATIVE_THRESHOLD",
    "MAX_FIELDS_PER_ROUTE",
    "MAX_SIGNATURES",
    "MIN_LATENCY_REQUESTS",
    "SIDES",
    "Example",
    "FailOn",
    "FieldReport",
    "LatencyHistogram",
    "LatencyRule",
    "RequestVerdict",
    "RouteReport",
    "SideReport",
    "ShadowAccumulator",
    "ShadowReport",
    "ShadowSettings",
    "parse_fail_on",
]

DEFAULT_RELATIVE_THRESHOLD = 0.2
DEFAULT_ABSOLUTE_THRESHOLD = 0.0003
MAX_FIELDS_PER_ROUTE = 2000
"""Fields tracked per route; further ones are counted under `OTHER_FIELDS`."""
MAX_SIGNATURES = 4096
"""Distinct sets of regressed fields kept per route (see `RouteReport.regressed`)."""
OTHER_FIELDS = "(other fields)"
_SIGMAS = 3.0
SIDES = ("baseline", "candidate", "baseline2")
"""The three targets of a shadow run as reports name them (primary, candidate, secondary)."""
DEFAULT_MAX_ERROR_RATE = 0.01
"""`errors>1%`: a side's transport errors on a route above this share fail the gate."""
MIN_LATENCY_REQUESTS = 20
"""Answered requests a route needs on the candidate before a latency term judges it."""
MIN_LATENCY_DELTA_MS = 1.0
"""A ratio latency term also needs the candidate this much slower (sub-millisecond jitter
of a local target is not a regression)."""
MAX_STATUSES = 32
"""Distinct status codes counted per route and side; further ones count as `other`."""


class LatencyHistogram:
    """A streaming latency histogram: log-spaced buckets, each `RATIO` (4 %) wider than the
    one below, from `LOW_MS` (0.01 ms) to ~10 minutes (values outside are clamped into the
    end buckets). A quantile is the geometric middle of its bucket, clamped to the exact
    minimum and maximum seen: within 2 % of the true value. Memory is at most
    `MAX_BUCKET + 1` counters (sparse), whatever the number of samples."""

    RATIO = 1.04
    LOW_MS = 0.01
    MAX_BUCKET = 460
    _LOG = math.log(RATIO)

    __slots__ = ("buckets", "count", "max", "min")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.min = math.inf
        self.max = 0.0

    def add(self, ms: float) -> None:
        if ms != ms or ms < 0:  # NaN or negative: a clock oddity, not a latency
            return
        i = 0 if ms <= self.LOW_MS else int(math.log(ms / self.LOW_MS) / self._LOG)
        if i > self.MAX_BUCKET:
            i = self.MAX_BUCKET
        self.buckets[i] = self.buckets.get(i, 0) + 1
        self.count += 1
        if ms < self.min:
            self.min = ms
        if ms > self.max:
            self.max = ms

    def merge(self, other: LatencyHistogram) -> None:
        for i, n in other.buckets.items():
            self.buckets[i] = self.buckets.get(i, 0) + n
        self.count += other.count
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def quantile(self, q: float) -> float | None:
        """The `q` quantile (0 < q <= 1) in milliseconds; None without samples."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for i in sorted(self.buckets):
            seen += self.buckets[i]
            if seen >= rank:
                if i == self.MAX_BUCKET:  # the open-ended top bucket: its largest value
                    return self.max
                mid = self.LOW_MS * math.exp(self._LOG * (i + 0.5))
                return min(max(mid, self.min), self.max)
        return self.max  # pragma: no cover - the counts add up to `count`


@dataclass
class SideReport:
    """One side (baseline, candidate, baseline2) on one route, or over the whole run."""

    side: str
    requests: int
    answered: int
    errors: int
    """Requests with no response (transport errors)."""
    unreachable: int
    """Errors where the target could not be connected to (refused, no host, connect timeout)."""
    timeouts: int
    statuses: dict[str, int]
    """Responses per status code (`"200"`), `"other"` beyond `MAX_STATUSES` codes."""
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    first_error: str | None = None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def latency(self, quantile: int) -> float | None:
        """p50, p95 or p99 in milliseconds (None: nothing answered)."""
        return {50: self.p50, 95: self.p95, 99: self.p99}.get(quantile)


@dataclass(frozen=True)
class LatencyRule:
    """A latency term of `--fail-on`: the candidate's `pQUANTILE` on a route above `ratio`
    times the slower baseline's (`p95>1.3x`), or above `ms` milliseconds (`p95>500ms`)."""

    quantile: int
    ratio: float | None = None
    ms: float | None = None

    def __str__(self) -> str:
        return f"p{self.quantile}>" + (f"{self.ratio:g}x" if self.ratio else f"{self.ms:g}ms")


@dataclass(frozen=True, slots=True)
class RequestVerdict:
    """One request's outcome: generalized fields where the candidate differed and this
    request's noise did not explain it, those it did explain, and the noise itself."""

    regression_paths: frozenset[str]
    suppressed_paths: frozenset[str]
    noise_paths: frozenset[str]
    errored: tuple[str, ...] = ()
    """The sides (`SIDES`) that got no response: the request was not compared."""

    @property
    def ok(self) -> bool:
        return not self.regression_paths and not self.errored


@dataclass(frozen=True, slots=True)
class Example:
    """One observed difference: the concrete path and the two displays."""

    exchange_id: str
    path: str
    expected: str | None
    actual: str | None
    suppressed: bool = False


@dataclass
class FieldReport:
    """Statistics of one generalized field on one route."""

    path: str
    requests: int
    raw: int
    """Requests where the candidate differed from the primary at this field."""
    noise: int
    """Requests where the secondary differed from the primary at this field."""
    unsuppressed: int
    """Requests where the candidate's difference was not explained by the secondary's."""
    reverse: int = 0
    """Requests where the secondary's difference was not explained by the candidate's."""
    reported: bool = False
    reasons: tuple[str, ...] = ()
    examples: list[Example] = field(default_factory=list)
    noise_examples: list[Example] = field(default_factory=list)

    @property
    def raw_rate(self) -> float:
        return self.raw / self.requests if self.requests else 0.0

    @property
    def noise_rate(self) -> float:
        return self.noise / self.requests if self.requests else 0.0

    @property
    def unsuppressed_rate(self) -> float:
        return self.unsuppressed / self.requests if self.requests else 0.0


@dataclass
class RouteReport:
    """One route: request counts and its fields, reported ones first."""

    route: str
    requests: int
    candidate_differing: int
    """Requests where the candidate differed from the primary at all."""
    noisy: int
    """Requests where the secondary differed from the primary at all."""
    differing: int
    """Requests with a candidate difference not suppressed by their own noise."""
    regressed: int
    """Requests with a non-suppressed difference in a *reported* field."""
    fields: list[FieldReport] = field(default_factory=list)
    compared: int | None = None
    """Requests all three sides answered, the ones compared (None: all of them)."""
    sides: dict[str, SideReport] = field(default_factory=dict)
    """Errors, status mix and latency per side (`SIDES`)."""

    @property
    def compared_requests(self) -> int:
        return self.requests if self.compared is None else self.compared

    @property
    def candidate_rate(self) -> float:
        return self.candidate_differing / self.requests if self.requests else 0.0

    @property
    def noise_rate(self) -> float:
        return self.noisy / self.requests if self.requests else 0.0

    @property
    def diff_rate(self) -> float:
        """The share of compared requests that regressed (what `FailOn.max_diff_rate`
        limits)."""
        n = self.compared_requests
        return self.regressed / n if n else 0.0

    @property
    def reported(self) -> list[FieldReport]:
        return [f for f in self.fields if f.reported]


@dataclass(frozen=True)
class FailOn:
    """When a shadow run fails: any reported field, a per-route regressed share above
    `max_diff_rate`, any side that could not connect (`unreachable`), a side's transport
    errors on a route above `max_error_rate`, a `latency` term; only on routes matching
    `routes` (fnmatch on `"METHOD /route"`)."""

    any_regression: bool = True
    max_diff_rate: float | None = None
    routes: tuple[str, ...] = ()
    unreachable: bool = True
    max_error_rate: float | None = DEFAULT_MAX_ERROR_RATE
    latency: tuple[LatencyRule, ...] = ()


_FAIL_ON_FORMS = (
    "none",
    "regression",
    "diff-rate>RATE (0.01 or 1%)",
    "errors>RATE (default 1%)",
    "unreachable (default) or unreachable=off",
    "p50|p95|p99>FACTORx (vs the slower baseline) or >MSms or >Ss",
    "route=GLOB",
    "a comma-separated combination, e.g. 'regression,diff-rate>0.05,p95>1.3x'",
)
_DIFF_RATE = re.compile(r"^diff-rate\s*>\s*([0-9.]+)\s*(%?)$")
_ERRORS = re.compile(r"^errors\s*>\s*([0-9.]+)\s*(%?)$")
_LATENCY = re.compile(r"^p(50|95|99)\s*>\s*([0-9.]+)\s*(x|ms|s)$")


def _rate(text: str, percent: str, term: str) -> float:
    try:
        rate = float(text) / (100.0 if percent else 1.0)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{term} must be between 0 and 1 (or 0% and 100%), got {term}>{text}")
    return rate


def parse_fail_on(spec: str) -> FailOn:
    """Parse a `--fail-on` value.

    Without a `diff-rate` term any reported field fails (`regression`); unless `none`,
    an unreachable side and errors above 1 % fail too (`unreachable=off`, `errors>RATE`).

    ```python
    >>> parse_fail_on("diff-rate>1%,p95>1.3x").latency
    (LatencyRule(quantile=95, ratio=1.3, ms=None),)
    ```

    *Raises:* `ValueError` listing the valid forms.
    """
    tokens = [t.strip() for t in spec.split(",") if t.strip()]
    if not tokens:
        raise ValueError(f"empty --fail-on; valid forms: {'; '.join(_FAIL_ON_FORMS)}")
    if tokens == ["none"]:
        return FailOn(any_regression=False, unreachable=False, max_error_rate=None)
    regression, rate, routes = False, None, []
    unreachable, errors, latency = True, DEFAULT_MAX_ERROR_RATE, []
    for t in tokens:
        m = _DIFF_RATE.match(t)
        e = _ERRORS.match(t)
        lat = _LATENCY.match(t)
        if t in ("regression", "regressions", "any"):
            regression = True
        elif m:
            rate = _rate(m.group(1), m.group(2), "diff-rate")
        elif e:
            errors = _rate(e.group(1), e.group(2), "errors")
        elif t in ("unreachable", "unreachable=on"):
            unreachable = True
        elif t == "unreachable=off":
            unreachable = False
        elif lat:
            try:
                value = float(lat.group(2))
            except ValueError:
                value = 0.0
            if value <= 0:
                raise ValueError(f"{t!r}: the limit must be a positive number")
            q, unit = int(lat.group(1)), lat.group(3)
            if unit == "x":
                latency.append(LatencyRule(q, ratio=value))
            else:
                latency.append(LatencyRule(q, ms=value * (1000.0 if unit == "s" else 1.0)))
        elif t.startswith("route="):
            routes.append(t[6:].strip())
        else:
            raise ValueError(f"invalid --fail-on {t!r}; valid forms: {'; '.join(_FAIL_ON_FORMS)}")
    if rate is None:
        regression = True
    return FailOn(
        any_regression=regression,
        max_diff_rate=rate,
        routes=tuple(routes),
        unreachable=unreachable,
        max_error_rate=errors,
        latency=tuple(latency),
    )


@dataclass(frozen=True)
class ShadowSettings:
    """amber.yaml `shadow:`: `thresholds: {relative, absolute}`, `max_examples`, `fail_on`."""

    relative_threshold: float = DEFAULT_RELATIVE_THRESHOLD
    absolute_threshold: float = DEFAULT_ABSOLUTE_THRESHOLD
    max_examples: int = 5
    fail_on: FailOn = field(default_factory=FailOn)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], key: str = "shadow") -> ShadowSettings:
        """*Raises:* `ConfigError` naming the key (`shadow.thresholds.relative`)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping, got {type(data).__name__}", key=key)
        known = ("thresholds", "max_examples", "fail_on")
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r} (known: {', '.join(known)})", key=f"{key}.{unknown[0]}"
            )
        th = data.get("thresholds") or {}
        if not isinstance(th, Mapping):
            raise ConfigError(
                "expected a mapping with relative and absolute", key=f"{key}.thresholds"
            )
        bad = sorted(str(k) for k in th if k not in ("relative", "absolute"))
        if bad:
            raise ConfigError(
                f"unknown key {bad[0]!r} (known: relative, absolute)",
                key=f"{key}.thresholds.{bad[0]}",
            )
        values = {}
        for name, default in (
            ("relative", DEFAULT_RELATIVE_THRESHOLD),
            ("absolute", DEFAULT_ABSOLUTE_THRESHOLD),
        ):
            v = th.get(name, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ConfigError(
                    f"expected a number from 0 up to 1, got {v!r}", key=f"{key}.thresholds.{name}"
                )
            values[name] = float(v)
        ex = data.get("max_examples", 5)
        if isinstance(ex, bool) or not isinstance(ex, int) or not 0 <= ex <= 100:
            raise ConfigError(
                f"expected a whole number from 0 to 100, got {ex!r}", key=f"{key}.max_examples"
            )
        fail_on = FailOn()
        if data.get("fail_on") is not None:
            try:
                fail_on = parse_fail_on(str(data["fail_on"]))
            except ValueError as e:
                raise ConfigError(str(e), key=f"{key}.fail_on") from None
        return cls(values["relative"], values["absolute"], ex, fail_on)


@dataclass
class ShadowReport:
    """The result of a shadow run: per-route statistics, totals and the thresholds used."""

    routes: list[RouteReport]
    totals: dict[str, int]
    thresholds: dict[str, float]
    sides: dict[str, SideReport] = field(default_factory=dict)
    """Each side (`SIDES`) over the whole run: errors, status mix, latency."""

    def regressions(self) -> list[tuple[str, FieldReport]]:
        """Every reported field, as `(route, field)`, in route order."""
        return [(r.route, f) for r in self.routes for f in r.fields if f.reported]

    def _gated(self, fail_on: FailOn) -> list[RouteReport]:
        if not fail_on.routes:
            return self.routes
        return [
            r for r in self.routes if any(fnmatch.fnmatchcase(r.route, g) for g in fail_on.routes)
        ]

    def gate_errors(self, fail_on: FailOn | None = None) -> list[str]:
        """The reasons to fail that are about a side not answering (`FailOn.unreachable`,
        `FailOn.max_error_rate`): the run could not judge the candidate (exit status 3).
        An unreachable side is one line, whatever the routes it failed on."""
        fail_on = fail_on or FailOn()
        routes = self._gated(fail_on)
        reasons: list[str] = []
        down: set[str] = set()
        if fail_on.unreachable:
            for side in SIDES:
                stats = [r.sides[side] for r in routes if side in r.sides]
                n = sum(x.unreachable for x in stats)
                if n:
                    down.add(side)
                    total = sum(x.requests for x in stats)
                    first = next((x.first_error for x in stats if x.first_error), None)
                    reasons.append(
                        f"{side} unreachable: {n}/{total} requests could not connect"
                        + (f" ({first})" if first else "")
                    )
        limit = fail_on.max_error_rate
        if limit is not None:
            for r in routes:
                for side in SIDES:
                    x = r.sides.get(side)
                    if x is None or side in down or not x.errors or x.error_rate <= limit:
                        continue
                    reasons.append(
                        f"{r.route}: {side} failed {x.errors}/{x.requests} requests "
                        f"({x.error_rate:.2%} > {limit:.2%})"
                        + (f": {x.first_error}" if x.first_error else "")
                    )
        return reasons

    def gate_latency(self, fail_on: FailOn | None = None) -> list[str]:
        """The reasons to fail from `FailOn.latency` (routes where the candidate answered
        at least `MIN_LATENCY_REQUESTS` requests)."""
        fail_on = fail_on or FailOn()
        reasons: list[str] = []
        for r in self._gated(fail_on):
            cand = r.sides.get("candidate")
            if not fail_on.latency or cand is None or cand.answered < MIN_LATENCY_REQUESTS:
                continue
            for rule in fail_on.latency:
                c = cand.latency(rule.quantile)
                if c is None:
                    continue
                name = f"p{rule.quantile}"
                if rule.ms is not None and c > rule.ms:
                    reasons.append(
                        f"{r.route}: candidate {name} {c:.1f} ms > {rule.ms:g} ms ({rule})"
                    )
                if rule.ratio is not None:
                    bases = [
                        v
                        for v in (
                            r.sides[b].latency(rule.quantile) for b in ("baseline", "baseline2")
                        )
                        if v is not None
                    ]
                    if not bases:
                        continue
                    slower = max(bases)
                    if c > rule.ratio * slower and c - slower >= MIN_LATENCY_DELTA_MS:
                        shown = ", ".join(f"{v:.1f}" for v in bases)
                        reasons.append(
                            f"{r.route}: candidate {name} {c:.1f} ms > {rule.ratio:g}x the "
                            f"baselines' ({shown} ms)"
                        )
        return reasons

    def gate(self, fail_on: FailOn | None = None) -> list[str]:
        """Reasons to fail the run under `fail_on` (empty: pass): `gate_errors` first, then
        the differences, then `gate_latency`."""
        fail_on = fail_on or FailOn()
        reasons: list[str] = self.gate_errors(fail_on)
        for r in self._gated(fail_on):
            if fail_on.any_regression:
                for f in r.reported:
                    reasons.append(
                        f"{r.route}: {f.path} differs on {f.raw}/{r.requests} requests "
                        f"(baselines {f.noise}/{r.requests}; {f.unsuppressed} not explained "
                        "by the request's own noise)"
                    )
            if fail_on.max_diff_rate is not None and r.diff_rate > fail_on.max_diff_rate:
                reasons.append(
                    f"{r.route}: {r.regressed}/{r.compared_requests} requests regressed "
                    f"({r.diff_rate:.2%} > {fail_on.max_diff_rate:.2%})"
                )
        return reasons + self.gate_latency(fail_on)


class _FieldStats:
    __slots__ = (
        "examples",
        "noise",
        "noise_examples",
        "raw",
        "reverse",
        "suppressed_examples",
        "unsuppressed",
    )

    def __init__(self) -> None:
        self.raw = 0
        self.noise = 0
        self.unsuppressed = 0
        self.reverse = 0
        self.examples: list[Example] = []
        self.suppressed_examples: list[Example] = []
        self.noise_examples: list[Example] = []


class _SideStats:
    __slots__ = (
        "errors",
        "first_error",
        "latency",
        "requests",
        "statuses",
        "timeouts",
        "unreachable",
    )

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.unreachable = 0
        self.timeouts = 0
        self.statuses: dict[str, int] = {}
        self.latency = LatencyHistogram()
        self.first_error: str | None = None

    def add(
        self, response: Response | None, error: str | None, kind: str | None, ms: float | None
    ) -> None:
        self.requests += 1
        if response is None:
            self.errors += 1
            if kind == "connect":
                self.unreachable += 1
            elif kind == "timeout":
                self.timeouts += 1
            if self.first_error is None:
                self.first_error = error or "no response"
            return
        code = str(response.status)
        st = self.statuses
        if code not in st and len(st) >= MAX_STATUSES:
            code = "other"
        st[code] = st.get(code, 0) + 1
        if ms is not None:
            self.latency.add(ms)

    def merge(self, other: _SideStats) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.unreachable += other.unreachable
        self.timeouts += other.timeouts
        for code, n in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + n
        self.latency.merge(other.latency)
        if self.first_error is None:
            self.first_error = other.first_error

    def report(self, side: str) -> SideReport:
        h = self.latency
        return SideReport(
            side,
            self.requests,
            self.requests - self.errors,
            self.errors,
            self.unreachable,
            self.timeouts,
            dict(sorted(self.statuses.items())),
            h.quantile(0.5),
            h.quantile(0.95),
            h.quantile(0.99),
            self.first_error,
        )


class _RouteStats:
    __slots__ = (
        "candidate_differing",
        "compared",
        "differing",
        "fields",
        "noisy",
        "requests",
        "sides",
        "sig_overflow",
        "signatures",
    )

    def __init__(self) -> None:
        self.requests = 0
        self.compared = 0
        self.sides = (_SideStats(), _SideStats(), _SideStats())
        self.candidate_differing = 0
        self.noisy = 0
        self.differing = 0
        self.fields: dict[str, _FieldStats] = {}
        self.signatures: dict[frozenset[str], int] = {}
        self.sig_overflow = 0

    def stats(self, path: str) -> _FieldStats:
        s = self.fields.get(path)
        if s is None:
            if len(self.fields) >= MAX_FIELDS_PER_ROUTE:
                path = OTHER_FIELDS
                s = self.fields.get(path)
            if s is None:
                s = self.fields[path] = _FieldStats()
        return s

    def field_key(self, path: str) -> str:
        if path in self.fields or len(self.fields) < MAX_FIELDS_PER_ROUTE:
            return path
        return OTHER_FIELDS


# A candidate difference of kind K at field F is excused by noise at F of these kinds.
_EXCUSED_BY = {
    "value": ("value", "type"),
    "type": ("type",),
}


_WORD = re.compile(r"[\w\-+=]+")


def _shape(display: str | None) -> str | None:
    """The shape of a displayed JSON value: for a string, runs of letters, digits and
    `_-+=` become `a` (`"2024-01-02T03:04:05Z"` -> `"a:a:a"`, `"01/02/2024"` ->
    `"a/a/a"`; ids and tokens are all `"a"`); every number is `0`."""
    if display is None:
        return None
    c = display[:1]
    if c == '"':
        return _WORD.sub("a", display)
    if c == "-" or c.isdigit():
        return "0"
    return display


def _group(diffs: tuple[Difference, ...]) -> dict[str, list[Difference]]:
    out: dict[str, list[Difference]] = {}
    for d in diffs:
        out.setdefault(generalize(d.path), []).append(d)
    return out


def _unexplained(
    diffs: list[Difference], other: list[Difference] | None, other_at: dict[str, Difference]
) -> list[Difference]:
    """The differences of one build at a field that the other build's differences at the
    same field (same request, same primary) do not explain (see the module doc)."""
    if not other:
        return diffs
    kinds = {d.kind for d in other}
    out = []
    for d in diffs:
        if not any(k in kinds for k in _EXCUSED_BY.get(d.kind, (d.kind,))):
            out.append(d)
            continue
        o = other_at.get(d.path)
        if o is not None and d.kind == "value" and o.kind == "value":
            base = _shape(d.expected)
            if base == _shape(o.actual) and _shape(d.actual) != base:
                out.append(d)
    return out


class ShadowAccumulator:
    """Collects primary/candidate/secondary triples and turns them into a `ShadowReport`.

    **Parameters:**

    - `rules_for`: `(method, route) -> NoiseRules`, e.g. `NoiseFile.rules_for`.
    - `relative_threshold`, `absolute_threshold`: the reporting thresholds (module doc).
    - `max_examples`: examples kept per field, of each of: candidate differences not
      explained by noise, explained ones, and baseline (noise) differences.
    """

    def __init__(
        self,
        rules_for: Callable[[str, str], NoiseRules],
        *,
        relative_threshold: float = DEFAULT_RELATIVE_THRESHOLD,
        absolute_threshold: float = DEFAULT_ABSOLUTE_THRESHOLD,
        max_examples: int = 5,
    ) -> None:
        self.rules_for = rules_for
        self.relative_threshold = relative_threshold
        self.absolute_threshold = absolute_threshold
        self.max_examples = max_examples
        self._routes: dict[str, _RouteStats] = {}
        self.side_errors = [0, 0, 0]
        """Requests each side (`SIDES` order) got no response to, so far."""

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self._routes.values())

    def add(
        self,
        *,
        exchange_id: str,
        method: str,
        route: str,
        primary: Response | None,
        candidate: Response | None,
        secondary: Response | None,
        primary_error: str | None = None,
        candidate_error: str | None = None,
        secondary_error: str | None = None,
        latency_ms: tuple[float | None, float | None, float | None] = (None, None, None),
        error_kinds: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> RequestVerdict:
        """Compare one request's three responses and count it (see the module doc).

        `latency_ms` and `error_kinds` are the three sides' (primary, candidate,
        secondary), as `Outcome.latency_ms` and `Outcome.error_kind` give them. A request
        where a side got no response is counted for its side and not compared."""
        method = method.upper()
        route = route or "/"
        key = f"{method} {route}"
        rs = self._routes.get(key)
        if rs is None:
            rs = self._routes[key] = _RouteStats()
        rs.requests += 1
        errored = []
        for i, (resp, err) in enumerate(
            ((primary, primary_error), (candidate, candidate_error), (secondary, secondary_error))
        ):
            rs.sides[i].add(resp, err, error_kinds[i], latency_ms[i])
            if resp is None:
                errored.append(SIDES[i])
                self.side_errors[i] += 1
        if errored:
            return RequestVerdict(frozenset(), frozenset(), frozenset(), tuple(errored))
        rs.compared += 1
        rules = self.rules_for(method, route)
        vp = _Body(primary) if primary is not None else None
        raw = _compare_views(
            vp,
            _Body(candidate) if candidate is not None else None,
            rules,
            expected_error=primary_error,
            actual_error=candidate_error,
        )
        noise = _compare_views(
            vp,
            _Body(secondary) if secondary is not None else None,
            rules,
            expected_error=primary_error,
            actual_error=secondary_error,
        )
        keep = self.max_examples

        raw_groups = _group(raw.differences) if raw.differences else {}
        noise_groups = _group(noise.differences) if noise.differences else {}
        raw_at = {d.path: d for d in raw.differences} if noise_groups else {}
        noise_at = {d.path: d for d in noise.differences} if raw_groups else {}
        if noise_groups:
            rs.noisy += 1
            for path, diffs in noise_groups.items():
                fs = rs.stats(path)
                fs.noise += 1
                if _unexplained(diffs, raw_groups.get(path), raw_at):
                    fs.reverse += 1
                if len(fs.noise_examples) < keep:
                    d = diffs[0]
                    fs.noise_examples.append(Example(exchange_id, d.path, d.expected, d.actual))
        regression: set[str] = set()
        suppressed: set[str] = set()
        if raw_groups:
            rs.candidate_differing += 1
            for path, diffs in raw_groups.items():
                fs = rs.stats(path)
                fs.raw += 1
                unexplained = _unexplained(diffs, noise_groups.get(path), noise_at)
                if unexplained:
                    fs.unsuppressed += 1
                    regression.add(rs.field_key(path))
                    if len(fs.examples) < keep:
                        d = unexplained[0]
                        fs.examples.append(Example(exchange_id, d.path, d.expected, d.actual))
                else:
                    suppressed.add(path)
                    if len(fs.suppressed_examples) < keep:
                        d = diffs[0]
                        fs.suppressed_examples.append(
                            Example(exchange_id, d.path, d.expected, d.actual, suppressed=True)
                        )
        if regression:
            rs.differing += 1
            sig = frozenset(regression)
            if sig in rs.signatures:
                rs.signatures[sig] += 1
            elif len(rs.signatures) < MAX_SIGNATURES:
                rs.signatures[sig] = 1
            else:
                rs.sig_overflow += 1
        return RequestVerdict(frozenset(regression), frozenset(suppressed), frozenset(noise_groups))

    # -- reporting ---------------------------------------------------------------------

    def _passes(self, signal: float, baseline: float, total: int) -> bool:
        if signal <= baseline:
            return False
        delta = signal - baseline
        return (
            delta / (signal + baseline) > self.relative_threshold
            and delta / total > self.absolute_threshold
        )

    def _field_report(self, path: str, fs: _FieldStats, n: int) -> FieldReport:
        reasons = []
        if self._passes(fs.raw, fs.noise, n):
            reasons.append("rate")
        u, r = fs.unsuppressed, fs.reverse
        if self._passes(u, r, n) and u - r > _SIGMAS * math.sqrt(u + r):
            reasons.append("per-request")
        examples = list(fs.examples)
        examples += fs.suppressed_examples[: max(0, self.max_examples - len(examples))]
        return FieldReport(
            path,
            n,
            fs.raw,
            fs.noise,
            fs.unsuppressed,
            fs.reverse,
            bool(reasons),
            tuple(reasons),
            examples,
            list(fs.noise_examples),
        )

    def report(self) -> ShadowReport:
        """The statistics so far (the accumulator can keep adding afterwards)."""
        routes: list[RouteReport] = []
        for key in sorted(self._routes, key=lambda k: (k.split(" ", 1)[1], k)):
            rs = self._routes[key]
            n = rs.compared
            fields = [self._field_report(p, fs, n) for p, fs in rs.fields.items()]
            fields.sort(key=lambda f: (not f.reported, -f.unsuppressed, -f.raw, f.path))
            reported = {f.path for f in fields if f.reported}
            regressed = sum(c for sig, c in rs.signatures.items() if sig & reported)
            if reported:
                regressed += rs.sig_overflow
            routes.append(
                RouteReport(
                    key,
                    rs.requests,
                    rs.candidate_differing,
                    rs.noisy,
                    rs.differing,
                    regressed,
                    fields,
                    n,
                    {side: st.report(side) for side, st in zip(SIDES, rs.sides, strict=True)},
                )
            )
        overall = (_SideStats(), _SideStats(), _SideStats())
        for rs in self._routes.values():
            for total, st in zip(overall, rs.sides, strict=True):
                total.merge(st)
        totals = {
            "routes": len(routes),
            "requests": sum(r.requests for r in routes),
            "compared": sum(r.compared_requests for r in routes),
            "candidate_differing": sum(r.candidate_differing for r in routes),
            "noisy": sum(r.noisy for r in routes),
            "differing": sum(r.differing for r in routes),
            "regressed": sum(r.regressed for r in routes),
            "reported_fields": sum(len(r.reported) for r in routes),
        }
        return ShadowReport(
            routes,
            totals,
            {"relative": self.relative_threshold, "absolute": self.absolute_threshold},
            {side: st.report(side) for side, st in zip(SIDES, overall, strict=True)},
        )

    def learned_noise(self) -> NoiseFile:
        """What differed between the two baselines, per route, as `NoiseFile` rules.

        JSON fields become `ignore_paths` (generalized: `$.items[*].id`), headers become
        `ignore_headers`. Status, text-line, binary and error noise cannot be written as
        rules and is left out (`learned_noise_comment` lists it).
        """
        routes: dict[str, NoiseRules] = {}
        for key, rs in self._routes.items():
            paths, headers = [], []
            for p, fs in rs.fields.items():
                if not fs.noise:
                    continue
                if p.startswith("body$"):
                    paths.append(p[4:])
                elif p.startswith("header:"):
                    headers.append(p[7:])
            if paths or headers:
                routes[key] = NoiseRules(
                    ignore_headers=frozenset(headers), ignore_paths=tuple(sorted(paths))
                )
        return NoiseFile(NoiseRules(), routes)

    def learned_noise_comment(self) -> str:
        """A header for `NoiseFile.dump`: how the rules were learned, what was left out."""
        n = self.requests
        lines = [
            f"Learned by amber shadow from {n} request{'s' if n != 1 else ''} on "
            f"{len(self._routes)} route{'s' if len(self._routes) != 1 else ''}:",
            "fields that differed between the two baseline instances (primary, secondary).",
            "Review before committing; delete a line to compare that field again.",
        ]
        left = []
        for key in sorted(self._routes):
            for p, fs in self._routes[key].fields.items():
                if fs.noise and not p.startswith(("body$", "header:")):
                    left.append(f"  {key} {p} ({fs.noise}/{self._routes[key].requests})")
        if left:
            lines.append("Noise that cannot be written as a rule (status, text lines, binary):")
            lines.extend(left[:50])
        return "\n".join(lines)
