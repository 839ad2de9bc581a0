"""shop: a small Flask + SQLAlchemy web shop with a planted, data-dependent bug.

- `examples.shop.app`: the app (`create_app()` factory, module-level `app`, `python -m`)
- `examples.shop.db`: the schema, password hashing and API tokens
- `examples.shop.seed`: deterministic seed data (`python -m examples.shop.seed`)
- `examples.shop.traffic`: a client that drives the app (`python -m examples.shop.traffic`)

See README.md next to this file.
"""

from __future__ import annotations

__all__ = ["BUG_CUSTOMER_ID", "DEMO_PASSWORD", "SUPPORT_EMAIL"]

DEMO_PASSWORD = "amber-demo"
"""Every seeded account that can log in (all but the bug's customer) has this password."""

SUPPORT_EMAIL = "support@shop.example"
"""The seeded support agent (customer 1), who may read every customer's data."""

BUG_CUSTOMER_ID = 37
"""The seeded customer with a NULL email (with at least 37 customers): their
`GET /api/customers/37/orders` answers 500 on the buggy build."""
