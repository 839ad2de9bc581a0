"""Shadow diff benchmark: response pairs per second on one core, and memory per request.

    .venv/bin/python benchmarks/bench_shadow_diff.py [--pairs 20000] [--requests 50000]

Bodies are JSON of a realistic shape (an order with a customer, 8-25 line items, nested
addresses and metadata: 2-5 KB). A third of the pairs are byte-equal, a third differ only
in volatile fields (timestamps, request ids), a third also differ in one to three real
fields (a price, a status, a missing key). Measured in the same run:

- **baseline**: `orjson.loads` of both bodies and `==` (the least any JSON diff must do);
- **compare_responses**: amber's full comparison (status, headers, structural JSON diff
  with paths, noise rules applied);
- **ShadowAccumulator.add**: three responses per request (primary, candidate, secondary),
  two comparisons, per-request suppression and the statistics.

Then `--requests` shadow requests over 20 routes, with peak RSS (`ru_maxrss`) at each
fifth: it should stay flat, since the accumulator keeps O(routes x fields), not
O(requests).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from amber._model import Response
from amber.replay._compare import compare_responses
from amber.replay._noise import NoiseFile
from amber.replay._noise import NoiseRules
from amber.replay._shadow import ShadowAccumulator

ROUTES = [f"/api/v1/resource{k}/{{id}}" for k in range(20)]


def order(rng: random.Random, i: int) -> dict[str, Any]:
    items = [
        {
            "sku": f"SKU-{rng.randrange(99999):05d}",
            "name": f"Product {rng.randrange(500)}",
            "qty": rng.randrange(1, 5),
            "price": {"amount": rng.randrange(100, 99999) / 100, "currency": "EUR"},
            "tags": rng.sample(["new", "sale", "eco", "gift", "bulk"], k=2),
            "attributes": {
                "color": rng.choice(["red", "blue", "green"]),
                "size": rng.choice("SML"),
            },
        }
        for _ in range(rng.randrange(8, 25))
    ]
    return {
        "id": i,
        "status": "paid",
        "customer": {
            "id": f"c{rng.randrange(10**6)}",
            "name": "Customer Name",
            "email": "someone@example.invalid",
            "address": {
                "street": "1 Main St",
                "city": "Springfield",
                "zip": "12345",
                "country": "DE",
            },
        },
        "items": items,
        "totals": {"net": 123.45, "tax": 23.45, "gross": 146.9, "currency": "EUR"},
        "meta": {
            "generated_at": "2024-05-06T07:08:09.123Z",
            "request_id": f"{i:032x}",
            "server": "node-1",
            "version": 3,
        },
        "links": {"self": f"/orders/{i}", "customer": "/customers/1"},
    }


HEADERS = (
    ("Content-Type", "application/json"),
    ("Date", "Mon, 06 May 2024 07:08:09 GMT"),
    ("X-Request-ID", "abc"),
    ("Cache-Control", "no-store"),
    ("Server", "app"),
    ("Set-Cookie", "sid=1; Path=/"),
    ("Content-Length", "3000"),
)


def variants(seed: int, n: int) -> list[tuple[Response, Response, Response]]:
    """`n` (primary, candidate, secondary) triples: equal, volatile-only, real differences."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        base = order(rng, i)
        primary = orjson.dumps(base)
        cand = orjson.loads(primary)
        sec = orjson.loads(primary)
        kind = i % 3
        if kind >= 1:
            for d in (cand, sec):
                d["meta"]["generated_at"] = f"2024-05-06T07:08:{rng.randrange(60):02d}.000Z"
                d["meta"]["request_id"] = f"{rng.getrandbits(128):032x}"
        if kind == 2:
            cand["items"][0]["price"]["amount"] += 1
            if i % 2:
                cand["status"] = "pending"
            if i % 5 == 0:
                del cand["links"]["customer"]
        p, c, s = (Response(200, headers=HEADERS, body=orjson.dumps(d)) for d in (base, cand, sec))
        out.append((p, c, s))
    return out


def rate(fn: Callable[[], None], count: int, repeat: int = 3) -> float:
    """Best of `repeat` runs, in items per second."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return count / best


def rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=20000)
    ap.add_argument("--requests", type=int, default=50000)
    ap.add_argument("--pool", type=int, default=600, help="distinct triples generated")
    args = ap.parse_args(argv)

    pool = variants(1, args.pool)
    sizes = sorted(len(p.body) for p, _, _ in pool)
    print(
        f"bodies: {sizes[0]}-{sizes[-1]} bytes (median {sizes[len(sizes) // 2]}), "
        f"{len(pool)} distinct triples, 1/3 equal, 1/3 volatile-only, 1/3 real differences"
    )
    rules = NoiseRules()
    learned = NoiseRules.from_mapping(
        {"ignore_paths": ["$.meta.generated_at", "$.meta.request_id"]}
    )
    pairs = [(pool[i % len(pool)][0], pool[i % len(pool)][1]) for i in range(args.pairs)]

    def baseline() -> None:
        for a, b in pairs:
            _ = orjson.loads(a.body) == orjson.loads(b.body)

    def amber_compare(r: NoiseRules) -> Callable[[], None]:
        def run() -> None:
            for a, b in pairs:
                compare_responses(a, b, r)

        return run

    # warm up caches (glob compilation, header modes)
    amber_compare(learned)()
    base = rate(baseline, len(pairs))
    ours = rate(amber_compare(rules), len(pairs))
    ours_rules = rate(amber_compare(learned), len(pairs))
    print(f"baseline orjson.loads x2 + ==      {base:10,.0f} pairs/s")
    print(
        f"compare_responses (no rules)       {ours:10,.0f} pairs/s  ({ours / base:.2f}x baseline)"
    )
    print(
        f"compare_responses (ignore_paths)   {ours_rules:10,.0f} pairs/s  "
        f"({ours_rules / base:.2f}x baseline)"
    )

    triples = [pool[i % len(pool)] for i in range(args.pairs)]

    def shadow() -> None:
        acc = ShadowAccumulator(NoiseFile().rules_for)
        for i, (p, c, s) in enumerate(triples):
            acc.add(
                exchange_id=str(i),
                method="GET",
                route=ROUTES[i % len(ROUTES)],
                primary=p,
                candidate=c,
                secondary=s,
            )

    sh = rate(shadow, len(triples))
    print(
        f"ShadowAccumulator.add (3 responses) {sh:9,.0f} requests/s ({sh / base:.2f}x "
        "baseline pairs/s; it does two comparisons)"
    )

    acc = ShadowAccumulator(NoiseFile().rules_for)
    step = max(1, args.requests // 5)
    print(
        f"memory over {args.requests:,} shadow requests on {len(ROUTES)} routes "
        f"(peak RSS; pool of bodies already allocated):"
    )
    print(f"  {0:>7,} requests: {rss_mb():7.1f} MB")
    t = time.perf_counter()
    for i in range(args.requests):
        p, c, s = pool[i % len(pool)]
        acc.add(
            exchange_id=f"{i:026d}",
            method="GET",
            route=ROUTES[i % len(ROUTES)],
            primary=p,
            candidate=c,
            secondary=s,
        )
        if (i + 1) % step == 0:
            print(f"  {i + 1:>7,} requests: {rss_mb():7.1f} MB")
    elapsed = time.perf_counter() - t
    report = acc.report()
    fields = sum(len(r.fields) for r in report.routes)
    print(
        f"  {args.requests / elapsed:,.0f} requests/s; {len(report.routes)} routes, "
        f"{fields} fields tracked, {len(report.regressions())} reported"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
