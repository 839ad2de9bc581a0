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


def _resp(status: int, body: bytes, ct: str = "text/plain") -> httpx.Response:
    return httpx.Response(status, content=body, headers={"content-type": ct})


def test_assert_fixed_wants_what_a_working_build_answers() -> None:
    from amber.testing import assert_fixed

    assert_fixed(_resp(200, b"ok"), captured_status=500)
    assert_fixed(_resp(302, b""), captured_status=500)
    # a wrong path prefix's 404 or a missing credential's 401 is no fix
    for status in (404, 401, 500):
        with pytest.raises(AssertionError, match=f"should succeed .*captured 500, now {status}"):
            assert_fixed(_resp(status, b"nope"), captured_status=500, exchange_id="X1")
    with pytest.raises(AssertionError, match="check the path prefix"):
        assert_fixed(_resp(404, b""), captured_status=500)
    assert_fixed(_resp(201, b"{}"), status=[200, 201])
    with pytest.raises(AssertionError, match="should answer 200 once fixed"):
        assert_fixed(_resp(201, b"{}"), status=200)


def test_assert_fixed_checks_bodies_of_every_kind() -> None:
    from amber.testing import assert_fixed

    js = _resp(200, b'{"status": "shipped", "n": 2, "extra": 1}', "application/json")
    assert_fixed(js, json={"status": "shipped", "n": 2})
    with pytest.raises(AssertionError, match="JSON fields differ"):
        assert_fixed(js, json={"status": "placed"})
    csv = _resp(200, b"id,total\n1,9.50\n2,3.00\n", "text/csv")
    assert_fixed(csv, rows=2, lines=3, contains="1,9.50", not_contains=["NaN", "None"])
    with pytest.raises(AssertionError, match="expected 3 CSV rows after the header, got 2"):
        assert_fixed(csv, rows=3)
    with pytest.raises(AssertionError, match="contains 'None'"):
        assert_fixed(_resp(200, b"<p>Total: None</p>", "text/html"), not_contains="None")
    with pytest.raises(AssertionError, match="does not contain"):
        assert_fixed(_resp(200, b"<p>Total</p>", "text/html"), contains=["Total: 9"])
    assert_fixed(csv, predicate=lambda r: r.text.endswith("\n"))
    with pytest.raises(AssertionError, match="predicate operator:not_ refused"):
        assert_fixed(csv, predicate="operator:not_")  # False for any response
    with pytest.raises(AssertionError, match="cannot import the predicate"):
        assert_fixed(csv, predicate="no_such_module_x:f")


def test_a_recording_passes_on_its_first_run_with_or_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded with the capture's key: the same build's response matches in sanitized
    space. Without the key, the pseudonymized fields cannot match: they are left out with
    a warning that names them, and the rest of the body is still compared."""
    body = {"id": 7, "email": "ann.smith@corp-mail.com", "name": "Ann Smith", "at": "2024-01-02"}
    snap = tmp_path / "__snapshots__" / "t.json"
    monkeypatch.setenv("AMBER_KEY", "the-capture-key-0123456789")
    monkeypatch.setenv(UPDATE_ENV, "1")
    assert_matches_recording(response(body), snap)
    monkeypatch.delenv(UPDATE_ENV)
    assert "ann.smith" not in snap.read_text()
    assert_matches_recording(response(body), snap)
    monkeypatch.delenv("AMBER_KEY")
    with pytest.warns(UserWarning, match=r"2 pseudonymized field\(s\).*\$\.email, \$\.name"):
        assert_matches_recording(response(body), snap)
    with pytest.raises(AssertionError, match=r"\$\.at"), pytest.warns(UserWarning):
        assert_matches_recording(response({**body, "at": "2025-01-01"}), snap)
