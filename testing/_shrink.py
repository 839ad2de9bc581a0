"""Shrink a reproducing fixture and request to a minimal reproducer (delta debugging).

`ddmin` (Zeller and Hildebrandt's minimizing delta debugging) removes parts of a failing
input while the failure still reproduces, first in halves, then in finer chunks, until no
single part can go. It runs over:

- the fixture's rows (every row of every table is a part). A candidate is closed before it
  is tried: a row whose enforced foreign key referenced a row of the fixture that the
  candidate drops goes too (a dangling reference the source held, `enforced: false`, is
  kept as it was), so every candidate loads;
- then the request's parts: headers, query parameters, form fields and the JSON body's
  members, level by level: the top-level members with the other parts first, then the
  members of each JSON object or array that had to stay, and so on down (by path: `items[0]
  .sku`). The method and the path stay.

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

__all__ = [
    "Budget",
    "ShrinkResult",
    "closed_rows",
    "ddmin",
    "json_children",
    "json_path",
    "request_parts",
    "shrink",
    "without",
]

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


Part = tuple[str, Any]
"""`("header", index)`, `("query", index)`, `("form", index)` or `("json", path)`: `path`
is a tuple of object keys and array indexes from the body's root (`("items", 0, "sku")`)."""

Path = tuple[str | int, ...]


def request_parts(literal: dict[str, Any]) -> list[Part]:
    """The top-level parts of a REQUEST literal that shrinking may remove: headers, query
    parameters, form fields and the JSON body's top-level members (its object's fields, or
    its array's items). `json_children` gives the next level of a JSON part."""
    parts: list[Part] = [("header", i) for i in range(len(literal.get("headers") or []))]
    query = literal.get("query") or ""
    parts += [("query", i) for i in range(len(parse_qsl(query, keep_blank_values=True)))]
    kind, doc = _body_kind(literal)
    if kind == "json":
        parts += [("json", p) for p in _children(doc, ())]
    elif kind == "form":
        parts += [("form", i) for i in range(len(doc))]
    return parts


def json_children(literal: dict[str, Any], part: Part) -> list[Part]:
    """The members of the JSON object or array at `part`'s path (none for a scalar or
    another kind of part), in document order."""
    kind, doc = _body_kind(literal)
    if part[0] != "json" or kind != "json":
        return []
    node = _at(doc, part[1])
    return [("json", p) for p in _children(node, part[1])]


def _children(node: Any, path: Path) -> list[Path]:
    if isinstance(node, dict):
        return [(*path, k) for k in node]
    if isinstance(node, list):
        return [(*path, i) for i in range(len(node))]
    return []


def _at(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _pruned(node: Any, path: Path, gone: set[Path]) -> Any:
    """`node` (at `path`) without the members whose paths are in `gone`."""
    if isinstance(node, dict):
        return {k: _pruned(v, (*path, k), gone) for k, v in node.items() if (*path, k) not in gone}
    if isinstance(node, list):
        return [_pruned(v, (*path, i), gone) for i, v in enumerate(node) if (*path, i) not in gone]
    return node


def _content_type(literal: dict[str, Any]) -> str:
    for k, v in literal.get("headers") or []:
        if str(k).lower() == "content-type":
            return str(v).lower()
    return ""


def _body_kind(literal: dict[str, Any]) -> tuple[str, Any]:
    body = literal.get("body")
    ct = _content_type(literal)
    if not isinstance(body, str) or not body:
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
    """The REQUEST literal with `removed` parts left out (a JSON member with everything
    under it)."""
    out = dict(literal)
    out["headers"] = [
        h for i, h in enumerate(literal.get("headers") or []) if ("header", i) not in removed
    ]
    if any(p[0] == "query" for p in removed):
        pairs = parse_qsl(literal.get("query") or "", keep_blank_values=True)
        out["query"] = urlencode([p for i, p in enumerate(pairs) if ("query", i) not in removed])
    kind, doc = _body_kind(literal)
    gone = {tuple(p[1]) for p in removed if p[0] == "json"}
    if kind == "json" and gone:
        out["body"] = json.dumps(_pruned(doc, (), gone), separators=(",", ":"))
    elif kind == "form" and any(p[0] == "form" for p in removed):
        out["body"] = urlencode([p for i, p in enumerate(doc) if ("form", i) not in removed])
    return out


def json_path(path: Path) -> str:
    """`items[0].sku`; a key that is not a plain name is quoted: `["a.b"]`."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif step.isidentifier():
            text += f".{step}" if text else step
        else:
            text += f"[{json.dumps(step)}]"
    return text


def describe_part(literal: dict[str, Any], part: Part) -> str:
    kind, key = part
    if kind == "header":
        return f"header {literal['headers'][key][0]}"
    if kind == "query":
        return f"query parameter {parse_qsl(literal['query'], keep_blank_values=True)[key][0]}"
    if kind == "json":
        return f"JSON field {json_path(tuple(key))}"
    return f"form field {_body_kind(literal)[1][key][0]}"


NOTE_PARTS = 20
"""The removed request parts a note names (the rest are counted)."""


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
        shown = self.removed_parts[:NOTE_PARTS]
        parts = ", ".join(shown) or "none"
        if len(self.removed_parts) > NOTE_PARTS:
            parts += f" and {len(self.removed_parts) - NOTE_PARTS} more"
        bound = "; stopped at the run/time bound, may not be minimal" if self.exhausted else ""
        return (
            f"shrunk from {self.rows_before} to {self.rows_after} rows in {self.runs} runs "
            f"({self.seconds:.1f} s){bound}; rows removed: {rows}; request parts removed: {parts}"
        )


def _shrink_parts(
    reproducer: Reproducer, fixture: Fixture, literal: dict[str, Any], budget: Budget
) -> list[Part]:
    """ddmin over the request's parts, level by level: the top-level parts first
    (`request_parts`), then the members of each JSON object or array kept, and so on down
    (a removed member's own members are never tried). Returns the parts removed, in the
    order they were found."""
    removed: list[Part] = []
    level = request_parts(literal)
    while level and not budget.exhausted:
        gone = set(removed)

        def ok(cand: list[Part], level: list[Part] = level, gone: set[Part] = gone) -> bool:
            drop = gone | {p for p in level if p not in cand}
            return reproducer.verify(fixture, without(literal, drop)).reproduced

        needed = ddmin(level, ok, budget)
        kept = set(needed)
        removed += [p for p in level if p not in kept]
        level = [c for p in needed for c in json_children(literal, p)]
    return removed


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
    removed: list[Part] = []
    if parts:
        removed = _shrink_parts(reproducer, small, literal, budget)
    final = without(literal, set(removed)) if removed else literal
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
        removed_parts=[describe_part(literal, p) for p in removed],
        runs=budget.runs,
        seconds=time.monotonic() - start,
        exhausted=budget.exhausted,
    )
