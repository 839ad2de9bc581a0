"""Every string the model admits fits the store (schema 4), on SQLite and PostgreSQL.

mitmproxy decodes a request line's raw bytes with `surrogateescape` (`GET /p/caf\\xe9` has
the path '/p/caf\\udce9'); such values, NUL, and values too long for an index entry are
stored in a printable form in their column and exactly in the row's document.
"""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from amber._model import Exchange
from amber._model import Redaction
from amber._store import INDEX_KEY_BYTES
from amber._store import SCHEMA_VERSION
from amber._store import ExchangeQuery
from amber._store import Store
from amber._store import normalize_url
from amber.errors import StoreError
from tests.conftest import make_exchange

RAW = "/p/caf\udce9"  # GET /p/caf\xe9 as mitmproxy gives it


def hostile(i: int = 1) -> Exchange:
    """An exchange with raw non-UTF-8 bytes (surrogate escapes) in every text it has."""
    ex = make_exchange(
        i,
        method="G\udcc9T",
        path=RAW,
        query="q=\udcff&x=1",
        req_headers=(("X-B\udce9", "v\udce9l"), ("Host", "api.example.com")),
        resp_headers=(("Content-Type", "text/plain"), ("X-Raw", "\udc80\x00")),
        request_id="rid-\udce9",
    )
    ex.request.host = "h\udce9st.internal"
    ex.route = "/p/{raw}\udce9"
    ex.error = "broken \udce9"
    ex.tags = ("t\udce9",)
    ex.redactions = (Redaction("r", "request.headers.x-b\udce9"),)
    ex.meta = {"note": "m\udce9"}
    return ex


def test_raw_bytes_everywhere_round_trip_exactly(store: Store) -> None:
    ex = hostile()
    plain = make_exchange(2)
    store.add_many([ex, plain])
    assert store.get(ex.id) == ex
    assert store.get(plain.id) == plain
    assert [e for e in store.iter_exchanges() if e.id == ex.id] == [ex]
    (summary,) = [s for s in store.summaries(ExchangeQuery()) if s.id == ex.id]
    assert (
        summary.method,
        summary.host,
        summary.path,
        summary.query,
        summary.route,
        summary.request_id,
        summary.error,
    ) == (
        ex.request.method,
        ex.request.host,
        ex.request.path,
        ex.request.query,
        ex.route,
        ex.request_id,
        ex.error,
    )
    assert [e.id for e in store.lookup("rid-\udce9")] == [ex.id]


def test_nul_in_text_round_trips(store: Store) -> None:
    ex = make_exchange(1, path="/a\x00b", query="k=\x00", request_id="r\x00")
    store.add(ex)
    assert store.get(ex.id) == ex


def test_long_indexed_values_fit_and_stay_findable(store: Store) -> None:
    # random text does not compress: PostgreSQL refused such an index entry (> 2704 bytes)
    route = "/search/" + secrets.token_urlsafe(3000)
    method = "M" * 17 + "X" * 2000
    a = make_exchange(1, method=method, request_id="r" * 5000)
    a.route = route
    b = make_exchange(2)
    b.route = route + "-other"  # shares the stored prefix, not the digest
    store.add_many([a, b])
    assert store.get(a.id) == a
    assert [s.id for s in store.summaries(ExchangeQuery(routes=[route]))] == [a.id]
    assert [s.id for s in store.summaries(ExchangeQuery(methods=[method]))] == [a.id]
    assert [e.id for e in store.lookup("r" * 5000)] == [a.id]
    assert store.count(ExchangeQuery(routes=[route + "-other"])) == 1


def test_a_17_character_method_fits(store: Store) -> None:
    ex = make_exchange(1, method="PROPPATCHEXTENDED")  # legal token, 17 characters
    store.add(ex)
    assert store.get(ex.id).request.method == "PROPPATCHEXTENDED"


def test_filters_match_exact_values_not_look_alikes(store: Store) -> None:
    raw = make_exchange(1, path=RAW)
    raw.route = RAW
    raw.request.host = "h\udce9"
    # ordinary text that reads like the escaped form of the raw values above
    look = make_exchange(2, path="/p/caf\\xe9")
    look.route = "/p/caf\\xe9"
    look.request.host = "h\\xe9"
    ordinary = make_exchange(3, path="/p/cafe")
    store.add_many([raw, look, ordinary])

    def ids(**kw: object) -> list[str]:
        return [s.id for s in store.summaries(ExchangeQuery(**kw))]  # type: ignore[arg-type]

    assert ids(routes=[RAW]) == [raw.id]
    assert ids(routes=["/p/caf\\xe9"]) == [look.id]
    assert ids(hosts=["h\udce9"]) == [raw.id]
    assert ids(hosts=["h\\xe9"]) == [look.id]
    assert ids(path_glob="/p/caf?") == [raw.id, ordinary.id]
    assert ids(path_glob=RAW) == [raw.id]
    assert ids(path_glob="/p/caf\\xe9") == [look.id]
    assert ids(path_glob="/p/*") == [raw.id, look.id, ordinary.id]
    assert [e.id for e in store.iter_exchanges(ExchangeQuery(path_glob="/p/caf?"))] == [
        raw.id,
        ordinary.id,
    ]


