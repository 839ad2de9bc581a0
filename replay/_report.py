"""Rendering of shadow reports: the terminal (rich), JSON and one self-contained HTML page.

Every value shown may come from production traffic (already sanitized, but still
untrusted): the terminal renders it as plain `Text` (never as rich markup) and the HTML
page escapes it with `html.escape`. The HTML page loads nothing: inline CSS, inline SVG,
no scripts, fonts or links to other sites.

The JSON schema (`report_json`, `"schema": "amber.shadow-report/1"`) is documented in
docs/shadow.md; keys are only ever added within a schema version.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from amber.replay._shadow import SIDES
from amber.replay._shadow import Example
from amber.replay._shadow import FailOn
from amber.replay._shadow import FieldReport
from amber.replay._shadow import RouteReport
from amber.replay._shadow import ShadowReport
from amber.replay._shadow import SideReport

__all__ = ["REPORT_SCHEMA", "render_html", "render_terminal", "report_json"]

REPORT_SCHEMA = "amber.shadow-report/1"
MAX_HTML_FIELDS = 100
"""Fields shown per route in HTML (reported ones always are); the JSON has all of them."""


def _rate(x: float) -> float:
    return round(x, 6)


def _example_json(e: Example) -> dict[str, Any]:
    return {
        "exchange_id": e.exchange_id,
        "path": e.path,
        "expected": e.expected,
        "actual": e.actual,
        "suppressed": e.suppressed,
    }


def _field_json(f: FieldReport) -> dict[str, Any]:
    return {
        "path": f.path,
        "raw": f.raw,
        "noise": f.noise,
        "unsuppressed": f.unsuppressed,
        "reverse": f.reverse,
        "raw_rate": _rate(f.raw_rate),
        "noise_rate": _rate(f.noise_rate),
        "unsuppressed_rate": _rate(f.unsuppressed_rate),
        "reported": f.reported,
        "reasons": list(f.reasons),
        "examples": [_example_json(e) for e in f.examples],
        "noise_examples": [_example_json(e) for e in f.noise_examples],
    }


def _fail_on_json(fail_on: FailOn) -> dict[str, Any]:
    return {
        "any_regression": fail_on.any_regression,
        "max_diff_rate": fail_on.max_diff_rate,
        "routes": list(fail_on.routes),
        "unreachable": fail_on.unreachable,
        "max_error_rate": fail_on.max_error_rate,
        "latency": [str(rule) for rule in fail_on.latency],
    }


def _ms(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _side_json(s: SideReport) -> dict[str, Any]:
    return {
        "requests": s.requests,
        "answered": s.answered,
        "errors": s.errors,
        "unreachable": s.unreachable,
        "timeouts": s.timeouts,
        "error_rate": _rate(s.error_rate),
        "statuses": dict(s.statuses),
        "latency_ms": {"p50": _ms(s.p50), "p95": _ms(s.p95), "p99": _ms(s.p99)},
        "first_error": s.first_error,
    }


def _sides_json(sides: Mapping[str, SideReport]) -> dict[str, Any]:
    return {side: _side_json(sides[side]) for side in SIDES if side in sides}


def report_json(
    report: ShadowReport, *, fail_on: FailOn | None = None, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The report as a JSON-ready dict with a stable schema (docs/shadow.md).

    ```
    {"schema": "amber.shadow-report/1", "meta": {...},
     "verdict": {"passed": bool, "reasons": [str], "errors": [str], "fail_on": {...}},
     "thresholds": {"relative": 0.2, "absolute": 0.0003},
     "totals": {"routes", "requests", "compared", "candidate_differing", "noisy",
                "differing", "regressed", "reported_fields"},
     "sides": {"baseline"|"candidate"|"baseline2": SIDE},
     "routes": [{"route": "GET /users/{id}", "requests", "compared", "candidate_differing",
                 "noisy", "differing", "regressed", "candidate_rate", "noise_rate",
                 "diff_rate", "sides": {...: SIDE},
                 "fields": [{"path", "raw", "noise", "unsuppressed", "reverse", "raw_rate",
                             "noise_rate", "unsuppressed_rate", "reported", "reasons",
                             "examples": [{"exchange_id", "path", "expected", "actual",
                                           "suppressed"}], "noise_examples": [...]}]}]}
    SIDE = {"requests", "answered", "errors", "unreachable", "timeouts", "error_rate",
            "statuses": {"200": n}, "latency_ms": {"p50", "p95", "p99"}, "first_error"}
    ```

    `verdict.errors` are the reasons about sides that did not answer (exit status 3).
    """
    fail_on = fail_on or FailOn()
    reasons = report.gate(fail_on)
    return {
        "schema": REPORT_SCHEMA,
        "meta": dict(meta or {}),
        "verdict": {
            "passed": not reasons,
            "reasons": reasons,
            "errors": report.gate_errors(fail_on),
            "fail_on": _fail_on_json(fail_on),
        },
        "thresholds": dict(report.thresholds),
        "totals": dict(report.totals),
        "sides": _sides_json(report.sides),
        "routes": [
            {
                "route": r.route,
                "requests": r.requests,
                "compared": r.compared_requests,
                "candidate_differing": r.candidate_differing,
                "noisy": r.noisy,
                "differing": r.differing,
                "regressed": r.regressed,
                "candidate_rate": _rate(r.candidate_rate),
                "noise_rate": _rate(r.noise_rate),
                "diff_rate": _rate(r.diff_rate),
                "sides": _sides_json(r.sides),
                "fields": [_field_json(f) for f in r.fields],
            }
            for r in report.routes
        ],
    }


