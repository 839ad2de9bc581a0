"""The shop's schema (SQLAlchemy Core), password hashing and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from typing import Any

import sqlalchemy as sa

from examples.shop import DEMO_PASSWORD

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEMO_PASSWORD",
    "api_tokens",
    "customers",
    "database_url_from_env",
    "hash_password",
    "hash_token",
    "issue_token",
    "make_engine",
    "metadata",
    "order_items",
    "orders",
    "products",
    "verify_password",
]

DEFAULT_DATABASE_URL = "sqlite:///shop.db"
"""Used when neither an explicit URL nor `SHOP_DATABASE_URL` is given (relative to the cwd)."""


PBKDF2_ITERATIONS = 10_000
"""Deliberately low: this is a demo that seeds dozens of accounts in a test. Production code
would use hundreds of thousands (OWASP: 600,000 for PBKDF2-HMAC-SHA256)."""

metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # NULL for customers imported from the old call-centre system: they never gave one
    sa.Column("email", sa.String(255), nullable=True, unique=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(40), nullable=True),
    sa.Column("role", sa.String(20), nullable=False, server_default="customer"),
    # "pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>"; NULL: the account cannot log in
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("referrer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=True),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sku", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("price_cents", sa.Integer, nullable=False),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("qty", sa.Integer, nullable=False),
    sa.Column("unit_price_cents", sa.Integer, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    # sha256 of the bearer token: a database leak does not leak usable tokens
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)


def database_url_from_env() -> str:
    return os.environ.get("SHOP_DATABASE_URL") or DEFAULT_DATABASE_URL


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> sa.Engine:
    """An engine for `url`; on SQLite with foreign keys enforced."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def hash_password(
    password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """`pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`, with a random salt unless given."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str | None) -> bool:
    """False for a wrong password and for anything that is not a hash we wrote (NULL, a
    redaction marker in a test fixture, ...), never an exception."""
    if not encoded:
        return False
    try:
        algorithm, iterations, salt_hex, digest_hex = encoded.split("$")
        if algorithm != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac(
            "sha256", password.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(engine_or_url: sa.Engine | str, customer_id: int, token: str | None = None) -> str:
    """Store a bearer token for `customer_id` and return it (what `POST /api/login` does
    after checking the password). Tests use it to authenticate without a password, e.g.
    against a database loaded from a fixture whose password hashes are redacted. Creates the
    schema's missing tables first."""
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    token = token or secrets.token_urlsafe(32)
    try:
        metadata.create_all(engine, checkfirst=True)
        with engine.begin() as conn:
            conn.execute(
                api_tokens.insert().values(
                    token_hash=hash_token(token),
                    customer_id=customer_id,
                    created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                )
            )
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()
    return token