def test_ordinary_rows_are_stored_as_they_are(store: Store) -> None:
    """Plain values keep plain columns (and the orjson document): indexes and filters see
    them as before; only a row that needs it is flagged."""
    plain, raw = make_exchange(1, path="/caf\u00e9/x"), make_exchange(2, path=RAW)
    store.add_many([plain, raw])
    with store.engine.connect() as conn:
        rows = dict(conn.execute(sa.text("select path, flags from amber_exchanges")).all())
    assert rows == {"/caf\u00e9/x": 0, "/p/caf\\xe9": 4}


def test_ids_longer_than_an_index_entry_are_recognised_on_reimport(store: Store) -> None:
    ex = make_exchange(1)
    ex.id = "ID-" + "X" * (INDEX_KEY_BYTES + 10)
    store.add(ex)
    assert store.existing_ids([ex.id, "other"]) == {ex.id}
    assert store.get(ex.id) == ex


def test_an_exchange_json_cannot_hold_is_refused_by_name(store: Store) -> None:
    ex = make_exchange(1)
    ex.meta = {"bad": {1, 2}}  # a set: not JSON
    with pytest.raises(StoreError, match=f"exchange {ex.id} cannot be stored"):
        store.add(ex)
    assert store.count() == 0


def _as_schema_3(url: str) -> None:
    """Turn a new store into what schema 3 created (length-limited text columns)."""
    with Store.open(url) as s, s.engine.begin() as conn:
        if s.dialect == "postgresql":
            conn.exec_driver_sql(
                "ALTER TABLE amber_exchanges ALTER COLUMN id TYPE varchar(32), "
                "ALTER COLUMN request_id TYPE varchar(200), "
                "ALTER COLUMN method TYPE varchar(16), ALTER COLUMN scheme TYPE varchar(8), "
                "ALTER COLUMN host TYPE varchar(255)"
            )
        conn.exec_driver_sql("update amber_meta set value='3' where key='schema_version'")


def test_schema_3_is_migrated_and_then_takes_every_value(store_url: str) -> None:
    assert SCHEMA_VERSION == 4
    old = make_exchange(1)
    with Store.open(store_url) as s:
        s.add(old)
    _as_schema_3(store_url)
    with Store.open(store_url) as s:
        if s.dialect == "postgresql":
            with s.engine.connect() as conn:
                types = dict(
                    conn.execute(
                        sa.text(
                            "select column_name, data_type from information_schema.columns "
                            "where table_name = 'amber_exchanges' and column_name in "
                            "('id', 'request_id', 'method', 'scheme', 'host')"
                        )
                    ).all()
                )
            assert set(types.values()) == {"text"}, types
        long_method = make_exchange(2, method="X" * 17)
        long_method.request.host = "h" * 300
        s.add_many([long_method, hostile(3)])
        assert s.get(old.id) == old
        assert s.get(long_method.id) == long_method
        with s.engine.connect() as conn:
            version = conn.execute(
                sa.text("select value from amber_meta where key = 'schema_version'")
            ).scalar()
        assert version == "4"


@pytest.mark.postgres
def test_schema_3_on_postgres_refused_a_17_character_method(pg_database: str) -> None:
    """The failure the migration fixes, on a real schema 3 table (so the test above can
    fail)."""
    from tests.conftest import _reset_pg

    _reset_pg(pg_database)
    _as_schema_3(pg_database)
    engine = sa.create_engine(normalize_url(pg_database))
    try:
        with pytest.raises(sa.exc.DataError, match="too long"), engine.begin() as conn:
            conn.exec_driver_sql(
                "insert into amber_exchanges (id, started_at, method, scheme, host, port, "
                "path, query, route, truncated, doc, flags, req_body) values ('a', 0, "
                "'PROPPATCHEXTENDED', 'http', 'h', 80, '/', '', '/', false, '', 0, '')"
            )
    finally:
        engine.dispose()


def test_run_chunks_read_back_raw_bytes() -> None:
    """A replay result names the exchange's path; written with dumps_json, it reads back."""
    from amber._model import dumps_json
    from amber._store import pack_encoded
    from amber._store import unpack_results

    row = ["ex1", 1.5, 200, 2.0, True, None, {"path": RAW}]
    assert unpack_results(pack_encoded([dumps_json(row)])) == [row]
