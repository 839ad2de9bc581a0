"""Run the corpus through the sanitizer and count leaks, over-redactions and changed bodies.

A *leak* is a planted value (or the secret part of it) found in the stored exchange in any of
its forms: raw, URL-encoded, base64, hex, JSON-escaped (once or twice) or HTML-escaped, in any
field (headers, URL, bodies, reason, error, client address) or in the redaction report's rules
and locations; a leak found only in the HAR, JSONL or curl export of the stored exchange is
counted apart (`export_only_leaks`). An *over-redaction* is a look-alike case whose stored
exchange lost the original value (an occurrence of it, in any form, is gone); the stored
exchange of a look-alike is also compared whole (`not_identical`: JSON re-serialized, a
carrier's other field changed). A body that held no planted value must be stored byte for byte.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from collections import Counter
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import quote
from urllib.parse import quote_plus
from urllib.parse import unquote_plus

from amber._exports import write_curl
from amber._exports import write_jsonl
from amber._har import write_har
from amber._ingest import Pipeline
from amber._model import Exchange
from amber._routes import Router
from amber.sanitize import Sanitizer

from .carriers import ENCODINGS
from .carriers import KEYED
from .carriers import SHAPED
from .carriers import SPECIFIC
from .carriers import exchange
from .lookalikes import lookalikes
from .secrets import Planted
from .secrets import planted

__all__ = [
    "Case",
    "Report",
    "cases",
    "forms",
    "leaked",
    "leaked_in_exports",
    "lookalike_cases",
    "run",
    "table",
    "truncation_cases",
]

ENCODED_CARRIERS = ("header", "query", "json", "form")
"""Carriers every non-raw placement encoding goes through (raw goes through all of them)."""

TRUNCATION_CAP = 256
"""The body cap of the truncation cases: each plants a token that straddles it."""


@dataclass(frozen=True, slots=True)
class Case:
    """One exchange to sanitize and what to look for in its stored form."""

    kind: str  # "secret", "lookalike" or "truncation"
    cls: str
    carrier: str
    encoding: str
    exchange: Exchange
    needles: frozenset[str] = frozenset()
    key: str = ""  # the field name the value was planted under


def forms(text: str) -> set[str]:
    """`text` in every encoding a stored artifact might hold it in (forms shorter than 4
    characters are left out: they would match by chance)."""
    out = {
        text,
        quote(text, safe=""),
        quote(text),
        quote_plus(text),
        html.escape(text),
        text.encode().hex(),
        text.encode().hex().upper(),
        text.replace('"', '""'),
    }
    escaped = json.dumps(text)[1:-1]
    out |= {escaped, json.dumps(text, ensure_ascii=False)[1:-1], json.dumps(escaped)[1:-1]}
    raw = text.encode()
    out.add(base64.b64encode(raw).decode())
    whole = len(raw) // 3 * 3  # base64 of the full 3-byte groups: no padding to depend on
    if whole >= 6:
        out.add(base64.b64encode(raw[:whole]).decode())
        out.add(base64.urlsafe_b64encode(raw[:whole]).decode())
    return {f for f in out if len(f) >= 4}


def _needles(p: Planted) -> frozenset[str]:
    found: set[str] = set()
    for part in (*p.parts, p.value):
        found |= forms(part)
    return frozenset(found)


def cases(values: Iterable[Planted] | None = None) -> Iterator[Case]:
    """Every (planted value, carrier, encoding) case, in a fixed order."""
    for p in planted() if values is None else values:
        needles = _needles(p)
        for enc, encode in ENCODINGS.items():
            key, value = encode(p.key, p.value)
            for name, carrier in KEYED.items():
                # a reset link's token lives in a URL path, not under a field named `reset`
                if p.cls == "path-token":
                    break
                if enc == "raw" or name in ENCODED_CARRIERS:
                    yield Case("secret", p.cls, name, enc, carrier(key, value), needles, p.key)
            if enc != "raw":
                continue
            if p.shaped:
                for name, carrier in SHAPED.items():
                    yield Case("secret", p.cls, name, enc, carrier(key, value), needles, p.key)
            for name, carrier in SPECIFIC.get(p.cls, {}).items():
                yield Case("secret", p.cls, name, enc, carrier(key, value), needles, p.key)


def lookalike_cases() -> Iterator[Case]:
    """Every look-alike in every keyed carrier, and a control (a neutral value) per carrier."""
    for name, carrier in KEYED.items():
        yield Case(
            "lookalike",
            "control",
            name,
            "raw",
            carrier("note", "hello world"),
            frozenset(forms("hello world")),
        )
    for item in lookalikes():
        for name, carrier in KEYED.items():
            yield Case(
                "lookalike",
                item.cls,
                name,
                "raw",
                carrier(item.key, item.value),
                frozenset({item.value, *forms(item.value)}),
                item.key,
            )


def truncation_cases() -> Iterator[Case]:
    """Shaped tokens of 30+ characters, each cut by the body cap 19 characters in."""
    for p in planted():
        if not p.shaped or len(p.value) < 30 or "\n" in p.value:
            continue
        for kind, ctype, head in (
            ("json", "application/json", '{"log": "'),
            ("text", "text/plain", "log line: "),
        ):
            # the token starts after the padding and a space; the cap cuts it 19 characters in
            pad = TRUNCATION_CAP - 19 - 1 - len(head)
            body = head + "x" * pad + " " + p.value + ('"}' if kind == "json" else "\n")
            ex = exchange(resp_body=body.encode(), resp_type=ctype)
            yield Case("truncation", p.cls, kind, "raw", ex, frozenset(forms(p.value[:12])), p.key)


def _stored_text(ex: Exchange) -> str:
    parts: list[str] = [
        ex.request.path,
        ex.request.query,
        ex.request.host,
        ex.request.host_header or "",
        ex.error or "",
        ex.client_addr or "",
    ]
    messages = [ex.request] if ex.response is None else [ex.request, ex.response]
    for msg in messages:
        parts.extend(f"{k}: {v}" for k, v in msg.headers)
        parts.append(msg.body.decode("utf-8", "replace"))
    if ex.response is not None:
        parts.append(ex.response.reason)
    parts.extend(f"{r.rule} {r.location}" for r in ex.redactions)
    return "\n".join(parts)


def _views(text: str) -> Iterator[str]:
    """`text`, then with one and two layers of URL encoding taken off (a URL-encoded value
    placed in a query string is encoded twice)."""
    yield text
    if "%" in text or "+" in text:
        once = unquote_plus(text)
        yield once
        if "%" in once:
            yield unquote_plus(once)


def leaked(stored: Exchange, needles: Iterable[str]) -> bool:
    """True when any needle appears anywhere in the stored exchange, in any `_views`."""
    wanted = tuple(needles)
    return any(n in view for view in _views(_stored_text(stored)) for n in wanted)


def _exports_text(stored: Exchange) -> str:
    """The stored exchange as `amber export` writes it: HAR, JSONL and curl."""
    out: list[str] = []
    for write in (
        lambda ex, fp: write_har(ex, fp, creator_version="corpus"),
        write_jsonl,
        write_curl,
    ):
        buf = io.BytesIO()
        write([stored], buf)
        out.append(buf.getvalue().decode("utf-8", "replace"))
    return "\n".join(out)


def leaked_in_exports(stored: Exchange, needles: Iterable[str]) -> bool:
    """True when any needle appears in the HAR, JSONL or curl export of `stored`."""
    wanted = tuple(needles)
    return any(n in view for view in _views(_exports_text(stored)) for n in wanted)


def _unchanged(before: Exchange, after: Exchange) -> bool:
    a, b = before.request, after.request
    same = (a.path, a.query, a.headers, a.body) == (b.path, b.query, b.headers, b.body)
    if before.response is not None and after.response is not None:
        r, s = before.response, after.response
        same = same and (r.headers, r.body, r.reason) == (s.headers, s.body, s.reason)
    return same and not after.redactions


def _value_changed(case: Case, stored: Exchange) -> bool:
    """True when a look-alike's value, in any form it had in the exchange, lost an occurrence
    (a re-serialized body that keeps the value does not count: see `not_identical`)."""
    before, after = _stored_text(case.exchange), _stored_text(stored)
    return any(after.count(f) < before.count(f) for f in case.needles)


@dataclass
class Report:
    """Counts by class and by carrier, for secrets and for look-alikes."""

    secret_cases: Counter[str] = field(default_factory=Counter)
    leaks: Counter[str] = field(default_factory=Counter)
    carrier_cases: Counter[str] = field(default_factory=Counter)
    carrier_leaks: Counter[str] = field(default_factory=Counter)
    encoding_cases: Counter[str] = field(default_factory=Counter)
    encoding_leaks: Counter[str] = field(default_factory=Counter)
    lookalike_cases: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    lookalike_carrier_cases: Counter[str] = field(default_factory=Counter)
    lookalike_carrier_changed: Counter[str] = field(default_factory=Counter)
    not_identical: Counter[str] = field(default_factory=Counter)
    lookalike_carrier_not_identical: Counter[str] = field(default_factory=Counter)
    export_only_leaks: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    clean_bodies: int = 0
    clean_bodies_changed: int = 0
    crashes: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def total(self, counter: Counter[str]) -> int:
        """The sum of a counter's values."""
        return sum(counter.values())

    def note(self, cls: str, case: Case, keep: int = 5) -> None:
        """Keep the first `keep` distinct failing placements of a class as examples (carrier,
        encoding and field name: where to look first)."""
        found = self.examples.setdefault(cls, [])
        example = f"{case.carrier}/{case.encoding} under {case.key!r}"
        if len(found) < keep and example not in found:
            found.append(example)


