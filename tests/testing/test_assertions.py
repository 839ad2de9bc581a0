from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from amber.testing import UPDATE_ENV
from amber.testing import assert_matches_recording
from amber.testing import snapshot_body

# what apps send: keys in the app's order (Flask with sort_keys off, FastAPI, ...)
ORDERS = {
    "orders": [
        {"id": 2, "status": "placed", "items": [{"sku": "B", "qty": 1}]},
        {"id": 1, "status": "delivered", "items": []},
    ],
    "count": 2,
}


def response(body: object) -> httpx.Response:
    return httpx.Response(
        200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def test_a_recording_matches_the_response_it_was_recorded_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snapshots keep keys sorted: arrays of objects whose keys the app sends in another
    order are the same response, not "same elements, other order"."""
    snap = tmp_path / "__snapshots__" / "t.json"
    monkeypatch.setenv(UPDATE_ENV, "1")
    assert_matches_recording(response(ORDERS), snap)
    monkeypatch.delenv(UPDATE_ENV)
    assert_matches_recording(response(ORDERS), snap)
    swapped = {**ORDERS, "orders": ORDERS["orders"][::-1]}  # type: ignore[index]
    with pytest.raises(AssertionError, match="other order"):
        assert_matches_recording(response(swapped), snap)
    changed = json.loads(json.dumps(ORDERS))
    changed["orders"][0]["status"] = "cancelled"
    with pytest.raises(AssertionError, match=r"\$\.orders\[0\]\.status"):
        assert_matches_recording(response(changed), snap)


def test_snapshot_bodies_beyond_orjson() -> None:
    assert snapshot_body(b'{"n": 123456789012345678901234567890}') == {
        "json": {"n": 123456789012345678901234567890}
    }
    assert snapshot_body(b"[NaN]")["json"][0] != 0  # NaN, as json reads it
    assert snapshot_body('{"a": "é"}'.encode("utf-16")) == {"json": {"a": "é"}}
    assert snapshot_body(b"not json") == {"text": "not json"}
    assert snapshot_body(b"\xff\xfe\x00") == {"base64": "//4A"}


def test_integers_beyond_64_bits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snap = tmp_path / "big.json"
    body = {"ids": [2**70, 1], "nested": {"b": 1, "a": [2**65]}}
    monkeypatch.setenv(UPDATE_ENV, "1")
    assert_matches_recording(response(body), snap)
    monkeypatch.delenv(UPDATE_ENV)
    assert_matches_recording(response(body), snap)
    with pytest.raises(AssertionError):
        assert_matches_recording(response({**body, "ids": [2**71, 1]}), snap)
