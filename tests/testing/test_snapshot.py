"""The snapshot format: versioned, read back as written, older files still read, newer refused."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from amber.testing import SNAPSHOT_VERSION
from amber.testing import load_snapshot
from amber.testing import snapshot_body
from amber.testing._snapshot import dumps_snapshot
from amber.testing._snapshot import make_snapshot
from amber.testing._snapshot import snapshot_from_response
from amber.testing._snapshot import snapshot_model
from amber.testing._snapshot import write_snapshot


def test_bodies_keep_json_text_or_base64() -> None:
    assert snapshot_body(b'{"a": [1, 2]}') == {"json": {"a": [1, 2]}}
    assert snapshot_body(b"plain \xc3\xa9") == {"text": "plain é"}
    assert snapshot_body(b"\xff\x00") == {"base64": "/wA="}
    assert snapshot_body(b"") == {"text": ""}


def test_a_written_snapshot_carries_its_version_and_reads_back(tmp_path: Path) -> None:
    response = httpx.Response(
        201, headers={"content-type": "application/json"}, content=b'{"id": 7, "name": "Ada"}'
    )
    path = tmp_path / "__snapshots__" / "t.json"
    write_snapshot(path, snapshot_from_response(response))
    text = path.read_text()
    assert json.loads(text)["version"] == SNAPSHOT_VERSION == 1
    assert text == dumps_snapshot(json.loads(text))  # stable: sorted keys, indented
    loaded = load_snapshot(path)
    model = snapshot_model(loaded)
    assert model.status == 201
    assert json.loads(model.body) == {"id": 7, "name": "Ada"}
    assert dict(model.headers) == {"content-type": "application/json"}


def test_files_from_before_the_version_field_still_read(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps(
            {"status": 200, "headers": {"content-type": "text/plain"}, "body": {"text": "ok"}}
        )
    )
    assert snapshot_model(load_snapshot(path)).body == b"ok"


def test_a_newer_format_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    path.write_text(json.dumps({**make_snapshot(200, "", b""), "version": SNAPSHOT_VERSION + 1}))
    with pytest.raises(AssertionError, match="upgrade amber"):
        load_snapshot(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "not an amber snapshot"),
        ('{"body": {}}', "not an amber snapshot"),
    ],
)
def test_damaged_files_say_how_to_re_record(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(AssertionError, match=message) as info:
        load_snapshot(path)
    assert "--amber-update" in str(info.value)


def test_a_missing_snapshot_says_how_to_record(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="--amber-update"):
        load_snapshot(tmp_path / "absent.json")