def _bodies_untouched(case: Case, stored: Exchange, report: Report) -> None:
    pairs = [(case.exchange.request.body, stored.request.body)]
    if case.exchange.response is not None and stored.response is not None:
        pairs.append((case.exchange.response.body, stored.response.body))
    for before, after in pairs:
        views = list(_views(before.decode("utf-8", "replace")))
        if not before or any(n in view for view in views for n in case.needles):
            continue
        report.clean_bodies += 1
        report.clean_bodies_changed += before != after


def _size(ex: Exchange) -> int:
    n = len(ex.request.body) + sum(len(k) + len(v) for k, v in ex.request.headers)
    if ex.response is not None:
        n += len(ex.response.body) + sum(len(k) + len(v) for k, v in ex.response.headers)
    return n + len(ex.request.path) + len(ex.request.query)


def run(sanitizer: Sanitizer, all_cases: Iterable[Case]) -> Report:
    """Sanitize every case (truncation cases through the ingest pipeline) and count."""
    report = Report()
    pipeline = Pipeline(sanitizer, Router(), body_cap=TRUNCATION_CAP)
    for case in all_cases:
        report.bytes += _size(case.exchange)
        t = time.perf_counter()
        try:
            if case.kind == "truncation":
                stored = pipeline.process(case.exchange, encoded=False)
            else:
                stored = sanitizer.sanitize(case.exchange)
        except Exception:
            report.crashes += 1
            continue
        finally:
            report.seconds += time.perf_counter() - t
        _count(case, stored, report)
    return report


