"""The shop's JSON API: a Flask (WSGI) app on SQLAlchemy Core.

    python -m examples.shop.app [--host 127.0.0.1] [--port 8000] [--database-url URL] [--fixed]

`create_app(database_url=None, fixed=None)` is the factory; `app` (this module) is built
from the environment at import: `SHOP_DATABASE_URL` (default `sqlite:///shop.db`) and
`SHOP_FIXED=1` for the build with the bug fixed.

Endpoints (all JSON; every one but `/health` and `/api/login` needs `Authorization: Bearer`):

    GET  /health
    POST /api/login                   {"email", "password"} -> {"access_token", ...}
    GET  /api/customers/<id>          a customer (yourself, or anyone for support staff)
    GET  /api/customers/<id>/orders   their orders with items, product names and a receipt
    GET  /api/orders/<id>             one order
    POST /api/orders                  {"items": [{"sku", "qty"}]} for the logged-in customer
    GET  /api/products[?sku=...]      the catalogue, or the product with that SKU

`X-Request-ID` is honoured (or generated) and echoed on every response; a 500 prints
`ERROR request_id=<id> 500 <METHOD> <path>` and the traceback to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import traceback
import uuid
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import Unauthorized

from examples.shop.db import api_tokens
from examples.shop.db import customers
from examples.shop.db import database_url_from_env
from examples.shop.db import hash_token
from examples.shop.db import make_engine
from examples.shop.db import metadata
from examples.shop.db import order_items
from examples.shop.db import orders
from examples.shop.db import products
from examples.shop.db import verify_password

__all__ = ["create_app", "fixed_from_env", "main"]  # and `app`, see __getattr__

REQUEST_ID_HEADER = "X-Request-ID"


def fixed_from_env() -> bool:
    return os.environ.get("SHOP_FIXED", "").strip().lower() in ("1", "true", "yes", "on")


class BadRequest(HTTPException):
    code = 400
    description = "bad request"


class ShopFlask(Flask):
    def log_exception(self, exc_info: Any) -> None:
        """Replaced by the request-id error line in `_server_error` (same information,
        plus the id the on-call engineer searches for)."""


# --- helpers ---------------------------------------------------------------------------


def _engine() -> sa.Engine:
    engine: sa.Engine = current_app.extensions["shop"]["engine"]
    return engine


def _fixed() -> bool:
    return bool(current_app.extensions["shop"]["fixed"])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _current_customer() -> sa.Row[Any]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    with _engine().connect() as conn:
        row = conn.execute(
            sa.select(customers)
            .join(api_tokens, api_tokens.c.customer_id == customers.c.id)
            .where(api_tokens.c.token_hash == hash_token(token.strip()))
        ).first()
    if row is None:
        raise Unauthorized("invalid or expired token")
    return row


def _require_access(me: sa.Row[Any], customer_id: int) -> None:
    if me.role != "support" and me.id != customer_id:
        raise Forbidden("you can only see your own account")


def _customer_json(row: sa.Row[Any], referrer: sa.Row[Any] | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "email": row.email,
        "full_name": row.full_name,
        "phone": row.phone,
        "created_at": _iso(row.created_at),
        "referrer": (
            {"id": referrer.id, "full_name": referrer.full_name} if referrer is not None else None
        ),
    }


def _orders_json(conn: sa.Connection, order_rows: list[sa.Row[Any]]) -> list[dict[str, Any]]:
    ids = [o.id for o in order_rows]
    items: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        rows = conn.execute(
            sa.select(order_items, products.c.sku, products.c.name.label("product_name"))
            .join(products, products.c.id == order_items.c.product_id)
            .where(order_items.c.order_id.in_(ids))
            .order_by(order_items.c.order_id, order_items.c.line_no)
        ).all()
        for r in rows:
            items[r.order_id].append(
                {
                    "line_no": r.line_no,
                    "product_id": r.product_id,
                    "sku": r.sku,
                    "product_name": r.product_name,
                    "qty": r.qty,
                    "unit_price_cents": r.unit_price_cents,
                    "line_total_cents": r.qty * r.unit_price_cents,
                }
            )
    return [
        {
            "id": o.id,
            "customer_id": o.customer_id,
            "status": o.status,
            "created_at": _iso(o.created_at),
            "items": items[o.id],
            "total_cents": sum(i["line_total_cents"] for i in items[o.id]),
        }
        for o in order_rows
    ]


def receipt_contact(customer: sa.Row[Any], fixed: bool) -> dict[str, Any]:
    """Where receipts for this customer's orders are sent."""
    if fixed and customer.email is None:
        # THE FIX: customers imported from the call-centre system have no email on file;
        # text them the receipt instead (or say there is no channel at all).
        if customer.phone:
            return {"channel": "sms", "to": customer.phone}
        return {"channel": "none", "to": None}
    # THE BUG: assumes every customer has an email. For a NULL email this raises
    # AttributeError: 'NoneType' object has no attribute 'strip' -> 500.
    email = customer.email.strip().lower()
    return {"channel": "email", "to": email, "domain": email.rsplit("@", 1)[-1]}


