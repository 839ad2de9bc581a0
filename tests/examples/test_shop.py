"""The bundled example app (examples/shop): the planted bug, its fix, auth, the seed, the
traffic script against a real server."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `examples` is not installed: import it from the checkout
    sys.path.append(str(ROOT))

from examples.shop import app as app_module  # noqa: E402
from examples.shop import traffic  # noqa: E402
from examples.shop.app import create_app  # noqa: E402
from examples.shop.db import DEMO_PASSWORD  # noqa: E402
from examples.shop.db import hash_password  # noqa: E402
from examples.shop.db import issue_token  # noqa: E402
from examples.shop.db import metadata  # noqa: E402
from examples.shop.db import verify_password  # noqa: E402
from examples.shop.replay_auth import agent_token  # noqa: E402
from examples.shop.replay_auth import sign  # noqa: E402
from examples.shop.seed import BUG_CUSTOMER_ID  # noqa: E402
from examples.shop.seed import SUPPORT_EMAIL  # noqa: E402
from examples.shop.seed import seed  # noqa: E402

ERROR_LINE = re.compile(r"^ERROR request_id=(\S+) 500 GET /api/customers/(\d+)/orders$", re.M)
FAILED_LINE = re.compile(
    r"^FAILED request_id=([0-9a-f]{32}) 500 GET /api/customers/(\d+)/orders$", re.M
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "seeded.db"
    result = seed(f"sqlite:///{path}")
    assert result.bug_customer_id == BUG_CUSTOMER_ID
    return path


@pytest.fixture
def db_url(seeded: Path, tmp_path: Path) -> str:
    """A private copy of the seeded database (tests may write to it)."""
    path = tmp_path / "shop.db"
    shutil.copyfile(seeded, path)
    return f"sqlite:///{path}"


@contextlib.contextmanager
def shop_client(db_url: str, *, fixed: bool = False) -> Iterator[httpx.Client]:
    app = create_app(db_url, fixed=fixed)
    try:
        with httpx.Client(
            transport=httpx.WSGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield client
    finally:
        app.extensions["shop"]["engine"].dispose()


def login(
    client: httpx.Client, email: str = SUPPORT_EMAIL, password: str = DEMO_PASSWORD
) -> dict[str, str]:
    r = client.post("/api/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def all_customer_orders(db_url: str, fixed: bool) -> dict[int, httpx.Response]:
    with shop_client(db_url, fixed=fixed) as client:
        auth = login(client)
        return {
            cid: client.get(f"/api/customers/{cid}/orders", headers=auth) for cid in range(1, 51)
        }


# --- the planted bug and its fix --------------------------------------------------------


def test_the_bug_fires_for_the_call_centre_customer_only(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    responses = all_customer_orders(db_url, fixed=False)
    failing = sorted(cid for cid, r in responses.items() if r.status_code >= 500)
    assert failing == [BUG_CUSTOMER_ID]
    bad = responses[BUG_CUSTOMER_ID]
    assert bad.status_code == 500
    rid = bad.headers["X-Request-ID"]
    assert bad.json() == {"error": "internal server error", "request_id": rid}
    err = capsys.readouterr().err
    assert ERROR_LINE.findall(err) == [(rid, str(BUG_CUSTOMER_ID))]
    assert "AttributeError: 'NoneType' object has no attribute 'strip'" in err
    assert all(r.status_code == 200 for cid, r in responses.items() if cid != BUG_CUSTOMER_ID)


def test_the_fixed_build_answers_and_changes_nothing_else(db_url: str) -> None:
    buggy = all_customer_orders(db_url, fixed=False)
    fixed = all_customer_orders(db_url, fixed=True)
    assert all(r.status_code == 200 for r in fixed.values())
    for cid in fixed:
        if cid != BUG_CUSTOMER_ID:
            assert fixed[cid].json() == buggy[cid].json()
    body = fixed[BUG_CUSTOMER_ID].json()
    assert body["customer"]["id"] == BUG_CUSTOMER_ID
    assert body["receipt"]["channel"] == "sms"
    assert body["receipt"]["to"].startswith("+1 (")
    assert body["order_count"] == len(body["orders"]) >= 5
    assert all(o["customer_id"] == BUG_CUSTOMER_ID and o["items"] for o in body["orders"])
    assert all(i["product_name"] for o in body["orders"] for i in o["items"])
    assert body["total_spent_cents"] == sum(o["total_cents"] for o in body["orders"])
    ordinary = fixed[2].json()["receipt"]
    assert ordinary["channel"] == "email" and "@" in ordinary["to"]


def test_the_fix_is_toggled_by_the_environment(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_DATABASE_URL", db_url)
    token = issue_token(db_url, BUG_CUSTOMER_ID)
    headers = {"Authorization": f"Bearer {token}"}
    for env, status in (("", 500), ("1", 200)):
        monkeypatch.setenv("SHOP_FIXED", env)
        monkeypatch.setattr(app_module, "_app", None)
        app = app_module.app  # the module-level app, built from the environment
        try:
            assert app.extensions["shop"]["database_url"] == db_url
            transport = httpx.WSGITransport(app=app)
            with httpx.Client(transport=transport, base_url="http://testserver") as client:
                r = client.get(f"/api/customers/{BUG_CUSTOMER_ID}/orders", headers=headers)
                assert r.status_code == status
                health = client.get("/health").json()
                assert health == {"status": "ok", "build": "fixed" if env else "buggy"}
        finally:
            app.extensions["shop"]["engine"].dispose()
    monkeypatch.setattr(app_module, "_app", None)


def minimal_db(tmp_path: Path) -> str:
    """Just the call-centre customer, as a fixture with a redacted password hash holds it."""
    url = f"sqlite:///{tmp_path / 'minimal.db'}"
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            metadata.tables["customers"]
            .insert()
            .values(
                id=BUG_CUSTOMER_ID,
                email=None,
                full_name="Pat Doe",
                phone=None,
                role="customer",
                password_hash="[REDACTED:sensitive-key]",
                created_at=sa.func.current_timestamp(),
            )
        )
    engine.dispose()
    return url


def test_the_bug_reproduces_from_the_customer_row_alone(tmp_path: Path) -> None:
    """What a regression test's fixture needs: the bug fires on a database holding just the
    customer (and a token)."""
    url = minimal_db(tmp_path)
    headers = {"Authorization": f"Bearer {issue_token(url, BUG_CUSTOMER_ID)}"}
    for fixed, status in ((False, 500), (True, 200)):
        with shop_client(url, fixed=fixed) as client:
            r = client.get(f"/api/customers/{BUG_CUSTOMER_ID}/orders", headers=headers)
            assert r.status_code == status
    assert r.json()["receipt"] == {"channel": "none", "to": None}
    assert r.json()["orders"] == []


def test_the_replay_auth_hook_signs_a_captured_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = minimal_db(tmp_path)
    monkeypatch.setenv("SHOP_DATABASE_URL", url)
    captured = httpx.Request(
        "GET",
        f"http://testserver/api/customers/{BUG_CUSTOMER_ID}/orders",
        headers={"Authorization": "[REDACTED:authorization]"},
    )
    for fixed, status in ((False, 401), (True, 401)):
        with shop_client(url, fixed=fixed) as client:
            assert client.send(captured).status_code == status
    for fixed, status in ((False, 500), (True, 200)):
        with shop_client(url, fixed=fixed) as client:
            assert client.send(sign(captured)).status_code == status
    assert len(dump(url)["customers"]) == 2  # the agent was created once


def test_the_replay_auth_hook_creates_missing_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"  # the app never started on it
    first, second = agent_token(url), agent_token(url)
    assert first != second
    tokens = dump(url)["api_tokens"]
    assert len(tokens) == 2 and len(dump(url)["customers"]) == 1


# --- auth, request ids, the other endpoints --------------------------------------------


def test_auth(db_url: str) -> None:
    with shop_client(db_url) as client:
        r = client.get("/api/customers/2")
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.json()["error"] == "missing bearer token"
        bad = client.get("/api/customers/2", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        for body in (
            {"email": SUPPORT_EMAIL, "password": "wrong"},
            {"email": "nobody@example.org", "password": DEMO_PASSWORD},
        ):
            assert client.post("/api/login", json=body).status_code == 401
        assert client.post("/api/login", json={"email": SUPPORT_EMAIL}).status_code == 400
        assert client.post("/api/login", content=b"not json").status_code == 400

        agent = login(client)
        assert client.get("/api/customers/2", headers=agent).status_code == 200
        assert client.get("/api/customers/999", headers=agent).status_code == 404
        assert client.get("/api/products", headers=agent).status_code == 200

        email = client.get("/api/customers/2", headers=agent).json()["email"]
        own = login(client, email.upper())  # emails match case-insensitively
        assert client.get("/api/customers/2", headers=own).status_code == 200
        assert client.get("/api/customers/2/orders", headers=own).status_code == 200
        assert client.get("/api/customers/3", headers=own).status_code == 403
        assert client.get("/api/customers/3/orders", headers=own).status_code == 403
        assert client.get("/health").status_code == 200  # no token needed


def test_passwords_are_salted_pbkdf2_and_never_crash_on_junk() -> None:
    one, two = hash_password("s3cret"), hash_password("s3cret")
    assert one != two and one.startswith("pbkdf2_sha256$")
    assert verify_password("s3cret", one) and not verify_password("other", one)
    for junk in (None, "", "[REDACTED:sensitive-key]", "pbkdf2_sha256$x$zz$00", "md5$1$2$3"):
        assert not verify_password("s3cret", junk)


def test_request_id_is_honoured_or_generated(db_url: str) -> None:
    with shop_client(db_url) as client:
        r = client.get("/health", headers={"X-Request-ID": "abc-123"})
        assert r.headers["X-Request-ID"] == "abc-123"
        generated = client.get("/health").headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
        r = client.get("/api/orders/1", headers={"X-Request-ID": "r-401"})
        assert r.status_code == 401 and r.headers["X-Request-ID"] == "r-401"
        assert r.json()["request_id"] == "r-401"


def test_orders_and_products(db_url: str) -> None:
    with shop_client(db_url) as client:
        agent = login(client)
        email = client.get("/api/customers/5", headers=agent).json()["email"]
        me = login(client, email)
        product = client.get("/api/products", params={"sku": "SKU-1003"}, headers=me).json()
        assert [p["sku"] for p in product["products"]] == ["SKU-1003"]
        missing = client.get("/api/products", params={"sku": "SKU-9"}, headers=me)
        assert missing.status_code == 404
        assert len(client.get("/api/products", headers=me).json()["products"]) == 20

        before = client.get("/api/customers/5/orders", headers=me).json()["order_count"]
        r = client.post(
            "/api/orders",
            headers=me,
            json={"items": [{"sku": "SKU-1003", "qty": 2}, {"sku": "SKU-1004"}]},
        )
        assert r.status_code == 201, r.text
        order = r.json()
        assert r.headers["Location"] == f"/api/orders/{order['id']}"
        assert order["customer_id"] == 5 and order["status"] == "placed"
        price = product["products"][0]["price_cents"]
        assert order["items"][0] == {
            "line_no": 1,
            "product_id": 3,
            "sku": "SKU-1003",
            "product_name": product["products"][0]["name"],
            "qty": 2,
            "unit_price_cents": price,
            "line_total_cents": 2 * price,
        }
        assert order["total_cents"] == sum(i["line_total_cents"] for i in order["items"])
        assert client.get(f"/api/orders/{order['id']}", headers=me).json() == order
        assert client.get(f"/api/orders/{order['id']}", headers=agent).status_code == 200
        after = client.get("/api/customers/5/orders", headers=me).json()
        assert after["order_count"] == before + 1 and after["orders"][0] == order

        for bad in (
            {},
            {"items": []},
            {"items": [{"sku": "SKU-1"}]},
            {"items": [{"sku": "SKU-1003", "qty": 0}]},
        ):
            assert client.post("/api/orders", headers=me, json=bad).status_code == 400
        assert client.get("/api/orders/99999", headers=me).status_code == 404


# --- the seed ---------------------------------------------------------------------------


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: [
                    tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))
                ]
                for t in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_the_seed_is_deterministic(tmp_path: Path, seeded: Path) -> None:
    again = f"sqlite:///{tmp_path / 'again.db'}"
    result = seed(again)
    first, second = dump(f"sqlite:///{seeded}"), dump(again)
    assert first == second
    assert (result.customers, result.products, result.orders) == (50, 20, 200)
    assert [len(first[t]) for t in ("customers", "products", "orders")] == [50, 20, 200]
    assert len(first["order_items"]) == result.order_items
    assert first["api_tokens"] == []
    nulls = [row[0] for row in first["customers"] if row[1] is None]
    assert nulls == [BUG_CUSTOMER_ID]
    seed(again)  # reseeding an existing database replaces its data
    assert dump(again) == first
    small = seed(f"sqlite:///{tmp_path / 'small.db'}", n_customers=10, n_orders=20)
    assert small.bug_customer_id == 10


# --- a real server and the traffic script -----------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base_url: str, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the app exited: {proc.communicate()[1]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"{base_url} did not become healthy")


def test_traffic_against_the_served_app_reports_the_failing_request(tmp_path: Path) -> None:
    """The demo's path: seed and serve with `python -m`, drive with the traffic script; the
    request id it reports is the one in the app's error log."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SHOP_FIXED", None)
    out = subprocess.run(
        [sys.executable, "-m", "examples.shop.seed", "--database-url", url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines()[-1] == f"bug_customer_id={BUG_CUSTOMER_ID}"

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "examples.shop.app",
            "--port",
            str(port),
            "--database-url",
            url,
            "--quiet",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(base, app)
        run = subprocess.run(
            [sys.executable, "-m", "examples.shop.traffic", "--base-url", base, "--requests", "30"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        app.send_signal(signal.SIGINT)
        try:
            _, err = app.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()
            _, err = app.communicate()
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert re.fullmatch(
        rf"traffic: 30 requests to {re.escape(base)} in [0-9.]+ s: "
        r"200=27 201=2 500=1",
        lines[0],
    ), lines[0]
    failed = FAILED_LINE.findall(run.stdout)
    assert failed == [(failed[0][0], str(BUG_CUSTOMER_ID))]
    assert ERROR_LINE.findall(err) == failed
    assert "shop: buggy build on" in err


def test_traffic_against_the_fixed_build_has_no_failures(db_url: str) -> None:
    from werkzeug.serving import make_server

    app = create_app(db_url, fixed=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = traffic.run(f"http://127.0.0.1:{server.server_port}", requests=20)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["shop"]["engine"].dispose()
    assert len(result.sent) == 20
    assert result.failures == []
    assert len({s.request_id for s in result.sent}) == 20
    assert result.summary().splitlines()[1] == "no failed requests"
    assert [s.method for s in result.sent].count("POST") == 5  # 3 logins, 2 orders