def _count(case: Case, stored: Exchange, report: Report) -> None:
    if case.kind == "lookalike":
        report.lookalike_cases[case.cls] += 1
        report.lookalike_carrier_cases[case.carrier] += 1
        if _value_changed(case, stored):
            report.note(case.cls, case)
            report.changed[case.cls] += 1
            report.lookalike_carrier_changed[case.carrier] += 1
        if not _unchanged(case.exchange, stored):
            report.not_identical[case.cls] += 1
            report.lookalike_carrier_not_identical[case.carrier] += 1
        return
    cls = case.cls if case.kind == "secret" else "truncation"
    carrier = case.carrier if case.kind == "secret" else f"cut-{case.carrier}"
    report.secret_cases[cls] += 1
    report.carrier_cases[carrier] += 1
    report.encoding_cases[case.encoding] += 1
    if leaked(stored, case.needles):
        report.note(cls, case)
        report.leaks[cls] += 1
        report.carrier_leaks[carrier] += 1
        report.encoding_leaks[case.encoding] += 1
    elif leaked_in_exports(stored, case.needles):
        report.export_only_leaks[cls] += 1
    if case.kind == "secret":
        _bodies_untouched(case, stored, report)


def _rows(title: str, cases_: Counter[str], bad: Counter[str], rate: str) -> list[str]:
    lines = [f"{title:<22} {'cases':>6} {'bad':>6} {rate:>9}"]
    for name in sorted(cases_, key=lambda n: (-bad[n] / cases_[n], n)):
        n, b = cases_[name], bad[name]
        good = (n - b) / n if rate == "recall" else b / n
        lines.append(f"  {name:<20} {n:>6} {b:>6} {good:>9.1%}")
    n, b = sum(cases_.values()), sum(bad.values())
    good = (n - b) / n if rate == "recall" else b / n
    lines.append(f"  {'total':<20} {n:>6} {b:>6} {good:>9.1%}")
    return lines


def table(report: Report) -> str:
    """The report as text: recall per class, carrier and encoding; over-redaction per
    look-alike class and carrier; untouched bodies; crashes; throughput."""
    lines: list[str] = []
    lines += _rows("secrets by class", report.secret_cases, report.leaks, "recall")
    lines += _rows("secrets by carrier", report.carrier_cases, report.carrier_leaks, "recall")
    lines += _rows("secrets by encoding", report.encoding_cases, report.encoding_leaks, "recall")
    lines += _rows("look-alikes by class", report.lookalike_cases, report.changed, "over")
    lines += _rows(
        "look-alikes by carrier",
        report.lookalike_carrier_cases,
        report.lookalike_carrier_changed,
        "over",
    )
    lines += _rows("look-alike exchanges", report.lookalike_cases, report.not_identical, "changed")
    lines.append(
        f"bodies without a secret: {report.clean_bodies}, changed: {report.clean_bodies_changed}"
    )
    lines.append(
        f"leaks found only in the HAR, JSONL or curl export: "
        f"{report.total(report.export_only_leaks)} {dict(report.export_only_leaks)}"
    )
    lines.append(f"crashes: {report.crashes}")
    if report.seconds:
        lines.append(
            f"throughput: {report.bytes / report.seconds / 1e6:.1f} MB/s "
            f"({report.bytes / 1e6:.1f} MB in {report.seconds:.2f} s, one core)"
        )
    return "\n".join(lines)