# --- the app ---------------------------------------------------------------------------


def create_app(database_url: str | None = None, fixed: bool | None = None) -> Flask:
    """The shop app on `database_url` (default: `$SHOP_DATABASE_URL`, else
    `sqlite:///shop.db`), with the bug fixed when `fixed` (default: `$SHOP_FIXED`).

    Missing tables are created (existing ones and their rows are left alone)."""
    url = database_url or database_url_from_env()
    fixed = fixed_from_env() if fixed is None else fixed
    engine = make_engine(url)
    metadata.create_all(engine, checkfirst=True)

    app = ShopFlask(__name__)
    # A 500 is a JSON answer even under app.testing (Flask would re-raise otherwise).
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["shop"] = {"engine": engine, "fixed": fixed, "database_url": url}

    @app.before_request
    def _request_id() -> None:
        rid = request.headers.get(REQUEST_ID_HEADER, "").strip()
        g.request_id = rid[:200] if rid else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        rid = getattr(g, "request_id", None)
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        return response

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> tuple[Response, int, dict[str, str]]:
        if isinstance(e, InternalServerError):
            return _server_error(e)
        code = e.code or 500
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else {}
        body = {"error": e.description or e.name, "request_id": getattr(g, "request_id", None)}
        return jsonify(body), code, headers

    def _server_error(e: InternalServerError) -> tuple[Response, int, dict[str, str]]:
        rid = getattr(g, "request_id", None) or "-"
        target = request.path + (
            f"?{request.query_string.decode('latin-1')}" if request.query_string else ""
        )
        print(f"ERROR request_id={rid} 500 {request.method} {target}", file=sys.stderr, flush=True)
        original = e.original_exception
        if original is not None:
            traceback.print_exception(original, file=sys.stderr)
            sys.stderr.flush()
        return jsonify({"error": "internal server error", "request_id": rid}), 500, {}

    @app.get("/health")
    def health() -> Any:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return {"status": "ok", "build": "fixed" if fixed else "buggy"}

    @app.post("/api/login")
    def login() -> Any:
        body = request.get_json(silent=True)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("email"), str)
            or not isinstance(body.get("password"), str)
        ):
            raise BadRequest('expected JSON {"email": ..., "password": ...}')
        with engine.begin() as conn:
            row = conn.execute(
                sa.select(customers).where(
                    sa.func.lower(customers.c.email) == body["email"].strip().lower()
                )
            ).first()
            if row is None or not verify_password(body["password"], row.password_hash):
                raise Unauthorized("wrong email or password")
            token = secrets.token_urlsafe(32)
            conn.execute(
                api_tokens.insert().values(
                    token_hash=hash_token(token), customer_id=row.id, created_at=_now()
                )
            )
        return {"access_token": token, "token_type": "bearer", "customer_id": row.id}

    @app.get("/api/customers/<int:customer_id>")
    def get_customer(customer_id: int) -> Any:
        me = _current_customer()
        _require_access(me, customer_id)
        with engine.connect() as conn:
            row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
            if row is None:
                raise NotFound("no such customer")
            referrer = None
            if row.referrer_id is not None:
                referrer = conn.execute(
                    sa.select(customers).where(customers.c.id == row.referrer_id)
                ).first()
        return _customer_json(row, referrer)

    @app.get("/api/customers/<int:customer_id>/orders")
    def get_customer_orders(customer_id: int) -> Any:
        me = _current_customer()
        _require_access(me, customer_id)
        with engine.connect() as conn:
            customer = conn.execute(
                sa.select(customers).where(customers.c.id == customer_id)
            ).first()
            if customer is None:
                raise NotFound("no such customer")
            order_rows = conn.execute(
                sa.select(orders)
                .where(orders.c.customer_id == customer_id)
                .order_by(orders.c.created_at.desc(), orders.c.id.desc())
            ).all()
            body = _orders_json(conn, list(order_rows))
        return {
            "customer": {"id": customer.id, "full_name": customer.full_name},
            "receipt": receipt_contact(customer, _fixed()),
            "orders": body,
            "order_count": len(body),
            "total_spent_cents": sum(o["total_cents"] for o in body),
        }

    @app.get("/api/orders/<int:order_id>")
    def get_order(order_id: int) -> Any:
        me = _current_customer()
        with engine.connect() as conn:
            row = conn.execute(sa.select(orders).where(orders.c.id == order_id)).first()
            if row is None:
                raise NotFound("no such order")
            _require_access(me, row.customer_id)
            return _orders_json(conn, [row])[0]

    @app.post("/api/orders")
    def create_order() -> Any:
        me = _current_customer()
        body = request.get_json(silent=True)
        lines = body.get("items") if isinstance(body, dict) else None
        if not isinstance(lines, list) or not lines:
            raise BadRequest('expected JSON {"items": [{"sku": ..., "qty": ...}, ...]}')
        wanted: list[tuple[str, int]] = []
        for line in lines:
            if not isinstance(line, dict) or not isinstance(line.get("sku"), str):
                raise BadRequest("every item needs a sku")
            qty = line.get("qty", 1)
            if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= 100:
                raise BadRequest("qty must be an integer from 1 to 100")
            wanted.append((line["sku"], qty))
        with engine.begin() as conn:
            by_sku = {
                r.sku: r
                for r in conn.execute(
                    sa.select(products).where(products.c.sku.in_([s for s, _ in wanted]))
                )
            }
            missing = sorted({s for s, _ in wanted} - by_sku.keys())
            if missing:
                raise BadRequest(f"unknown sku: {', '.join(missing)}")
            order_id = conn.execute(
                orders.insert().values(customer_id=me.id, status="placed", created_at=_now())
            ).inserted_primary_key[0]
            conn.execute(
                order_items.insert(),
                [
                    {
                        "order_id": order_id,
                        "line_no": n,
                        "product_id": by_sku[sku].id,
                        "qty": qty,
                        "unit_price_cents": by_sku[sku].price_cents,
                    }
                    for n, (sku, qty) in enumerate(wanted, start=1)
                ],
            )
            row = conn.execute(sa.select(orders).where(orders.c.id == order_id)).one()
            out = _orders_json(conn, [row])[0]
        return out, 201, {"Location": f"/api/orders/{order_id}"}

    @app.get("/api/products")
    def list_products() -> Any:
        _current_customer()
        query = sa.select(products).order_by(products.c.id)
        sku = request.args.get("sku")
        if sku is not None:
            query = query.where(products.c.sku == sku)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if sku is not None and not rows:
            raise NotFound(f"no product with sku {sku}")
        return {
            "products": [
                {"id": r.id, "sku": r.sku, "name": r.name, "price_cents": r.price_cents}
                for r in rows
            ]
        }

    return app


