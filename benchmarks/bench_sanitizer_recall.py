"""Sanitizer recall, over-redaction and speed on the adversarial corpus of issue 16.

    .venv/bin/python benchmarks/bench_sanitizer_recall.py [--repeat 3] [--examples]

Runs every case of `tests/core/sanitize/corpus` (324 planted secrets and personal values in
every carrier and placement encoding, 131 look-alikes, truncation by the body cap) through
`Sanitizer.sanitize` (truncation cases through `amber._ingest.Pipeline`) and prints, from
the same run:

* recall (cases with no leak in any stored field or redaction location) per class, per
  carrier and per placement encoding;
* over-redaction (look-alike values damaged) per class and per carrier, and how many
  look-alike exchanges or secret-free bodies were not stored byte for byte;
* MB/s of the sanitizer on one core, and, on the cases with a JSON body (spaced and compact
  separately, CPU time, first run with cold caches and best run), against `json.loads` +
  `json.dumps` of the same bodies (issue 16's goal: >= 0.25x that round trip);
* the peak RSS of the process.

`tests/core/sanitize/test_corpus.py` holds the ratchet these numbers feed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time
from pathlib import Path
from typing import TypeVar

sys.path.append(str(Path(__file__).resolve().parent.parent))  # the corpus lives in tests/

from amber._model import Request
from amber._model import Response
from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from tests.core.sanitize.corpus import Case
from tests.core.sanitize.corpus import cases
from tests.core.sanitize.corpus import lookalike_cases
from tests.core.sanitize.corpus import run
from tests.core.sanitize.corpus import table
from tests.core.sanitize.corpus import truncation_cases

_M = TypeVar("_M", Request, Response)


def _json_bodies(case: Case) -> list[bytes]:
    out: list[bytes] = []
    ex = case.exchange
    messages = [ex.request] if ex.response is None else [ex.request, ex.response]
    for msg in messages:
        ctype = msg.content_type or ""
        if msg.body and "json" in ctype and "ndjson" not in ctype:
            out.append(msg.body)
    return out


def _spaced(body: bytes) -> bool:
    """Written with `json.dumps`' default separators (`", "`, `": "`) or indented?"""
    return b'": ' in body or b'":\n' in body


def _compacted(case: Case) -> Case:
    """The case with its JSON bodies written compact (`,` and `:`, no spaces)."""
    ex = case.exchange

    def compact(msg: _M) -> _M:
        ctype = msg.content_type or ""
        if not msg.body or "json" not in ctype or "ndjson" in ctype:
            return msg
        try:
            body = json.dumps(json.loads(msg.body), separators=(",", ":")).encode()
        except ValueError:
            return msg
        return dataclasses.replace(msg, body=body)

    resp = None if ex.response is None else compact(ex.response)
    return dataclasses.replace(
        case, exchange=dataclasses.replace(ex, request=compact(ex.request), response=resp)
    )


def json_comparison(all_cases: list[Case], repeat: int) -> str:
    """Sanitizer vs JSON round trip on the cases whose bodies are all JSON, spaced and
    compact separately: CPU time of this process (one core), the first run with a fresh
    sanitizer (its caches cold) and the best of `repeat`."""
    lines: list[str] = []
    subset = [c for c in all_cases if c.kind != "truncation" and _json_bodies(c)]
    spaced_cases = [c for c in subset if _spaced(_json_bodies(c)[0])]
    # the corpus writes its JSON with `json.dumps`' defaults: the same cases compacted too
    compact_cases = [c for c in subset if not _spaced(_json_bodies(c)[0])]
    compact_cases += [_compacted(c) for c in spaced_cases]
    for label, group in (("spaced JSON", spaced_cases), ("compact JSON", compact_cases)):
        bodies = [b for c in group for b in _json_bodies(c)]
        if not bodies:
            continue
        size = sum(len(b) for b in bodies)
        sanitizer = Sanitizer(SanitizeConfig(), Pseudonymizer(b"benchmark-key-0123456789abcdef"))
        t_json = t_san = float("inf")
        t_cold = 0.0
        for n in range(repeat):
            t = time.process_time()
            for b in bodies:
                json.dumps(json.loads(b))
            t_json = min(t_json, time.process_time() - t)
            t = time.process_time()
            for c in group:
                sanitizer.sanitize(c.exchange)
            took = time.process_time() - t
            t_cold = took if n == 0 else t_cold
            t_san = min(t_san, took)
        lines += [
            f"{label} cases: {len(group)}, {size / 1e6:.2f} MB of JSON bodies",
            f"  json.loads+dumps : {size / t_json / 1e6:8.1f} MB/s",
            f"  sanitizer        : {size / t_san / 1e6:8.1f} MB/s best (whole exchanges), "
            f"{size / t_cold / 1e6:.1f} MB/s first run (caches cold)",
            f"  speed            : {t_json / t_san:8.3f}x the JSON round trip "
            f"(first run {t_json / t_cold:.3f}x; goal >= 0.25x)",
        ]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    lines.append(f"peak RSS           : {peak_mb:8.1f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeat", type=int, default=3, help="timing runs, best kept (default 3)")
    ap.add_argument(
        "--examples", action="store_true", help="also print the first failing cases of each class"
    )
    args = ap.parse_args(argv)

    sanitizer = Sanitizer(SanitizeConfig(), Pseudonymizer(b"benchmark-key-0123456789abcdef"))
    all_cases = [*cases(), *lookalike_cases(), *truncation_cases()]
    print(f"corpus: {len(all_cases)} cases")
    report = run(sanitizer, all_cases)
    print(table(report))
    if args.examples:
        for cls, found in sorted(report.examples.items()):
            print(f"{cls}: " + "; ".join(found))
    print(json_comparison(all_cases, max(1, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
