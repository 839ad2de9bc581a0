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
    return Pipeline(
        Sanitizer(SanitizeConfig(), Pseudonymizer(KEY)),
        Router(["/users/{user_id}/orders"]),
        ("X-Trace",),
        body_cap=body_cap,
    )


def test_decodes_caps_sanitizes_and_labels() -> None:
    secret = b'{"password": "hunter2", "pad": "' + b"a" * 4000 + b'"}'
    ex = make_exchange(
        3,
        body=gzip.compress(secret),
        resp_headers=(
            ("Content-Encoding", "gzip"),
            ("Content-Type", "application/json"),
            ("X-Trace", "t-123"),
        ),
    )
    ex.response.content_encoding = "gzip"  # type: ignore[union-attr]
    out = pipeline().process(ex)
    assert out.response is not None
    assert out.response.content_encoding == "gzip"
    # sanitized on a window past the cap, then cut to the cap (the run of `a` the cut
    # falls in is longer than a token prefix worth dropping)
    assert out.response.body_truncated and len(out.response.body) == 1024
    assert b"hunter2" not in out.response.body
    assert out.route == "/users/{user_id}/orders"
    assert out.request_id == "req-3"  # request headers first
    ex2 = dataclasses.replace(ex, request=dataclasses.replace(ex.request, headers=()))
    assert pipeline().process(ex2).request_id == "t-123"  # configured name, from the response


def test_undecodable_body_is_dropped_not_kept() -> None:
    ex = make_exchange(
        4, body=bytes(range(256)) * 4, resp_headers=(("Content-Encoding", "x-unknown"),)
    )
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


TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0" * 2  # a GitHub token, 44 characters


@pytest.mark.parametrize("encoded", [True, False])
@pytest.mark.parametrize(
    ("head", "tail", "ctype"),
    [('{"log": "', '"}', "application/json"), ("log line: ", "\n", "text/plain")],
)
def test_a_secret_cut_by_the_cap_leaves_no_prefix(
    encoded: bool, head: str, tail: str, ctype: str
) -> None:
    for into in (1, 4, 19, 43):  # the cap falls this many characters into the token
        body = head + "x" * (256 - into - 1 - len(head)) + " " + TOKEN + tail + "y" * 50
        ex = make_exchange(5, body=body.encode(), resp_headers=(("Content-Type", ctype),))
        out = pipeline(body_cap=256).process(ex, encoded=encoded)
        assert out.response is not None and out.response.body_truncated
        stored = out.response.body
        assert len(stored) <= 256 and b"ghp_" not in stored and b"Z9y8" not in stored
        assert stored.startswith((head + "x" * 20).encode())


def test_a_cut_inside_a_word_drops_only_that_word() -> None:
    body = b"word " * 100
    out = pipeline(body_cap=256).process(
        make_exchange(6, body=body, resp_headers=(("Content-Type", "text/plain"),)), encoded=False
    )
    assert out.response is not None and out.response.body == body[:255]  # the cut `w` dropped
    body = b"word " * 51 + b"end"
    out = pipeline(body_cap=256).process(
        make_exchange(7, body=body, resp_headers=(("Content-Type", "text/plain"),)), encoded=False
    )
    assert out.response is not None and out.response.body == body[:255]


def test_a_body_truncated_before_amber_loses_its_trailing_partial_token() -> None:
    ex = make_exchange(
        8, body=b"note: " + TOKEN[:19].encode(), resp_headers=(("Content-Type", "text/plain"),)
    )
    ex = dataclasses.replace(ex, response=dataclasses.replace(ex.response, body_truncated=True))
    out = pipeline().process(ex, encoded=False)
    assert out.response is not None and out.response.body == b"note: "
    whole = make_exchange(9, body=b"note: ok", resp_headers=(("Content-Type", "text/plain"),))
    kept = pipeline().process(whole, encoded=False).response
    assert kept is not None and kept.body == b"note: ok"  # not truncated: nothing dropped


@pytest.mark.parametrize("into", [1, 12, 19, 20, 21, 25, 40])
def test_a_cut_inside_or_after_a_marker_drops_the_word_around_it(into: int) -> None:
    # the password is masked, then the cap falls `into` characters into the URL: inside
    # the user, inside the marker or after it; no prefix of the URL survives either way
    url = "mysql://svc_user:hipO74OEGffyxcP8@10.0.3.7/shop"
    body = "x" * (256 - into - 1) + " " + url + "\n"
    ex = make_exchange(10, body=body.encode(), resp_headers=(("Content-Type", "text/plain"),))
    out = pipeline(body_cap=256).process(ex, encoded=False)
    assert out.response is not None
    assert out.response.body == b"x" * (256 - into - 1) + b" "