# -- terminal ----------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _not_compared(totals: Mapping[str, int]) -> str:
    """`12 not compared (a side got no response), ` when some requests were not."""
    n = totals.get("requests", 0) - totals.get("compared", totals.get("requests", 0))
    return f"{n} not compared (a side got no response), " if n > 0 else ""


def _fmt_ms(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def status_mix(s: SideReport, limit: int = 4) -> str:
    """`200:95 500:5 err:3`: the most frequent codes first, then the errors."""
    codes = sorted(s.statuses.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{code}:{n}" for code, n in codes[:limit]]
    if len(codes) > limit:
        parts.append(f"+{sum(n for _, n in codes[limit:])}")
    if s.errors:
        parts.append(f"err:{s.errors}")
    return " ".join(parts) or "-"


def _errors_text(s: SideReport) -> str:
    if not s.errors:
        return "0"
    kinds = [f"{s.unreachable} unreachable" if s.unreachable else ""]
    kinds.append(f"{s.timeouts} timeouts" if s.timeouts else "")
    detail = ", ".join(k for k in kinds if k)
    return f"{s.errors} ({_pct(s.error_rate)}" + (f"; {detail})" if detail else ")")


def render_terminal(
    report: ShadowReport,
    console: Console,
    *,
    fail_on: FailOn | None = None,
    max_fields: int = 15,
    max_examples: int = 3,
) -> None:
    """Print the verdict, a table of routes and, per route, its fields (reported first,
    in red) with examples of the reported ones. Values are printed as plain text."""
    reasons = report.gate(fail_on or FailOn())
    t = report.totals
    verdict = Text("FAIL" if reasons else "PASS", style="bold red" if reasons else "bold green")
    verdict.append(
        f"  {t.get('requests', 0)} requests on {t.get('routes', 0)} routes, "
        f"{_not_compared(t)}{t.get('regressed', 0)} regressed, "
        f"{t.get('reported_fields', 0)} fields reported",
        style="default",
    )
    console.print(verdict)
    for reason in reasons[:20]:
        console.print(Text(f"  - {reason}", style="red"))
    if len(reasons) > 20:
        console.print(Text(f"  ... and {len(reasons) - 20} more"))
    if not report.routes:
        console.print("no requests compared")
        return
    routes = Table(title="routes", header_style="bold", title_justify="left")
    for col, justify in (
        ("ROUTE", "left"),
        ("REQUESTS", "right"),
        ("CANDIDATE DIFF", "right"),
        ("NOISE", "right"),
        ("REGRESSED", "right"),
        ("REPORTED", "right"),
    ):
        routes.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in report.routes:
        routes.add_row(
            Text(r.route),
            str(r.requests),
            f"{r.candidate_differing} ({_pct(r.candidate_rate)})",
            f"{r.noisy} ({_pct(r.noise_rate)})",
            f"{r.regressed} ({_pct(r.diff_rate)})",
            str(len(r.reported)),
            style="red" if r.reported else None,
        )
    console.print(routes)
    sides = Table(
        title="errors, status and latency (ms) per side", header_style="bold", title_justify="left"
    )
    for col, justify in (
        ("ROUTE", "left"),
        ("SIDE", "left"),
        ("REQUESTS", "right"),
        ("ERRORS", "right"),
        ("STATUS", "left"),
        ("P50", "right"),
        ("P95", "right"),
        ("P99", "right"),
    ):
        sides.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in report.routes:
        for i, side in enumerate(s for s in SIDES if s in r.sides):
            x = r.sides[side]
            sides.add_row(
                Text(r.route if i == 0 else ""),
                side,
                str(x.requests),
                _errors_text(x),
                Text(status_mix(x)),
                _fmt_ms(x.p50),
                _fmt_ms(x.p95),
                _fmt_ms(x.p99),
                style="red" if x.errors else None,
            )
    console.print(sides)
    for r in report.routes:
        if not r.fields:
            continue
        ft = Table(
            title=Text(f"{r.route}: {r.requests} requests"),
            header_style="bold",
            title_justify="left",
        )
        for col, justify in (
            ("FIELD", "left"),
            ("CANDIDATE", "right"),
            ("NOISE", "right"),
            ("UNEXPLAINED", "right"),
            ("", "left"),
        ):
            ft.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for f in r.fields[:max_fields]:
            ft.add_row(
                Text(f.path),
                f"{f.raw} ({_pct(f.raw_rate)})",
                f"{f.noise} ({_pct(f.noise_rate)})",
                str(f.unsuppressed),
                "REPORTED (" + ", ".join(f.reasons) + ")" if f.reported else "noise",
                style="bold red" if f.reported else "dim",
            )
        if len(r.fields) > max_fields:
            ft.add_row(Text(f"... {len(r.fields) - max_fields} more fields"), "", "", "", "")
        console.print(ft)
        for f in r.reported:
            for e in f.examples[:max_examples]:
                line = Text(f"    {e.exchange_id} {e.path}: ")
                line.append(str(e.expected), style="green")
                line.append(" != ")
                line.append(str(e.actual), style="red")
                if e.suppressed:
                    line.append(" (baselines differed too)", style="dim")
                console.print(line)


# -- HTML --------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232b;
background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:0 0 8px;word-break:break-all}
.verdict{border-radius:8px;padding:14px 18px;margin:12px 0 18px;color:#fff}
.verdict.pass{background:#1f7a3d}.verdict.fail{background:#b3261e}
.verdict b{font-size:22px;letter-spacing:1px;margin-right:12px}
.verdict ul{margin:8px 0 0;padding-left:20px}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px;margin:0 0 16px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{font-weight:600;color:#4a5560;font-size:12px;text-transform:uppercase}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.rep td{background:#fdecea;font-weight:600}
code{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.meta td:first-child{color:#4a5560;width:180px}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
details{margin:4px 0}summary{cursor:pointer}
.exp{color:#1f7a3d}.act{color:#b3261e}.muted{color:#6b7580}
tr.err td{color:#b3261e}
svg text{font:11px system-ui,sans-serif;fill:#1d232b}
"""

_COLORS = {"candidate": "#d9822b", "noise": "#8a99a8", "regressed": "#b3261e"}


def _legend() -> str:
    names = {
        "candidate": "candidate differs",
        "noise": "baselines differ (noise)",
        "regressed": "regressed",
    }
    return (
        '<div class="legend">'
        + "".join(
            f'<span><i class="sw" style="background:{c}"></i>{_e(names[k])}</span>'
            for k, c in _COLORS.items()
        )
        + "</div>"
    )


def _bars(
    rows: list[tuple[str, list[tuple[str, float, str]]]],
    *,
    label_width: int = 260,
    width: int = 900,
) -> str:
    """An inline SVG of grouped horizontal bars: one group per row, one bar per series,
    each `(color key, rate 0..1, value label)`."""
    bar_h, gap = 10, 12
    plot = width - label_width - 70
    y = 4
    parts = []
    for label, series in rows:
        group_h = len(series) * bar_h
        short = label if len(label) <= 42 else label[:41] + "…"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + group_h / 2 + 4:.1f}" '
            f'text-anchor="end"><title>{_e(label)}</title>{_e(short)}</text>'
        )
        for i, (key, rate, text) in enumerate(series):
            w = max(0.0, min(1.0, rate)) * plot
            by = y + i * bar_h
            parts.append(
                f'<rect x="{label_width}" y="{by}" width="{plot}" height="{bar_h - 2}" '
                'fill="#eef0f3"/>'
            )
            parts.append(
                f'<rect x="{label_width}" y="{by}" width="{w:.1f}" '
                f'height="{bar_h - 2}" fill="{_COLORS[key]}"/>'
            )
            parts.append(
                f'<text x="{label_width + plot + 6}" y="{by + bar_h - 2}">{_e(text)}</text>'
            )
        y += group_h + gap
    return f'<svg viewBox="0 0 {width} {y}" width="100%" role="img">' + "".join(parts) + "</svg>"


def _examples_html(title: str, examples: list[Example]) -> str:
    if not examples:
        return ""
    items = "".join(
        f"<tr><td><code>{_e(x.exchange_id)}</code></td><td><code>{_e(x.path)}</code></td>"
        f'<td><code class="exp">{_e(x.expected)}</code></td>'
        f'<td><code class="act">{_e(x.actual)}</code></td>'
        f'<td class="muted">{"baselines differed too" if x.suppressed else ""}</td></tr>'
        for x in examples
    )
    return (
        f"<details><summary>{_e(title)} ({len(examples)})</summary><table><tr>"
        "<th>exchange</th><th>path</th><th>expected</th><th>actual</th><th></th></tr>"
        f"{items}</table></details>"
    )


def _sides_html(sides: Mapping[str, SideReport]) -> str:
    """A table of the sides: requests, errors, status mix, latency quantiles."""
    rows = []
    for side in SIDES:
        x = sides.get(side)
        if x is None:
            continue
        rows.append(
            f'<tr class="{"err" if x.errors else ""}"><td>{_e(side)}</td>'
            f'<td class="n">{x.requests}</td><td class="n">{_e(_errors_text(x))}</td>'
            f"<td><code>{_e(status_mix(x, limit=8))}</code></td>"
            f'<td class="n">{_e(_fmt_ms(x.p50))}</td><td class="n">{_e(_fmt_ms(x.p95))}</td>'
            f'<td class="n">{_e(_fmt_ms(x.p99))}</td>'
            f'<td class="muted"><code>{_e(x.first_error or "")}</code></td></tr>'
        )
    if not rows:
        return ""
    return (
        "<table><tr><th>side</th><th>requests</th><th>errors</th><th>status</th>"
        "<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>first error</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _per_side(r: RouteReport, show: Callable[[SideReport], str]) -> str:
    """`baseline / candidate / baseline2` values of a route (`-` for a side not counted)."""
    return " / ".join(show(r.sides[s]) if s in r.sides else "-" for s in SIDES)


def _route_html(r: RouteReport) -> str:
    fields = r.fields
    shown = [f for f in fields if f.reported]
    shown += [f for f in fields if not f.reported][: max(0, MAX_HTML_FIELDS - len(shown))]
    chart = (
        _bars(
            [
                (
                    f.path,
                    [
                        ("candidate", f.raw_rate, f"{f.raw_rate:.1%}"),
                        ("noise", f.noise_rate, f"{f.noise_rate:.1%}"),
                    ],
                )
                for f in shown[:25]
            ]
        )
        if shown
        else ""
    )
    rows = []
    for f in shown:
        verdict = "REPORTED: " + ", ".join(f.reasons) if f.reported else "noise"
        rows.append(
            f'<tr class="{"rep" if f.reported else ""}"><td><code>{_e(f.path)}</code>'
            f"{_examples_html('candidate examples', f.examples)}"
            f"{_examples_html('noise examples', f.noise_examples)}</td>"
            f'<td class="n">{f.raw} ({f.raw_rate:.1%})</td>'
            f'<td class="n">{f.noise} ({f.noise_rate:.1%})</td>'
            f'<td class="n">{f.unsuppressed}</td><td>{_e(verdict)}</td></tr>'
        )
    more = len(fields) - len(shown)
    tail = f'<p class="muted">{more} more fields in the JSON report.</p>' if more > 0 else ""
    table = (
        "<table><tr><th>field</th><th>candidate differs</th><th>baselines differ</th>"
        "<th>unexplained</th><th>verdict</th></tr>" + "".join(rows) + "</table>"
        if rows
        else '<p class="muted">no differences</p>'
    )
    return (
        f'<section class="card" id="{_e(_anchor(r.route))}"><h2>{_e(r.route)}</h2>'
        f'<p class="muted">{r.requests} requests; candidate differs on '
        f"{r.candidate_differing} ({r.candidate_rate:.1%}), baselines on {r.noisy} "
        f"({r.noise_rate:.1%}); {r.regressed} regressed ({r.diff_rate:.1%}); "
        f"{len(r.reported)} fields reported.</p>{_sides_html(r.sides)}{chart}{table}{tail}"
        "</section>"
    )


def _anchor(route: str) -> str:
    return "route-" + "".join(c if c.isalnum() else "-" for c in route).strip("-")


def render_html(
    report: ShadowReport,
    *,
    title: str = "amber shadow report",
    meta: Mapping[str, Any] | None = None,
    fail_on: FailOn | None = None,
) -> str:
    """One self-contained HTML page: verdict and gate reasons on top, a per-route chart of
    candidate-diff rate vs noise rate, then per route its field chart and table, with
    examples in collapsible `<details>`. Inline CSS and SVG only; everything escaped."""
    reasons = report.gate(fail_on or FailOn())
    t = report.totals
    verdict_cls, verdict = ("fail", "FAIL") if reasons else ("pass", "PASS")
    reason_items = "".join(f"<li>{_e(x)}</li>" for x in reasons[:100])
    if len(reasons) > 100:
        reason_items += f"<li>... and {len(reasons) - 100} more</li>"
    summary = (
        f"{t.get('requests', 0)} requests on {t.get('routes', 0)} routes; "
        f"{_not_compared(t).replace(', ', '; ')}"
        f"{t.get('regressed', 0)} regressed; {t.get('reported_fields', 0)} fields "
        f"reported (thresholds: relative {report.thresholds.get('relative')}, "
        f"absolute {report.thresholds.get('absolute')})"
    )
    meta_rows = "".join(
        f"<tr><td>{_e(k)}</td><td><code>{_e(v)}</code></td></tr>" for k, v in (meta or {}).items()
    )
    overview = (
        _bars(
            [
                (
                    r.route,
                    [
                        ("candidate", r.candidate_rate, f"{r.candidate_rate:.1%}"),
                        ("noise", r.noise_rate, f"{r.noise_rate:.1%}"),
                        ("regressed", r.diff_rate, f"{r.diff_rate:.1%}"),
                    ],
                )
                for r in report.routes
            ]
        )
        if report.routes
        else '<p class="muted">no requests compared</p>'
    )
    index = "".join(
        f'<tr class="{"rep" if r.reported else ""}"><td><a href="#{_e(_anchor(r.route))}">'
        f"<code>{_e(r.route)}</code></a></td>"
        f'<td class="n">{r.requests}</td><td class="n">{r.candidate_differing}</td>'
        f'<td class="n">{r.noisy}</td><td class="n">{r.regressed}</td>'
        f'<td class="n">{len(r.reported)}</td>'
        f'<td class="n">{_e(_per_side(r, lambda x: str(x.errors)))}</td>'
        f'<td class="n">{_e(_per_side(r, lambda x: _fmt_ms(x.p95)))}</td></tr>'
        for r in report.routes
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{_e(title)}</h1>"
        f'<div class="verdict {verdict_cls}"><b>{verdict}</b>{_e(summary)}'
        f"{'<ul>' + reason_items + '</ul>' if reason_items else ''}</div>"
        + (
            f'<section class="card"><table class="meta">{meta_rows}</table></section>'
            if meta_rows
            else ""
        )
        + (
            '<section class="card"><h2>Errors, status and latency per side</h2>'
            f"{_sides_html(report.sides)}</section>"
            if report.sides
            else ""
        )
        + f'<section class="card"><h2>Routes</h2>{_legend()}{overview}'
        "<table><tr><th>route</th><th>requests</th><th>candidate differs</th>"
        "<th>baselines differ</th><th>regressed</th><th>reported fields</th>"
        "<th>errors b / c / b2</th><th>p95 ms b / c / b2</th></tr>"
        f"{index}</table></section>"
        + "".join(_route_html(r) for r in report.routes)
        + "</main></body></html>\n"
    )
