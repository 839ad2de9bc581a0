"""Sanitizer throughput on a realistic JSON corpus, against a plain JSON round trip.

    .venv/bin/python benchmarks/bench_sanitizer.py [--mb 50]

Builds API-response-like bodies (users, orders, nested arrays, some emails and tokens)
deterministically in memory, then times, on one core and in the same run:

* `json.loads` + `json.dumps` of every body (the floor any JSON-walking sanitizer pays);
* `Sanitizer.sanitize` of an exchange per body (headers, JSON walk, value rules, pseudonyms).

Prints MB/s for both, the ratio, and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time

from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._pseudonym import Pseudonymizer
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer

WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
)


def user(rng: random.Random, i: int) -> dict[str, object]:
    first, last = rng.choice(WORDS).title(), rng.choice(WORDS).title()
    u: dict[str, object] = {
        "id": 100000 + i,
        "uuid": f"{rng.getrandbits(128):032x}",
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}{i % 5000}@corp{i % 7}.com",
        "status": rng.choice(("active", "pending", "disabled")),
        "created_at": f"2024-0{1 + i % 9}-1{i % 10}T10:{i % 60:02d}:00Z",
        "roles": [rng.choice(("admin", "viewer", "editor")) for _ in range(2)],
        "settings": {
            "theme": "dark",
            "locale": "en-US",
            "tokens_used": i % 1000,
            "notifications": {"email": True, "sms": False},
        },
        "bio": " ".join(rng.choice(WORDS) for _ in range(12)),
    }
    if i % 10 == 0:
        u["api_token"] = f"tok_{rng.getrandbits(160):040x}"
    if i % 25 == 0:
        u["phone"] = f"+1 415 {200 + i % 700} {1000 + i % 9000}"
    return u


def order(rng: random.Random, i: int) -> dict[str, object]:
    return {
        "order_id": f"ord_{i:08d}",
        "customer_id": 500000 + i % 20000,
        "total": round(rng.uniform(5, 500), 2),
        "currency": "USD",
        "items": [
            {
                "sku": f"SKU-{rng.randint(1000, 9999)}",
                "qty": rng.randint(1, 5),
                "price": round(rng.uniform(1, 100), 2),
                "title": f"{rng.choice(WORDS)} widget",
            }
            for _ in range(rng.randint(1, 6))
        ],
        "shipping": {
            "city": rng.choice(WORDS).title(),
            "country": "US",
            "note": "leave at door" if i % 3 else "call before delivery",
        },
        "tracking": f"1Z{rng.getrandbits(64):016X}",
    }


def corpus(mb: float) -> list[bytes]:
    rng = random.Random(1234)
    bodies: list[bytes] = []
    total = 0
    i = 0
    while total < mb * 1024 * 1024:
        if i % 2:
            doc: object = {
                "data": [user(rng, i * 50 + k) for k in range(50)],
                "page": i,
                "next": f"/v1/users?page={i + 1}",
            }
        else:
            doc = {"orders": [order(rng, i * 40 + k) for k in range(40)], "count": 40}
        body = json.dumps(doc).encode()
        bodies.append(body)
        total += len(body)
        i += 1
    return bodies


def exchange(i: int, body: bytes) -> Exchange:
    req = Request(
        method="GET",
        scheme="https",
        host="api.example.test",
        port=443,
        path="/v1/users",
        query=f"page={i}",
        headers=(("Authorization", "Bearer abc.def.ghi"), ("Accept", "application/json")),
    )
    resp = Response(status=200, headers=(("Content-Type", "application/json"),), body=body)
    return Exchange(id=str(i), request=req, response=resp, client_addr="81.2.69.160:5000")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--mb", type=float, default=50.0, help="corpus size in MiB (default 50)")
    args = ap.parse_args(argv)

    bodies = corpus(args.mb)
    size = sum(len(b) for b in bodies)
    exchanges = [exchange(i, b) for i, b in enumerate(bodies)]
    print(f"corpus: {len(bodies)} bodies, {size / 1e6:.1f} MB")

    t = time.perf_counter()
    for b in bodies:
        json.dumps(json.loads(b))
    t_json = time.perf_counter() - t

    sanitizer = Sanitizer(SanitizeConfig(), Pseudonymizer(b"benchmark-key-0123456789abcdef"))
    redactions = 0
    t = time.perf_counter()
    for ex in exchanges:
        redactions += len(sanitizer.sanitize(ex).redactions)
    t_san = time.perf_counter() - t

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    print(f"json.loads+dumps : {size / t_json / 1e6:8.1f} MB/s ({t_json:.2f} s)")
    print(
        f"sanitizer        : {size / t_san / 1e6:8.1f} MB/s ({t_san:.2f} s), "
        f"{redactions} redactions"
    )
    print(f"ratio            : {t_san / t_json:8.2f}x the JSON round trip")
    print(f"peak RSS         : {peak_mb:8.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
