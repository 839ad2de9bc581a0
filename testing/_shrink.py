"""Shrink a reproducing fixture and request to a minimal reproducer (delta debugging).

`ddmin` (Zeller and Hildebrandt's minimizing delta debugging) removes parts of a failing
input while the failure still reproduces, first in halves, then in finer chunks, until no
single part can go. It runs over:

- the fixture's rows (every row of every table is a part). A candidate is closed before it
  is tried: a row whose enforced foreign key referenced a row of the fixture that the
  candidate drops goes too (a dangling reference the source held, `enforced: false`, is
  kept as it was), so every candidate loads;
- then the request's parts: headers, query parameters, top-level JSON fields, form fields.
  The method and the path stay.

Every candidate is judged by a `Reproducer` run. Results are cached per candidate, the order
of tries is fixed, so the same input gives the same reproducer. Bounded by `Budget`: at
most `max_runs` runs and `max_seconds` seconds; at the bound the smallest reproducing input
found so far is returned and the result says so.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar
from urllib.parse import parse_qsl
from urllib.parse import urlencode

if TYPE_CHECKING:
    from amber.fixtures import Fixture
    from amber.testing._verify import Reproducer

__all__ = ["Budget", "ShrinkResult", "closed_rows", "ddmin", "request_parts", "shrink"]

T = TypeVar("T")


@dataclass
class Budget:
    """Bounds of one shrink: runs and seconds (both configurable: `--max-runs`,
    `--max-seconds`)."""

    max_runs: int = 500
    max_seconds: float = 60.0
    runs: int = 0
    started: float = field(default_factory=time.monotonic)
    exhausted: bool = False

    def spend(self) -> bool:
        """Count a run; False (and `exhausted`) once a bound is reached."""
        if self.runs >= self.max_runs or time.monotonic() - self.started >= self.max_seconds:
            self.exhausted = True
            return False
        self.runs += 1
        return True


def ddmin(items: Sequence[T], test: Callable[[list[T]], bool], budget: Budget) -> list[T]:
    """A 1-minimal subsequence of `items` for which `test` holds (`test(items)` is assumed
    to hold); the empty one when it holds too. Stops early, with the smallest passing
    subsequence so far, when `budget` runs out."""
    cache: dict[tuple[int, ...], bool] = {}

    def check(cand: list[int]) -> bool:
        k = tuple(cand)
        if k not in cache:
            if not budget.spend():
                return False
            cache[k] = test([items[i] for i in cand])
        return cache[k]

    current = list(range(len(items)))
    if not current or check([]):
        return []
    n = 2
    while len(current) >= 2 and not budget.exhausted:
        size = len(current)
        n = min(n, size)
        chunks = [current[size * i // n : size * (i + 1) // n] for i in range(n)]
        reduced = False
        for chunk in chunks:  # a chunk alone
            if check(chunk):
                current, n, reduced = chunk, 2, True
                break
        if not reduced and n > 2:
            for i in range(n):  # a chunk's complement
                cand = [x for j, c in enumerate(chunks) if j != i for x in c]
                if check(cand):
                    current, n, reduced = cand, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= size:
                break
            n = min(size, n * 2)
    return [items[i] for i in current]


Row = tuple[str, int]  # (table, index in the fixture's rows of that table)


def _h(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def closed_rows(fixture: Fixture, keep: set[Row]) -> set[Row]:
    """`keep` minus the rows whose enforced foreign key referenced a fixture row that
    `keep` drops, transitively (self-references included)."""
    while True:
        kept = _close_once(fixture, keep)
        if kept == keep:
            return kept
        keep = kept


def _close_once(fixture: Fixture, keep: set[Row]) -> set[Row]:
    values: dict[tuple[str, tuple[str, ...], bool], set[tuple[Any, ...]]] = {}

    def keys(table: str, cols: tuple[str, ...], only: bool) -> set[tuple[Any, ...]]:
        k = (table, cols, only)
        if k not in values:
            values[k] = {
                tuple(_h(r[c]) for c in cols)
                for i, r in enumerate(fixture.rows.get(table, []))
                if not only or (table, i) in keep
            }
        return values[k]

    kept: set[Row] = set()
    for spec in fixture.tables:
        fks = [fk for fk in spec.foreign_keys if getattr(fk, "enforced", True)]
        for i, r in enumerate(fixture.rows.get(spec.name, [])):
            if (spec.name, i) not in keep:
                continue
            for fk in fks:
                v = tuple(_h(r[c]) for c in fk.columns)
                if None in v:
                    continue
                if v in keys(fk.references, fk.ref_columns, False) and v not in keys(
                    fk.references, fk.ref_columns, True
                ):
                    break
            else:
                kept.add((spec.name, i))
    return kept


def subset(fixture: Fixture, rows: set[Row]) -> Fixture:
    """`fixture` with only `rows` (every table kept, so the schema stays the same)."""
    return dataclasses.replace(
        fixture,
        rows={
            t.name: [r for i, r in enumerate(fixture.rows.get(t.name, [])) if (t.name, i) in rows]
            for t in fixture.tables
        },
        notes=list(fixture.notes),
    )


Part = tuple[str, Any]  # ("header", index) | ("query", index) | ("json", key) | ("form", index)


def request_parts(literal: dict[str, Any]) -> list[Part]:
    """The parts of a REQUEST literal that shrinking may remove."""
    parts: list[Part] = [("header", i) for i in range(len(literal.get("headers") or []))]
    query = literal.get("query") or ""
    parts += [("query", i) for i in range(len(parse_qsl(query, keep_blank_values=True)))]
    body = literal.get("body")
    if isinstance(body, str) and body:
        kind, doc = _body_kind(literal)
        if kind == "json" and isinstance(doc, dict):
            parts += [("json", k) for k in doc]
        elif kind == "form":
            parts += [("form", i) for i in range(len(doc))]
    return parts


def _content_type(literal: dict[str, Any]) -> str:
    for k, v in literal.get("headers") or []:
        if str(k).lower() == "content-type":
            return str(v).lower()
    return ""


def _body_kind(literal: dict[str, Any]) -> tuple[str, Any]:
    body = literal.get("body")
    ct = _content_type(literal)
    if not isinstance(body, str):
        return "", None
    if "json" in ct or (not ct and body.lstrip()[:1] in ("{", "[")):
        try:
            return "json", json.loads(body)
        except ValueError:
            return "", None
    if "x-www-form-urlencoded" in ct:
        return "form", parse_qsl(body, keep_blank_values=True)
    return "", None


def without(literal: dict[str, Any], removed: set[Part]) -> dict[str, Any]:
    """The REQUEST literal with `removed` parts left out."""
    out = dict(literal)
    out["headers"] = [
        h for i, h in enumerate(literal.get("headers") or []) if ("header", i) not in removed
    ]
    pairs = parse_qsl(literal.get("query") or "", keep_blank_values=True)
    out["query"] = urlencode([p for i, p in enumerate(pairs) if ("query", i) not in removed])
    kind, doc = _body_kind(literal)
    if kind == "json" and isinstance(doc, dict):
        out["body"] = json.dumps(
            {k: v for k, v in doc.items() if ("json", k) not in removed}, separators=(",", ":")
        )
    elif kind == "form":
        out["body"] = urlencode([p for i, p in enumerate(doc) if ("form", i) not in removed])
    if not any(p[0] == "query" for p in removed):
        out["query"] = literal.get("query") or ""
    if not any(p[0] in ("json", "form") for p in removed):
        out["body"] = literal.get("body")
    return out


def describe_part(literal: dict[str, Any], part: Part) -> str:
    kind, key = part
    if kind == "header":
        return f"header {literal['headers'][key][0]}"
    if kind == "query":
        return f"query parameter {parse_qsl(literal['query'], keep_blank_values=True)[key][0]}"
    if kind == "json":
        return f"JSON field {key}"
    return f"form field {_body_kind(literal)[1][key][0]}"


@dataclass
class ShrinkResult:
    """The minimal reproducer found: its fixture and request, and what was removed."""

    fixture: Fixture
    request: dict[str, Any]
    rows_before: int
    rows_after: int
    removed_rows: dict[str, int]
    removed_parts: list[str]
    runs: int
    seconds: float
    exhausted: bool

    def note(self) -> str:
        """One line for the generated test and the terminal."""
        rows = ", ".join(f"{t} {n}" for t, n in self.removed_rows.items() if n) or "none"
        parts = ", ".join(self.removed_parts) or "none"
        bound = "; stopped at the run/time bound, may not be minimal" if self.exhausted else ""
        return (
            f"shrunk from {self.rows_before} to {self.rows_after} rows in {self.runs} runs "
            f"({self.seconds:.1f} s){bound}; rows removed: {rows}; request parts removed: {parts}"
        )


def shrink(
    reproducer: Reproducer,
    fixture: Fixture,
    request: dict[str, Any] | None = None,
    budget: Budget | None = None,
    *,
    rows: bool = True,
    parts: bool = True,
) -> ShrinkResult:
    """ddmin over `fixture`'s rows, then over `request`'s parts, while `reproducer` still
    reproduces (module doc). The input is assumed to reproduce."""
    budget = budget or Budget()
    start = time.monotonic()
    literal = request if request is not None else reproducer.request_literal()
    every: list[Row] = [
        (t.name, i) for t in fixture.tables for i in range(len(fixture.rows.get(t.name, [])))
    ]
    keep = set(every)
    if rows and every:

        def rows_ok(cand: list[Row]) -> bool:
            return reproducer.verify(
                subset(fixture, closed_rows(fixture, set(cand))), literal
            ).reproduced

        keep = closed_rows(fixture, set(ddmin(every, rows_ok, budget)))
    small = subset(fixture, keep)
    removed: set[Part] = set()
    all_parts = request_parts(literal)
    if parts and all_parts and not budget.exhausted:

        def parts_ok(cand: list[Part]) -> bool:
            gone = {p for p in all_parts if p not in cand}
            return reproducer.verify(small, without(literal, gone)).reproduced

        needed = ddmin(all_parts, parts_ok, budget)
        removed = {p for p in all_parts if p not in needed}
    final = without(literal, removed) if removed else literal
    removed_rows = {
        t.name: sum(1 for i in range(len(fixture.rows.get(t.name, []))) if (t.name, i) not in keep)
        for t in fixture.tables
    }
    small.notes.append(
        "shrunk by amber (ddmin): rows removed "
        + (", ".join(f"{t} {n}" for t, n in removed_rows.items() if n) or "none")
    )
    return ShrinkResult(
        fixture=small,
        request=final,
        rows_before=len(every),
        rows_after=len(keep),
        removed_rows=removed_rows,
        removed_parts=[describe_part(literal, p) for p in sorted(removed, key=repr)],
        runs=budget.runs,
        seconds=time.monotonic() - start,
        exhausted=budget.exhausted,
    )
