"""Raw non-UTF-8 bytes (kept by `surrogateescape`) through amber's text helpers and the
HAR, JSONL and curl formats: written without error, read back as the same strings."""

from __future__ import annotations

import io
import json
import subprocess

import orjson
import pytest

from amber._exports import read_jsonl
from amber._exports import write_curl
from amber._exports import write_jsonl
from amber._har import read_har
from amber._har import write_har
from amber._model import Exchange
from amber._model import dumps_json
from amber._model import loads_json
from amber._model import printable
from amber._model import text_bytes
from tests.conftest import make_exchange
from tests.core.test_store_text import RAW
from tests.core.test_store_text import hostile


def test_printable_escapes_raw_bytes_nul_and_lone_surrogates_only() -> None:
    assert printable(RAW) == "/p/caf\\xe9"
    assert printable("a\x00b\ud800c\u00e9\u2603") == "a\\x00b\\ud800c\u00e9\u2603"
    plain = "/p/caf\\xe9 \u00e9"  # ordinary text, already reading like an escape
    assert printable(plain) is plain


def test_text_bytes_gives_back_the_captured_bytes() -> None:
    assert text_bytes(RAW) == b"/p/caf\xe9"
    assert text_bytes("\u00e9") == b"\xc3\xa9"
    assert text_bytes("\ud800") == b"\xed\xa0\x80"  # not from surrogateescape: surrogatepass


def test_json_keeps_lone_surrogates_and_ordinary_look_alikes_apart() -> None:
    doc = {"raw": RAW, "look": "/p/caf\\udce9", "n": [1, 2.5, None, True]}
    data = dumps_json(doc)
    assert data.isascii() and b"\\udce9" in data
    assert loads_json(data) == doc
    assert json.loads(data) == doc  # the standard library reads it too
    assert dumps_json({"a": 1}) == orjson.dumps({"a": 1})  # ordinary documents: orjson's
    assert dumps_json({"a": RAW}, indent=True, newline=True).endswith(b"}\n")
    with pytest.raises(TypeError):
        dumps_json({"a": {1}})
    with pytest.raises(ValueError):
        loads_json(b"{not json")


def test_jsonl_round_trips_raw_bytes() -> None:
    exchanges = [hostile(1), hostile(2)]
    buf = io.BytesIO()
    assert write_jsonl(exchanges, buf) == 2
    assert len(buf.getvalue().splitlines()) == 2
    assert list(read_jsonl(io.BytesIO(buf.getvalue()))) == exchanges


def test_har_round_trips_raw_bytes_and_percent_encodes_them_in_the_url() -> None:
    ex = hostile(1)
    buf = io.BytesIO()
    write_har([ex], buf, creator_version="test")
    entry = json.loads(buf.getvalue())["log"]["entries"][0]
    # the target is percent-encoded byte for byte; the host is kept as it is
    assert entry["request"]["url"] == "http://h\udce9st.internal:8000/p/caf%E9?q=%FF&x=1"
    assert entry["request"]["_amber_target"] == RAW + "?q=\udcff&x=1"
    assert list(read_har(io.BytesIO(buf.getvalue()))) == [ex]


def _words(command: str) -> list[bytes]:
    """The arguments bash gives a command line (one NUL-terminated word each)."""
    out = subprocess.run(
        ["bash", "-c", "printf '%s\\0' " + command], capture_output=True, check=True, timeout=60
    ).stdout
    return out.split(b"\0")[:-1]


def test_curl_sends_the_captured_bytes() -> None:
    ex = hostile(1)
    ex.request.method = "PR\udcc9VIEW"  # sent with -X
    ex.request.headers = (("X-B\udce9", "v\udce9l"),)
    buf = io.BytesIO()
    write_curl([ex], buf, base_url="http://localhost:9")
    script = buf.getvalue()
    assert script.isascii()
    command = script.decode().split("\ncurl", 1)[1].replace("\\\n", " ")
    words = _words(command)
    assert words[words.index(b"-X") + 1] == b"PR\xc9VIEW"
    assert words[words.index(b"-H") + 1] == b"X-B\xe9: v\xe9l"
    assert words[-1] == b"http://localhost:9/p/caf\xe9?q=\xff&x=1"
    assert b"# amber " + ex.id.encode() + b" request_id=rid-\\xe9" in script


def test_an_exported_file_of_plain_exchanges_is_unchanged() -> None:
    """Ordinary exchanges keep orjson's output byte for byte."""
    ex = make_exchange(1)
    buf = io.BytesIO()
    write_jsonl([ex], buf)
    assert buf.getvalue() == orjson.dumps(ex.to_dict()) + b"\n"
    assert Exchange.from_dict(orjson.loads(buf.getvalue())) == ex
