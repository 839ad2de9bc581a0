"""Drive the shop as its clients would: a support agent browsing, customers ordering.

    python -m examples.shop.traffic --base-url http://127.0.0.1:8080 [--requests N]

Sends about N requests (default 50, at least 16), each with a fresh `X-Request-ID`:

1. `GET /health`, the support agent logs in (`POST /api/login`) and loads the catalogue;
2. two customers log in (their emails looked up by the agent), look up a product by SKU,
   place an order (`POST /api/orders`), open it and list their orders;
3. the agent browses customers, their orders, single orders and products, and once, about
   two thirds of the way through, opens the orders of the call-centre customer
   (`--failing-customer`, default 37): the request that fails on the buggy build.

It prints one summary line, then one line per server error, the format of the app's error
log, which is what the on-call engineer greps for:

    traffic: 50 requests to http://127.0.0.1:8080 in 0.42 s: 200=47 201=2 500=1
    FAILED request_id=6f1c0d3e9a2b4c5d8e7f601234567890 500 GET /api/customers/37/orders

(`no failed requests` instead when nothing failed; `--json` prints one JSON object instead).
The exit status is 0 when every request got an answer, 1 when the app was unreachable or a
login failed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import httpx

from examples.shop import BUG_CUSTOMER_ID
from examples.shop import DEMO_PASSWORD
from examples.shop import SUPPORT_EMAIL

__all__ = ["Sent", "Traffic", "TrafficError", "main", "run"]

FIXED_REQUESTS = 16
"""Health, agent login, catalogue, 2 x 6 customer requests, the failing request."""


class TrafficError(Exception):
    """The app could not be driven (unreachable, login refused)."""


@dataclass(frozen=True)
class Sent:
    request_id: str
    method: str
    path: str
    status: int

    def line(self) -> str:
        return f"request_id={self.request_id} {self.status} {self.method} {self.path}"


@dataclass
class Traffic:
    base_url: str
    sent: list[Sent] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[Sent]:
        return [s for s in self.sent if s.status >= 500]

    def summary(self) -> str:
        counts = Counter(s.status for s in self.sent)
        by_status = " ".join(f"{k}={counts[k]}" for k in sorted(counts))
        lines = [
            f"traffic: {len(self.sent)} requests to {self.base_url} in "
            f"{self.seconds:.2f} s: {by_status}"
        ]
        lines += [f"FAILED {s.line()}" for s in self.failures] or ["no failed requests"]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "seconds": round(self.seconds, 3),
            "requests": len(self.sent),
            "by_status": {
                str(k): v for k, v in sorted(Counter(s.status for s in self.sent).items())
            },
            "failed": [
                {"request_id": s.request_id, "status": s.status, "method": s.method, "path": s.path}
                for s in self.failures
            ],
        }


class _Client:
    def __init__(self, http: httpx.Client, traffic: Traffic) -> None:
        self.http = http
        self.traffic = traffic
        self.token: str | None = None

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        rid = uuid.uuid4().hex
        headers = {
            "X-Request-ID": rid,
            "Accept": "application/json",
            "User-Agent": "shop-traffic/1.0",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as e:
            raise TrafficError(f"{method} {path}: {type(e).__name__}: {e}") from e
        self.traffic.sent.append(Sent(rid, method, path, response.status_code))
        return response

    def login(self, email: str, password: str) -> None:
        r = self.send("POST", "/api/login", json={"email": email, "password": password})
        if r.status_code != 200:
            raise TrafficError(f"login as {email} failed: {r.status_code} {r.text[:200]}")
        self.token = r.json()["access_token"]


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


def run(
    base_url: str,
    *,
    requests: int = 50,
    customers: int = 50,
    failing_customer: int = BUG_CUSTOMER_ID,
    email: str = SUPPORT_EMAIL,
    password: str = DEMO_PASSWORD,
    seed: int = 7,
    timeout: float = 10.0,
) -> Traffic:
    """Drive the app at `base_url`; raises `TrafficError` when it cannot."""
    rng = random.Random(seed)
    traffic = Traffic(base_url=base_url)
    started = time.perf_counter()
    ordinary = [c for c in range(2, customers + 1) if c != failing_customer]
    if len(ordinary) < 2:
        raise TrafficError("need at least 3 customers besides the failing one")
    order_ids: set[int] = set()

    def note_orders(body: Any) -> None:
        if isinstance(body, dict) and isinstance(body.get("orders"), list):
            order_ids.update(o["id"] for o in body["orders"] if isinstance(o, dict))

    with httpx.Client(base_url=base_url, timeout=timeout) as http:
        agent = _Client(http, traffic)
        if agent.send("GET", "/health").status_code != 200:
            raise TrafficError(f"{base_url}/health is not 200")
        agent.login(email, password)
        catalogue = _json(agent.send("GET", "/api/products")) or {}
        skus = [p["sku"] for p in catalogue.get("products", [])]
        if not skus:
            raise TrafficError("the catalogue is empty: is the database seeded?")

        # customers ordering
        shoppers = rng.sample(ordinary, k=len(ordinary))
        placed = 0
        for cid in shoppers:
            if placed == 2:
                break
            profile = _json(agent.send("GET", f"/api/customers/{cid}")) or {}
            if not profile.get("email"):
                continue
            shopper = _Client(http, traffic)
            shopper.login(profile["email"], password)
            sku = rng.choice(skus)
            shopper.send("GET", "/api/products", params={"sku": sku})
            items = [{"sku": sku, "qty": rng.randint(1, 3)}]
            items += [
                {"sku": s, "qty": 1} for s in rng.sample(skus, k=min(2, len(skus))) if s != sku
            ][:1]
            created = shopper.send("POST", "/api/orders", json={"items": items})
            new = _json(created) or {}
            if created.status_code == 201 and "id" in new:
                shopper.send("GET", f"/api/orders/{new['id']}")
            note_orders(_json(shopper.send("GET", f"/api/customers/{cid}/orders")))
            placed += 1

        # the support agent browsing, with the failing request two thirds of the way
        browse = max(0, requests - len(traffic.sent) - 1)
        fail_at = (browse * 2) // 3
        for i in range(browse + 1):
            if i == fail_at:
                agent.send("GET", f"/api/customers/{failing_customer}/orders")
                continue
            kind = rng.choices(["customer", "orders", "order", "product"], [3, 4, 3, 2])[0]
            if kind == "order" and not order_ids:
                kind = "orders"
            if kind == "customer":
                agent.send("GET", f"/api/customers/{rng.choice(ordinary)}")
            elif kind == "orders":
                note_orders(
                    _json(agent.send("GET", f"/api/customers/{rng.choice(ordinary)}/orders"))
                )
            elif kind == "order":
                agent.send("GET", f"/api/orders/{rng.choice(sorted(order_ids))}")
            else:
                agent.send("GET", "/api/products", params={"sku": rng.choice(skus)})
    traffic.seconds = time.perf_counter() - started
    return traffic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.shop.traffic",
        description="Drive the example shop like its clients.",
    )
    parser.add_argument(
        "--base-url",
        default="http://127.0.0.1:8080",
        help="the app, or amber capture in front of it (default: %(default)s)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=50,
        help=f"about how many requests (at least {FIXED_REQUESTS})",
    )
    parser.add_argument(
        "--customers", type=int, default=50, help="how many customers the database was seeded with"
    )
    parser.add_argument(
        "--failing-customer",
        type=int,
        default=BUG_CUSTOMER_ID,
        help="whose orders to open once (the seed's bug_customer_id)",
    )
    parser.add_argument("--email", default=SUPPORT_EMAIL, help="the support agent's login")
    parser.add_argument("--password", default=DEMO_PASSWORD)
    parser.add_argument("--seed", type=int, default=7, help="seeds the choice of requests")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args(argv)
    try:
        traffic = run(
            args.base_url.rstrip("/"),
            requests=args.requests,
            customers=args.customers,
            failing_customer=args.failing_customer,
            email=args.email,
            password=args.password,
            seed=args.seed,
            timeout=args.timeout,
        )
    except TrafficError as e:
        print(f"traffic: error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(traffic.as_json()) if args.json else traffic.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
