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
* MB/s of the sanitizer on one core, and, on the cases with a JSON body, against
  `json.loads` + `json.dumps` of the same bodies (issue 16's goal: >= 0.25x that round trip).

`tests/core/sanitize/test_corpus.py` holds the ratchet these numbers feed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # the corpus lives in tests/

from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from tests.core.sanitize.corpus import Case
from tests.core.sanitize.corpus import cases
from tests.core.sanitize.corpus import lookalike_cases
from tests.core.sanitize.corpus import run
from tests.core.sanitize.corpus import table
from tests.core.sanitize.corpus import truncation_cases


def _json_bodies(case: Case) -> list[bytes]:
    out: list[bytes] = []
    ex = case.exchange
    messages = [ex.request] if ex.response is None else [ex.request, ex.response]
    for msg in messages:
        ctype = msg.content_type or ""
        if msg.body and "json" in ctype and "ndjson" not in ctype:
            out.append(msg.body)
    return out


def json_comparison(sanitizer: Sanitizer, all_cases: list[Case], repeat: int) -> str:
    """Sanitizer vs JSON round trip on the cases whose bodies are all JSON (best of
    `repeat` runs each, one core)."""
    subset = [c for c in all_cases if c.kind != "truncation" and _json_bodies(c)]
    bodies = [b for c in subset for b in _json_bodies(c)]
    size = sum(len(b) for b in bodies)
    t_json = t_san = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for b in bodies:
            json.dumps(json.loads(b))
        t_json = min(t_json, time.perf_counter() - t)
        t = time.perf_counter()
        for c in subset:
            sanitizer.sanitize(c.exchange)
        t_san = min(t_san, time.perf_counter() - t)
    return (
        f"JSON cases: {len(subset)}, {size / 1e6:.2f} MB of JSON bodies\n"
        f"json.loads+dumps : {size / t_json / 1e6:8.1f} MB/s\n"
        f"sanitizer        : {size / t_san / 1e6:8.1f} MB/s (whole exchanges)\n"
        f"speed            : {t_json / t_san:8.2f}x the JSON round trip (goal >= 0.25x)"
    )


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
    print(json_comparison(sanitizer, all_cases, max(1, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
