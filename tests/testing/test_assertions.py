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


PERSON = {
    "user": {
        "name": "Earl Reynolds",
        "email": "earl.reynolds@corpmail.net",
        "api_token": "atk_5Rz9Qw1Lx8Vb2Nm7Kc3Jd6Hs0Pf4Ty",
    },
    "items": [{"name": "Blue mug", "qty": 2}],
}


def test_a_live_response_is_compared_shown_and_written_in_sanitized_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amber._model import Response
    from amber._pseudonym import Pseudonymizer
    from amber.sanitize import SanitizeConfig
    from amber.sanitize import Sanitizer
    from amber.testing._snapshot import make_snapshot
    from amber.testing._snapshot import write_snapshot

    key = "snapshot-capture-key-0123456789"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AMBER_CONFIG", raising=False)
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    monkeypatch.setenv("AMBER_KEY", key)
    # what gen-test writes: the stored (sanitized) response
    stored, _ = Sanitizer(SanitizeConfig(), Pseudonymizer(key.encode())).sanitize_response(
        Response(
            200, headers=(("content-type", "application/json"),), body=json.dumps(PERSON).encode()
        )
    )
    snap = tmp_path / "__snapshots__" / "me.json"
    write_snapshot(snap, make_snapshot(200, "application/json", stored.body))
    assert "Earl Reynolds" not in snap.read_text()
    assert_matches_recording(response(PERSON), snap)  # a pseudonym meets a pseudonym
    changed = {**PERSON, "user": {**PERSON["user"], "name": "Mallory Quinn"}}
    with pytest.raises(AssertionError, match=r"\$\.user\.name") as info:
        assert_matches_recording(response(changed), snap)
    assert "Mallory" not in str(info.value) and "Earl" not in str(info.value)
    monkeypatch.setenv(UPDATE_ENV, "1")
    assert_matches_recording(response(changed), snap)
    written = snap.read_text()
    assert "Mallory" not in written and "atk_" not in written and "corpmail" not in written
    assert "Blue mug" in written
