"""Deterministic seed data for the shop.

    python -m examples.shop.seed [--database-url URL] [--customers N] [--products N]
                                 [--orders N]

Drops and recreates the shop's tables, then inserts the same rows every time (fixed random
seed, fixed primary keys, fixed timestamps): a support agent (customer 1, `SUPPORT_EMAIL`),
ordinary customers with made-up names, emails and phones (some referred by an earlier
customer), products and orders with items. Every account with an email can log in with
`DEMO_PASSWORD`.

One customer (`bug_customer_id(n)`, 37 with the default 50 customers) came from the old
call-centre system: no email, no password. Their `GET /api/customers/<id>/orders` is the
request that fails on the buggy build. The last line printed is `bug_customer_id=<id>`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from amber._words import FIRST_NAMES
from amber._words import LAST_NAMES
from examples.shop import BUG_CUSTOMER_ID
from examples.shop import DEMO_PASSWORD
from examples.shop import SUPPORT_EMAIL
from examples.shop.db import customers
from examples.shop.db import database_url_from_env
from examples.shop.db import hash_password
from examples.shop.db import make_engine
from examples.shop.db import metadata
from examples.shop.db import order_items
from examples.shop.db import orders
from examples.shop.db import products

__all__ = ["BUG_CUSTOMER_ID", "SUPPORT_EMAIL", "SeedResult", "bug_customer_id", "main", "seed"]

# customers' names come from common US names (the public lists amber's own pseudonyms
# draw from, `amber._words`), their mail from ordinary providers
MAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com")

RANDOM_SEED = 20240611
SUPPORT_CUSTOMER_ID = 1
EPOCH = dt.datetime(2024, 1, 8, 9, 0, 0)
"""Seeded timestamps are offsets from this instant (naive UTC), never from "now"."""

PRODUCT_NAMES = [
    "Ceramic Pour-Over Dripper",
    "Stoneware Mug, 350 ml",
    "Burr Coffee Grinder",
    "Gooseneck Kettle",
    "Paper Filters (100)",
    "Single-Origin Beans, Ethiopia 250 g",
    "House Espresso Blend 1 kg",
    "Glass Carafe 600 ml",
    "Bamboo Serving Tray",
    "Linen Tea Towel",
    "Cast Iron Teapot",
    "Loose Leaf Sencha 100 g",
    "Milk Frother",
    "Digital Kitchen Scale",
    "Cold Brew Bottle",
    "Travel Tumbler",
    "Reusable Steel Filter",
    "Oat Biscuits (12)",
    "Descaling Tablets",
    "Gift Card",
]
STATUSES = ["delivered"] * 6 + ["shipped"] * 2 + ["placed", "cancelled"]


def bug_customer_id(n_customers: int) -> int:
    """Which seeded customer has the NULL email: 37, or the last one in a smaller seed."""
    return min(BUG_CUSTOMER_ID, n_customers)


@dataclass(frozen=True)
class SeedResult:
    database_url: str
    customers: int
    products: int
    orders: int
    order_items: int
    bug_customer_id: int
    support_email: str = SUPPORT_EMAIL
    password: str = DEMO_PASSWORD


def _rows(
    n_customers: int, n_products: int, n_orders: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    if n_customers < 2:
        raise ValueError("need at least 2 customers (the support agent and the bug's)")
    if not 1 <= n_products <= len(PRODUCT_NAMES) * 10:
        raise ValueError(f"products must be between 1 and {len(PRODUCT_NAMES) * 10}")
    rng = random.Random(RANDOM_SEED)
    # names, phones and mail domains from their own generator, so `rng`'s draws (ids,
    # referrers, products, orders) do not depend on how many these take
    people = random.Random(RANDOM_SEED + 1)
    bug_id = bug_customer_id(n_customers)

    cust: list[dict[str, Any]] = []
    emails: set[str] = {SUPPORT_EMAIL}
    for cid in range(1, n_customers + 1):
        created = EPOCH + dt.timedelta(days=cid * 2, minutes=rng.randrange(0, 24 * 60))
        first, last = people.choice(FIRST_NAMES), people.choice(LAST_NAMES)
        phone = (
            f"+1 ({people.randint(2, 9)}{people.randint(0, 99):02d}) "
            f"{people.randint(2, 9)}{people.randint(0, 99):02d}-{people.randint(0, 9999):04d}"
        )
        salt = rng.randbytes(16)
        referrer = rng.randrange(2, cid) if cid > 3 and rng.random() < 0.3 else None
        if cid == SUPPORT_CUSTOMER_ID:
            row = {
                "email": SUPPORT_EMAIL,
                "full_name": f"{first} {last}",
                "role": "support",
                "referrer_id": None,
            }
        elif cid == bug_id:
            # Imported from the call-centre system in 2019: no email, no password.
            row = {"email": None, "full_name": f"{first} {last}", "role": "customer"}
        else:
            email = f"{first}.{last}".lower().replace("'", "") + f"@{people.choice(MAIL_DOMAINS)}"
            while email in emails:
                email = email.replace("@", f"{rng.randrange(10, 100)}@", 1)
            emails.add(email)
            row = {"email": email, "full_name": f"{first} {last}", "role": "customer"}
        cust.append(
            {
                "id": cid,
                "phone": phone,
                "created_at": created,
                "password_hash": (hash_password(DEMO_PASSWORD, salt) if row["email"] else None),
                "referrer_id": referrer,
                **row,
            }
        )

    prods = []
    for pid in range(1, n_products + 1):
        base = PRODUCT_NAMES[(pid - 1) % len(PRODUCT_NAMES)]
        edition = (pid - 1) // len(PRODUCT_NAMES)
        prods.append(
            {
                "id": pid,
                "sku": f"SKU-{1000 + pid}",
                "name": base if edition == 0 else f"{base} (edition {edition + 1})",
                "price_cents": rng.randrange(3, 120) * 50 - 1,
            }
        )

    buyers = [c["id"] for c in cust if c["id"] != SUPPORT_CUSTOMER_ID]
    ords: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for oid in range(1, n_orders + 1):
        # the bug's customer is a regular: every 40th order is theirs
        customer_id = bug_id if oid % 40 == 7 else rng.choice(buyers)
        created = cust[customer_id - 1]["created_at"] + dt.timedelta(
            days=rng.randrange(1, 150), seconds=rng.randrange(0, 86400)
        )
        ords.append(
            {
                "id": oid,
                "customer_id": customer_id,
                "status": rng.choice(STATUSES),
                "created_at": created,
            }
        )
        picked = rng.sample(prods, k=min(len(prods), rng.randint(1, 4)))
        for line_no, product in enumerate(picked, start=1):
            items.append(
                {
                    "order_id": oid,
                    "line_no": line_no,
                    "product_id": product["id"],
                    "qty": rng.randint(1, 3),
                    "unit_price_cents": product["price_cents"],
                }
            )
    return cust, prods, ords, items


def seed(
    database_url: str, *, n_customers: int = 50, n_products: int = 20, n_orders: int = 200
) -> SeedResult:
    """Drop and recreate the shop's tables at `database_url` and fill them."""
    cust, prods, ords, items = _rows(n_customers, n_products, n_orders)
    engine = make_engine(database_url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as conn:
            # referrers always point to earlier ids, so inserting in id order satisfies the FK
            conn.execute(customers.insert(), cust)
            conn.execute(products.insert(), prods)
            if ords:
                conn.execute(orders.insert(), ords)
            if items:
                conn.execute(order_items.insert(), items)
    finally:
        engine.dispose()
    return SeedResult(
        database_url=database_url,
        customers=len(cust),
        products=len(prods),
        orders=len(ords),
        order_items=len(items),
        bug_customer_id=bug_customer_id(n_customers),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.shop.seed", description="Create the shop's schema and seed data."
    )
    parser.add_argument(
        "--database-url", default=None, help="default: $SHOP_DATABASE_URL, else sqlite:///shop.db"
    )
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args(argv)
    url = args.database_url or database_url_from_env()
    try:
        result = seed(
            url, n_customers=args.customers, n_products=args.products, n_orders=args.orders
        )
    except ValueError as e:
        parser.error(str(e))
    shown = sa.make_url(url).render_as_string(hide_password=True)
    print(
        f"seeded {shown}: {result.customers} customers, {result.products} products, "
        f"{result.orders} orders ({result.order_items} items)"
    )
    print(f"support login: {result.support_email} / {result.password}")
    print(
        f"bug: customer {result.bug_customer_id} has no email; "
        f"GET /api/customers/{result.bug_customer_id}/orders fails on the buggy build"
    )
    print(f"bug_customer_id={result.bug_customer_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
