"""Shadow statistics: Diffy's rate test, per-request suppression, learned noise, the gate."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from amber._model import Response
from amber.errors import ConfigError
from amber.replay import _shadow
from amber.replay._noise import NoiseFile
from amber.replay._noise import NoiseRules
from amber.replay._shadow import FailOn
from amber.replay._shadow import ShadowAccumulator
from amber.replay._shadow import ShadowReport
from amber.replay._shadow import ShadowSettings
from amber.replay._shadow import parse_fail_on

ROUTES = ("/users/{id}", "/orders/{id}", "/search")
T0 = 946681200.0


class Build:
    """A fake service: some fields change on every response (time, random ids, rotating
    tokens), and `change` can plant a regression in one build."""

    def __init__(self, seed: int, change: Callable[[str, dict[str, Any]], None] | None = None):
        self.rng = random.Random(seed)
        self.change = change

    def __call__(self, route: str, i: int, clock: float) -> Response:
        body: dict[str, Any] = {
            "id": i,
            "name": f"user-{i}",
            "generated_at": f"{clock:.3f}",  # moves with the clock
            "request_id": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "session": {"token": f"{self.rng.getrandbits(64):x}", "ttl": 3600},
            "items": [
                {"id": str(uuid.UUID(int=self.rng.getrandbits(128))), "sku": f"S{k}", "qty": k}
                for k in range(3)
            ],
            "flags": {"beta": i % 3 == 0},
        }
        if self.change:
            self.change(route, body)
        return Response(
            200,
            headers=(
                ("Content-Type", "application/json"),
                ("Date", f"t{clock:.0f}"),
                ("X-Request-ID", str(self.rng.getrandbits(32))),
                ("Set-Cookie", f"sid={i}{clock}"),
            ),
            body=orjson.dumps(body),
        )


def run(
    acc: ShadowAccumulator, primary: Build, candidate: Build, secondary: Build, n: int = 300
) -> ShadowReport:
    for i in range(n):
        route = ROUTES[i % len(ROUTES)]
        clock = T0 + i * 0.37
        acc.add(
            exchange_id=f"ex{i}",
            method="GET",
            route=route,
            primary=primary(route, i, clock),
            candidate=candidate(route, i, clock + 0.001),
            secondary=secondary(route, i, clock + 0.002),
        )
    return acc.report()


def no_rules(method: str, route: str) -> NoiseRules:
    return NoiseRules()


def test_identical_builds_report_nothing_and_learned_noise_removes_the_noise() -> None:
    learn = ShadowAccumulator(no_rules)
    report = run(learn, Build(1), Build(2), Build(3))
    assert report.regressions() == []
    assert report.gate() == []
    assert report.totals["candidate_differing"] == 300  # noise everywhere ...
    assert report.totals["differing"] == 0  # ... all explained per request
    noise = learn.learned_noise()
    rules = noise.rules_for("GET", "/users/{id}")
    assert set(rules.ignore_paths) == {
        "$.generated_at",
        "$.request_id",
        "$.session.token",
        "$.items[*].id",
    }
    # replaying with the learned noise: nothing differs any more, even without a secondary
    again = ShadowAccumulator(noise.rules_for)
    report2 = run(again, Build(4), Build(5), Build(6))
    assert report2.totals["candidate_differing"] == 0 and report2.regressions() == []
    assert "Learned by amber shadow from 300 requests on 3 routes" in learn.learned_noise_comment()


def test_planted_regression_among_noisy_fields_is_the_only_report() -> None:
    def rename(route: str, body: dict[str, Any]) -> None:
        if route == "/orders/{id}":
            body["name"] = body["name"].upper()

    acc = ShadowAccumulator(no_rules)
    report = run(acc, Build(1), Build(2, change=rename), Build(3))
    assert [(r, f.path) for r, f in report.regressions()] == [("GET /orders/{id}", "body$.name")]
    (_, f) = report.regressions()[0]
    assert (f.raw, f.noise, f.unsuppressed) == (100, 0, 100)
    assert set(f.reasons) == {"rate", "per-request"}
    assert f.examples[0].expected == '"user-1"' and f.examples[0].actual == '"USER-1"'
    assert len(f.examples) == 5
    orders = next(r for r in report.routes if r.route == "GET /orders/{id}")
    assert orders.regressed == 100 and orders.diff_rate == 1.0
    gate = report.gate(parse_fail_on("regression"))
    assert len(gate) == 1 and gate[0].startswith("GET /orders/{id}: body$.name differs on 100/100")


def test_unchanged_candidate_passes_every_gate() -> None:
    report = run(ShadowAccumulator(no_rules), Build(1), Build(1), Build(1))
    assert report.regressions() == []
    assert report.gate(parse_fail_on("regression,diff-rate>0")) == []


def _noisy_field_run(
    noise_rate: float, candidate_rate: float, n: int = 400, seed: int = 7
) -> ShadowReport:
    """One route; field `seq` differs between the baselines on `noise_rate` of requests and
    between primary and candidate on `candidate_rate` of them (candidate value 'new')."""
    rng = random.Random(seed)
    acc = ShadowAccumulator(no_rules)
    for i in range(n):
        noisy = rng.random() < noise_rate
        regressed = rng.random() < candidate_rate
        p = Response(200, body=orjson.dumps({"seq": "a", "id": i}))
        s = Response(200, body=orjson.dumps({"seq": "b" if noisy else "a", "id": i}))
        c = Response(200, body=orjson.dumps({"seq": "new" if regressed else "a", "id": i}))
        acc.add(exchange_id=str(i), method="get", route="/x", primary=p, candidate=c, secondary=s)
    return acc.report()


def test_regression_inside_a_noisy_field_is_reported() -> None:
    report = _noisy_field_run(0.3, 1.0)
    [(route, f)] = report.regressions()
    assert route == "GET /x" and f.path == "body$.seq"
    assert 100 < f.noise < 140 and f.raw == 400
    assert "per-request" in f.reasons


def test_per_request_test_catches_what_the_rate_test_misses() -> None:
    # baselines differ on ~60 %, the candidate on ~75 %, independently: the rate test sees
    # 0.75 vs 0.6 (0.11 < 0.2); the paired test sees the candidate as the odd one out on
    # ~30 % of requests and the secondary on ~15 % (0.33 > 0.2).
    report = _noisy_field_run(0.6, 0.75, n=600)
    [(_, f)] = report.regressions()
    assert f.reasons == ("per-request",)


def test_deterministic_regression_in_a_very_noisy_field() -> None:
    # baselines differ on ~70 %, the candidate on every request: 100 % vs 70 % is below the
    # rate test's 0.2; the paired test sees the ~30 % clean requests all go one way.
    report = _noisy_field_run(0.7, 1.0, n=600)
    [(_, f)] = report.regressions()
    assert f.reasons == ("per-request",) and f.reverse == 0


def test_format_change_in_an_always_noisy_timestamp_is_caught_by_its_shape() -> None:
    acc = ShadowAccumulator(no_rules)
    for i in range(50):

        def at(minute: int, fmt: str = "iso", i: int = i) -> Response:
            value = (
                f"2024-01-02T10:{minute:02d}:00Z" if fmt == "iso" else f"02/01/2024 10:{minute:02d}"
            )
            return Response(200, body=orjson.dumps({"at": value, "i": i}))

        v = acc.add(
            exchange_id=str(i),
            method="GET",
            route="/t",
            primary=at(i % 60),
            candidate=at((i + 1) % 60, "eu"),
            secondary=at((i + 2) % 60),
        )
        assert v.regression_paths == {"body$.at"}
    [(_, f)] = acc.report().regressions()
    assert (f.raw, f.noise, f.unsuppressed, f.reverse) == (50, 50, 50, 0)
    assert f.reasons == ("per-request",)
    # the same build: every value differs, every shape agrees, nothing is reported
    same = ShadowAccumulator(no_rules)
    for i in range(50):

        def iso(minute: int) -> Response:
            return Response(200, body=orjson.dumps({"at": f"2024-01-02T10:{minute:02d}:00Z"}))

        v = same.add(
            exchange_id=str(i),
            method="GET",
            route="/t",
            primary=iso(i % 60),
            candidate=iso((i + 1) % 60),
            secondary=iso((i + 2) % 60),
        )
        assert v.regression_paths == frozenset() and v.suppressed_paths == {"body$.at"}
    assert same.report().regressions() == []


def test_independent_random_noise_is_not_reported() -> None:
    # a field random among 3 values on every instance: every build differs ~2/3 of the time
    for seed in range(5):
        rng = random.Random(seed)
        acc = ShadowAccumulator(no_rules)
        for i in range(300):

            def r(i: int = i, rng: random.Random = rng) -> Response:
                return Response(200, body=orjson.dumps({"node": rng.choice("abc"), "id": i}))

            acc.add(
                exchange_id=str(i),
                method="GET",
                route="/x",
                primary=r(),
                candidate=r(),
                secondary=r(),
            )
        assert acc.report().regressions() == [], seed


def test_request_verdict_and_kind_sensitive_suppression() -> None:
    acc = ShadowAccumulator(no_rules)
    p = Response(200, body=b'{"at": "10:00", "n": 1, "x": 1}')
    s = Response(200, body=b'{"at": "10:01", "n": 1, "x": 1}')
    c = Response(200, body=b'{"at": "10:02", "n": 2, "x": 1}')
    v = acc.add(exchange_id="a", method="GET", route="/r", primary=p, candidate=c, secondary=s)
    assert v.regression_paths == {"body$.n"}
    assert v.suppressed_paths == {"body$.at"}
    assert v.noise_paths == {"body$.at"}
    assert not v.ok
    # the baselines differ in value, the candidate changes the type: not excused
    typed = Response(200, body=b'{"at": 1000, "n": 1, "x": 1}')
    v2 = acc.add(exchange_id="b", method="GET", route="/r", primary=p, candidate=typed, secondary=s)
    assert v2.regression_paths == {"body$.at"} and v2.suppressed_paths == frozenset()


def test_errors_are_counted_per_side_not_compared() -> None:
    acc = ShadowAccumulator(no_rules)
    for i in range(10):
        v = acc.add(
            exchange_id=str(i),
            method="POST",
            route="/pay",
            primary=Response(200, body=b"{}"),
            candidate=None if i < 4 else Response(200, body=b"{}"),
            secondary=Response(200, body=b"{}"),
            candidate_error="connection failed: refused" if i < 4 else None,
            latency_ms=(1.0, None if i < 4 else 2.0, 1.5),
            error_kinds=(None, "connect" if i < 4 else None, None),
        )
        assert v.ok is (i >= 4) and v.errored == (("candidate",) if i < 4 else ())
    report = acc.report()
    assert report.regressions() == []
    [route] = report.routes
    assert (route.requests, route.compared, route.fields) == (10, 6, [])
    cand = route.sides["candidate"]
    assert (cand.requests, cand.answered, cand.errors, cand.unreachable) == (10, 6, 4, 4)
    assert cand.statuses == {"200": 6} and cand.first_error == "connection failed: refused"
    assert route.sides["baseline"].errors == 0 and acc.side_errors == [0, 4, 0]
    assert report.gate_errors(FailOn()) == [
        "candidate unreachable: 4/10 requests could not connect (connection failed: refused)"
    ]
    # errors that are not connection failures: the error-rate term, per route and side
    assert report.gate_errors(FailOn(unreachable=False)) == [
        "POST /pay: candidate failed 4/10 requests (40.00% > 1.00%): connection failed: refused"
    ]
    assert report.gate_errors(FailOn(unreachable=False, max_error_rate=0.5)) == []
    assert report.gate(parse_fail_on("none")) == []


def test_both_baselines_down_is_not_a_pass() -> None:
    acc = ShadowAccumulator(no_rules)
    for i in range(5):
        acc.add(
            exchange_id=str(i),
            method="GET",
            route="/a",
            primary=None,
            candidate=None,
            secondary=None,
            primary_error="connection failed: a",
            candidate_error="connection failed: b",
            secondary_error="connection failed: a",
            error_kinds=("connect", "connect", "connect"),
        )
    reasons = acc.report().gate()
    assert [r.split(":")[0] for r in reasons] == [
        "baseline unreachable",
        "candidate unreachable",
        "baseline2 unreachable",
    ]


def test_latency_histogram_quantiles_are_within_two_percent_in_bounded_memory() -> None:
    h = _shadow.LatencyHistogram()
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 1) for _ in range(20_000)]
    for v in values:
        h.add(v)
    values.sort()
    for q in (0.5, 0.95, 0.99):
        exact = values[int(q * len(values)) - 1]
        got = h.quantile(q)
        assert got is not None and abs(got - exact) / exact < 0.025, (q, got, exact)
    assert len(h.buckets) <= h.MAX_BUCKET + 1 and h.count == 20_000
    h.add(10**9)  # beyond ~10 minutes: the last bucket, the exact maximum kept
    assert h.quantile(1.0) == 10**9 and len(h.buckets) <= h.MAX_BUCKET + 1
    assert _shadow.LatencyHistogram().quantile(0.5) is None


def _timed(acc: ShadowAccumulator, route: str, n: int, ms: tuple[float, float, float]) -> None:
    for i in range(n):
        ok = Response(200, body=b"{}")
        acc.add(
            exchange_id=f"{route}{i}",
            method="GET",
            route=route,
            primary=ok,
            candidate=ok,
            secondary=ok,
            latency_ms=ms,
        )


def test_latency_terms_compare_the_candidate_with_the_slower_baseline() -> None:
    acc = ShadowAccumulator(no_rules)
    _timed(acc, "/slow", 40, (10.0, 20.0, 12.0))
    _timed(acc, "/noisy", 40, (10.0, 20.0, 18.0))  # the baselines disagree as much
    _timed(acc, "/few", 5, (10.0, 90.0, 10.0))  # too few requests to judge
    report = acc.report()
    slow = next(r for r in report.routes if r.route == "GET /slow")
    assert slow.sides["candidate"].p95 is not None
    assert abs(slow.sides["candidate"].p95 - 20.0) < 0.5
    reasons = report.gate(parse_fail_on("p95>1.3x"))
    assert len(reasons) == 1 and reasons[0].startswith("GET /slow: candidate p95 ")
    assert "1.3x the baselines'" in reasons[0]
    assert report.gate(parse_fail_on("p95>2x")) == []
    [absolute] = report.gate(parse_fail_on("p99>15ms,route=GET /noisy"))
    assert absolute.startswith("GET /noisy: candidate p99 ")
    assert report.gate(parse_fail_on("p50>1s")) == []
    assert report.sides["candidate"].statuses == {"200": 85}


def test_gate_forms() -> None:
    acc = ShadowAccumulator(no_rules)
    for i in range(100):
        bad = i < 3
        acc.add(
            exchange_id=str(i),
            method="GET",
            route="/a",
            primary=Response(200, body=b'{"v": 1}'),
            candidate=Response(500 if bad else 200, body=b'{"v": 1}'),
            secondary=Response(200, body=b'{"v": 1}'),
        )
    report = acc.report()
    assert [f.path for _, f in report.regressions()] == ["status"]
    assert report.gate(parse_fail_on("none")) == []
    assert report.gate(parse_fail_on("diff-rate>0.05")) == []
    [reason] = report.gate(parse_fail_on("diff-rate>1%"))
    assert reason == "GET /a: 3/100 requests regressed (3.00% > 1.00%)"
    assert len(report.gate(parse_fail_on("regression,diff-rate>0.01"))) == 2
    assert report.gate(parse_fail_on("route=POST *")) == []
    assert len(report.gate(parse_fail_on("route=GET /a"))) == 1


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("regression", FailOn()),
        ("none", FailOn(any_regression=False, unreachable=False, max_error_rate=None)),
        ("errors>5%,unreachable=off", FailOn(unreachable=False, max_error_rate=0.05)),
        ("errors > 0", FailOn(max_error_rate=0.0)),
        (
            "diff-rate>1%, p95>1.3x, p99>250ms, p50>2s",
            FailOn(
                any_regression=False,
                max_diff_rate=0.01,
                latency=(
                    _shadow.LatencyRule(95, ratio=1.3),
                    _shadow.LatencyRule(99, ms=250.0),
                    _shadow.LatencyRule(50, ms=2000.0),
                ),
            ),
        ),
        ("diff-rate>0.01", FailOn(any_regression=False, max_diff_rate=0.01)),
        ("diff-rate > 5%", FailOn(any_regression=False, max_diff_rate=0.05)),
        ("regression, diff-rate>0.5", FailOn(max_diff_rate=0.5)),
        ("route=GET /users/*", FailOn(routes=("GET /users/*",))),
    ],
)
def test_parse_fail_on(spec: str, expected: FailOn) -> None:
    assert parse_fail_on(spec) == expected


@pytest.mark.parametrize(
    "spec",
    ["", "always", "diff-rate>2", "diff-rate<0.1", "diff-rate>x", "errors>2", "p90>2x", "p95>0x"],
)
def test_parse_fail_on_errors_list_valid_forms(spec: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_fail_on(spec)
    if spec not in ("diff-rate>2", "errors>2", "p95>0x"):
        assert "regression" in str(info.value) and "diff-rate>RATE" in str(info.value)


def test_thresholds_apply() -> None:
    def run_with(**kw: float) -> int:
        acc = ShadowAccumulator(no_rules, **kw)  # type: ignore[arg-type]
        for i in range(1000):
            acc.add(
                exchange_id=str(i),
                method="GET",
                route="/t",
                primary=Response(200, body=b'{"v": 1}'),
                candidate=Response(200, body=b'{"v": 2}' if i < 2 else b'{"v": 1}'),
                secondary=Response(200, body=b'{"v": 1}'),
            )
        return len(acc.report().regressions())

    assert run_with() == 1  # 2/1000 > 0.0003
    assert run_with(absolute_threshold=0.005) == 0  # 2/1000 < 0.005


def test_memory_is_bounded_by_routes_and_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_shadow, "MAX_FIELDS_PER_ROUTE", 10)
    monkeypatch.setattr(_shadow, "MAX_SIGNATURES", 4)
    acc = ShadowAccumulator(no_rules, max_examples=2)
    for i in range(2000):
        # dynamic keys: a new field per request, and many distinct field sets
        acc.add(
            exchange_id=str(i),
            method="GET",
            route="/m",
            primary=Response(200, body=orjson.dumps({f"k{i}": 1, "v": 1})),
            candidate=Response(200, body=orjson.dumps({f"k{i}": 2, "v": i})),
            secondary=Response(200, body=orjson.dumps({f"k{i}": 1, "v": 1})),
        )
    stats = acc._routes["GET /m"]
    assert len(stats.fields) <= 11 and len(stats.signatures) <= 4
    assert all(len(f.examples) <= 2 for f in stats.fields.values())
    report = acc.report()
    (route,) = report.routes
    assert route.requests == 2000 and route.differing == 2000
    assert route.regressed == 2000  # overflow counted conservatively
    assert any(f.path == _shadow.OTHER_FIELDS for f in route.fields)


def test_learned_noise_headers_and_unlearnable_noise() -> None:
    acc = ShadowAccumulator(lambda m, r: NoiseRules(compare_all_headers=True))
    for i in range(5):
        p = Response(200, headers=(("X-Cache", "HIT"),), body=b"<p>a</p>\n<p>1</p>")
        s = Response(200, headers=(("X-Cache", "MISS"),), body=b"<p>a</p>\n<p>2</p>")
        acc.add(
            exchange_id=str(i), method="GET", route="/page", primary=p, candidate=p, secondary=s
        )
    noise = acc.learned_noise()
    assert noise.rules_for("GET", "/page").ignore_headers == {"x-cache"}
    assert "GET /page body:line 2 (5/5)" in acc.learned_noise_comment()
    text = noise.dump(acc.learned_noise_comment())
    assert NoiseFile.from_mapping(__import__("yaml").safe_load(text)).dump() == noise.dump()


def test_shadow_settings_from_mapping() -> None:
    s = ShadowSettings.from_mapping(
        {
            "thresholds": {"relative": 0.3, "absolute": 0.001},
            "max_examples": 3,
            "fail_on": "diff-rate>0.02",
        }
    )
    assert (s.relative_threshold, s.absolute_threshold, s.max_examples) == (0.3, 0.001, 3)
    assert s.fail_on == FailOn(any_regression=False, max_diff_rate=0.02)
    assert ShadowSettings.from_mapping({}) == ShadowSettings()
    for data, key in (
        ({"thresholds": {"relative": 2}}, "shadow.thresholds.relative"),
        ({"thresholds": {"rel": 0.1}}, "shadow.thresholds.rel"),
        ({"max_examples": -1}, "shadow.max_examples"),
        ({"fail_on": "sometimes"}, "shadow.fail_on"),
        ({"treshold": 1}, "shadow.treshold"),
    ):
        with pytest.raises(ConfigError) as info:
            ShadowSettings.from_mapping(data)
        assert info.value.key == key