_app: Flask | None = None


def __getattr__(name: str) -> Any:
    """`app`: the app built from the environment (`SHOP_DATABASE_URL`, `SHOP_FIXED`) on first
    access (`from examples.shop.app import app`), so importing this module, or running it with
    `python -m`, touches no database by itself."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.shop.app",
        description="Serve the example shop (Werkzeug, threaded).",
    )
    parser.add_argument("--host", default=os.environ.get("SHOP_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SHOP_PORT", "8000")))
    parser.add_argument(
        "--database-url", default=None, help="default: $SHOP_DATABASE_URL, else sqlite:///shop.db"
    )
    parser.add_argument(
        "--fixed",
        action="store_true",
        default=None,
        help="serve the build with the bug fixed (also: SHOP_FIXED=1)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request access log")
    args = parser.parse_args(argv)

    import logging

    from werkzeug.serving import run_simple

    shop = create_app(args.database_url, args.fixed)
    ext = shop.extensions["shop"]
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    build = "fixed" if ext["fixed"] else "buggy"
    print(
        f"shop: {build} build on http://{args.host}:{args.port} "
        f"(database {sa.make_url(ext['database_url']).render_as_string(hide_password=True)})",
        file=sys.stderr,
        flush=True,
    )
    run_simple(args.host, args.port, shop, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
