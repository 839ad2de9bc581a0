"""Shadow report rendering: JSON schema, terminal tables, one self-contained HTML page."""

from __future__ import annotations

import io
import re

import orjson
import pytest
from rich.console import Console

from amber._model import Response
from amber.replay import _shadow
from amber.replay._noise import NoiseRules
from amber.replay._report import REPORT_SCHEMA
from amber.replay._report import render_html
from amber.replay._report import render_terminal
from amber.replay._report import report_json
from amber.replay._shadow import FailOn
from amber.replay._shadow import ShadowAccumulator
from amber.replay._shadow import ShadowReport

EVIL = '<script>alert("x")</script>'


def _report(evil: bool = True) -> ShadowReport:
    acc = ShadowAccumulator(lambda m, r: NoiseRules())
    for i in range(20):
        p = Response(200, body=orjson.dumps({"name": "ann", "at": i, "ok": True}))
        s = Response(200, body=orjson.dumps({"name": "ann", "at": i + 1, "ok": True}))
        c = Response(
            200, body=orjson.dumps({"name": EVIL if evil else "ann", "at": i + 2, "ok": True})
        )
        acc.add(
            exchange_id=f"ex{i}",
            method="GET",
            route="/users/{id}<b>",
            primary=p,
            candidate=c,
            secondary=s,
        )
        acc.add(
            exchange_id=f"q{i}", method="GET", route="/search", primary=p, candidate=p, secondary=s
        )
    return acc.report()


def test_report_json_schema_is_stable() -> None:
    data = report_json(_report(), meta={"candidate": "http://localhost:9000"})
    assert list(data) == ["schema", "meta", "verdict", "thresholds", "totals", "sides", "routes"]
    assert data["schema"] == REPORT_SCHEMA
    assert data["verdict"]["passed"] is False and len(data["verdict"]["reasons"]) == 1
    assert data["verdict"]["fail_on"] == {
        "any_regression": True,
        "max_diff_rate": None,
        "routes": [],
        "unreachable": True,
        "max_error_rate": 0.01,
        "latency": [],
    }
    assert data["totals"]["requests"] == 40 and data["totals"]["reported_fields"] == 1
    route = data["routes"][1]
    assert route["route"] == "GET /users/{id}<b>"
    assert list(route) == [
        "route",
        "requests",
        "compared",
        "candidate_differing",
        "noisy",
        "differing",
        "regressed",
        "candidate_rate",
        "noise_rate",
        "diff_rate",
        "sides",
        "fields",
    ]
    field = route["fields"][0]
    assert field["path"] == "body$.name" and field["reported"] is True
    assert list(field) == [
        "path",
        "raw",
        "noise",
        "unsuppressed",
        "reverse",
        "raw_rate",
        "noise_rate",
        "unsuppressed_rate",
        "reported",
        "reasons",
        "examples",
        "noise_examples",
    ]
    assert field["examples"][0] == {
        "exchange_id": "ex0",
        "path": "body$.name",
        "expected": '"ann"',
        "actual": orjson.dumps(EVIL).decode(),
        "suppressed": False,
    }
    orjson.dumps(data)  # JSON-ready
    assert report_json(_report(evil=False), fail_on=FailOn())["verdict"]["passed"] is True


def test_terminal_rendering_prints_values_as_text() -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=160, color_system=None)
    report = _report()
    # a value that would be rich markup must be printed literally
    report.routes[1].fields[0].examples[0] = type(report.routes[1].fields[0].examples[0])(
        "ex0", "body$.name", "[bold red]x[/]", "y"
    )
    render_terminal(report, console)
    out = buf.getvalue()
    assert out.startswith("FAIL")
    assert "GET /users/{id}<b>: body$.name differs on 20/20 requests" in out
    assert "[bold red]x[/]" in out
    assert "REPORTED (rate, per-request)" in out


def test_terminal_pass_and_empty() -> None:
    buf = io.StringIO()
    render_terminal(_report(evil=False), Console(file=buf, width=120, color_system=None))
    assert buf.getvalue().startswith("PASS")
    buf = io.StringIO()
    render_terminal(
        ShadowAccumulator(lambda m, r: NoiseRules()).report(),
        Console(file=buf, width=120, color_system=None),
    )
    assert "no requests compared" in buf.getvalue()


def test_html_escapes_everything_from_traffic() -> None:
    page = render_html(_report(), title="shadow <run>", meta={"note": "<img src=x>"})
    assert "<script>" not in page
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
        or "&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;" in page
    )
    assert "<img" not in page and "&lt;img src=x&gt;" in page
    assert "shadow &lt;run&gt;" in page
    assert "/users/{id}<b>" not in page and "/users/{id}&lt;b&gt;" in page


def test_html_is_self_contained() -> None:
    page = render_html(_report(), title="t", meta={"candidate": "https://example.com/x"})
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "<script" not in page.lower()
    assert page.count("<svg") == 1 + 2  # overview + one field chart per route
    assert "<details>" in page


@pytest.mark.parametrize(("evil", "verdict"), [(True, "FAIL"), (False, "PASS")])
def test_html_verdict_on_top(evil: bool, verdict: str) -> None:
    page = render_html(_report(evil), title="t", meta={})
    body = page.split("<body>", 1)[1]
    assert body.index(f"<b>{verdict}</b>") < body.index("<svg")
    if evil:
        assert "GET /users/{id}&lt;b&gt;: body$.name differs on 20/20" in page


def _timed_report() -> ShadowReport:
    acc = ShadowAccumulator(lambda m, r: NoiseRules())
    ok = Response(200, body=b"{}")
    for i in range(30):
        down = i % 10 == 0
        acc.add(
            exchange_id=f"t{i}",
            method="GET",
            route="/slow",
            primary=ok,
            candidate=None if down else Response(503 if i % 10 == 5 else 200, body=b"{}"),
            secondary=ok,
            candidate_error=f"timeout after 3s {EVIL}" if down else None,
            latency_ms=(10.0, 40.0 + i, 12.0),
            error_kinds=(None, "timeout" if down else None, None),
        )
    return acc.report()


def test_sides_errors_status_and_latency_in_every_form() -> None:
    report = _timed_report()
    fail_on = FailOn(latency=(_shadow.LatencyRule(95, ratio=1.5),))
    data = report_json(report, fail_on=fail_on)
    cand = data["routes"][0]["sides"]["candidate"]
    assert (cand["requests"], cand["answered"], cand["errors"], cand["timeouts"]) == (30, 27, 3, 3)
    assert cand["statuses"] == {"200": 24, "503": 3} and cand["error_rate"] == 0.1
    assert 60 <= cand["latency_ms"]["p95"] <= 72 and data["sides"]["baseline"]["errors"] == 0
    assert data["verdict"]["errors"] == [
        f"GET /slow: candidate failed 3/30 requests (10.00% > 1.00%): timeout after 3s {EVIL}"
    ]
    assert data["verdict"]["fail_on"]["latency"] == ["p95>1.5x"]
    assert any("candidate p95" in r for r in data["verdict"]["reasons"])
    out = io.StringIO()
    render_terminal(report, Console(file=out, width=200), fail_on=fail_on)
    text = out.getvalue()
    assert "errors, status and latency" in text and "200:24 503:3 err:3" in text
    assert "3 (10.0%; 3 timeouts)" in text and "3 not compared (a side got no response)" in text
    page = render_html(report, fail_on=fail_on)
    assert "p95 ms" in page and "200:24 503:3 err:3" in page and EVIL not in page
    assert "timeout after 3s &lt;script&gt;" in page and "3 not compared" in page
