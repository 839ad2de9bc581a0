from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import pytest

from amber._config import Config
from amber._config import load_config
from amber._ingest import Pipeline
from amber._pseudonym import Pseudonymizer
from amber._routes import Router
from amber.errors import ConfigError
from amber.sanitize import SanitizeConfig
from amber.sanitize import Sanitizer
from tests.conftest import make_exchange

KEY = b"pipeline-test-key-0123456789"


def pipeline(body_cap: int = 1024) -> Pipeline:
    return Pipeline(Sanitizer(SanitizeConfig(), Pseudonymizer(KEY)),
                    Router(["/users/{user_id}/orders"]), ("X-Trace",), body_cap=body_cap)


def test_decodes_caps_sanitizes_and_labels() -> None:
    secret = b'{"password": "hunter2", "pad": "' + b"a" * 4000 + b'"}'
    ex = make_exchange(3, body=gzip.compress(secret),
                       resp_headers=(("Content-Encoding", "gzip"),
                                     ("Content-Type", "application/json"),
                                     ("X-Trace", "t-123")))
    ex.response.content_encoding = "gzip"  # type: ignore[union-attr]
    out = pipeline().process(ex)
    assert out.response is not None
    assert out.response.content_encoding == "gzip"
    # capped at 1024 decoded bytes before sanitizing (markers may lengthen it a little)
    assert out.response.body_truncated and 1024 <= len(out.response.body) < 1100
    assert b"hunter2" not in out.response.body
    assert out.route == "/users/{user_id}/orders"
    assert out.request_id == "req-3"  # request headers first
    ex2 = dataclasses.replace(ex, request=dataclasses.replace(ex.request, headers=()))
    assert pipeline().process(ex2).request_id == "t-123"  # configured name, from the response


def test_undecodable_body_is_dropped_not_kept() -> None:
    ex = make_exchange(4, body=bytes(range(256)) * 4,
                       resp_headers=(("Content-Encoding", "x-unknown"),))
    ex.response.content_encoding = "x-unknown"  # type: ignore[union-attr]
    out = pipeline(body_cap=0).process(ex)
    assert out.response is not None and out.response.body == b""
    assert any(r.rule == "undecodable-body" for r in out.redactions)
    assert pipeline().counters.undecodable == 0  # counters are per pipeline


def test_from_config_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "amber.yaml"
    p.write_text("capture:\n  max_body_size: lots\n")
    with pytest.raises(ConfigError, match=r"amber.yaml:2: capture.max_body_size"):
        Pipeline.from_config(load_config(p), KEY)
    assert Pipeline.from_config(Config(), KEY).body_cap == 1024 * 1024
