"""Authenticate replayed and regression-test requests against a test copy of the shop.

Captured `Authorization` headers are redacted (`[REDACTED:authorization]`), and a database
fixture's password hashes are too, so a replayed request cannot log in the way the original
client did. `sign` is an amber auth hook (`replay.auth.hook:
examples.shop.replay_auth:sign`, signature `(httpx.Request) -> httpx.Request`): it makes
sure a support account exists in the database at `$SHOP_DATABASE_URL`, mints a fresh token
for it, and puts it in the request's `Authorization` header. Support accounts may read
every customer, so any captured request can be replayed with it.

Only for test databases: it writes an account and a token.
"""

from __future__ import annotations

import datetime as dt
import secrets

import httpx
import sqlalchemy as sa

from examples.shop.db import api_tokens
from examples.shop.db import customers
from examples.shop.db import database_url_from_env
from examples.shop.db import hash_token
from examples.shop.db import make_engine
from examples.shop.db import metadata

__all__ = ["REPLAY_AGENT_EMAIL", "agent_token", "sign"]

REPLAY_AGENT_EMAIL = "replay-agent@shop.example"


_ENGINES: dict[str, sa.Engine] = {}


def _engine(url: str) -> sa.Engine:
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = make_engine(url)
    return engine


def agent_token(database_url: str | None = None) -> str:
    """A new bearer token for the replay support agent (created if missing).

    One transaction per call: the hook runs before every replayed or regression-tested
    request. The shop's tables are created only when they are missing (a database the app
    has not started on yet)."""
    engine = _engine(database_url or database_url_from_env())
    try:
        return _mint(engine)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        with engine.begin() as conn:  # no such table, most likely: create what is missing
            metadata.create_all(conn, checkfirst=True)
        return _mint(engine)


def _mint(engine: sa.Engine) -> str:
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        agent_id = conn.execute(
            sa.select(customers.c.id).where(customers.c.email == REPLAY_AGENT_EMAIL)
        ).scalar()
        if agent_id is None:
            agent_id = conn.execute(
                customers.insert().values(
                    email=REPLAY_AGENT_EMAIL,
                    full_name="Replay Agent",
                    role="support",
                    password_hash=None,
                    created_at=dt.datetime(2024, 1, 1),
                )
            ).inserted_primary_key[0]
        conn.execute(
            api_tokens.insert().values(
                token_hash=hash_token(token),
                customer_id=int(agent_id),
                created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            )
        )
    return token


def sign(request: httpx.Request) -> httpx.Request:
    request.headers["Authorization"] = f"Bearer {agent_token()}"
    return request
