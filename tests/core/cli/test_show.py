from __future__ import annotations

import hashlib
import json
from pathlib import Path

from amber._model import Response
from amber._store import Store
from amber.cli._show import render_body
from tests.conftest import make_exchange
from tests.core.cli.conftest import Run


def test_bodies_by_content_type() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    out = render_body(Response(200, headers=(("content-type", "image/png"),), body=png))
    assert "binary body: 208 bytes" in out and hashlib.sha256(png).hexdigest() in out
    out = render_body(
        Response(200, headers=(("content-type", "application/json"),), body=b'{"a":{"b":1}}')
    )
    assert out == '{\n  "a": {\n    "b": 1\n  }\n}'
    form = Response(
        200,
        headers=(("content-type", "application/x-www-form-urlencoded"),),
        body=b"a=1&b=two+words",
    )
    assert render_body(form) == "a = 1\nb = two words"
    big = Response(200, headers=(("content-type", "text/plain"),), body=b"x" * 100_000)
    assert "use --full" in render_body(big) and len(render_body(big, full=True)) == 100_000


def test_show_by_id_prefix_request_id_and_json(env: Path, amber: Run) -> None:
    ex = make_exchange(7, status=503, request_id="trace-7")
    retry = make_exchange(8, status=200, request_id="trace-7")
    with Store.open(f"sqlite:///{env / 'store.db'}") as s:
        s.add_many([ex, retry])
    code, out, err = amber("show", "trace-7")
    assert code == 0 and retry.id in out and "2 exchanges carry" in err and ex.id in err
    code, out, _ = amber("show", ex.id[:10])
    assert ex.id in out and "503" in out
    code, out, _ = amber("show", ex.id, "--json")
    assert json.loads(out)["response"]["status"] == 503
