"""Targets from amber.yaml and the rules of those labelled production."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amber._config import Config
from amber._model import Exchange
from amber._model import Request
from amber.errors import ConfigError
from amber.errors import UsageError
from amber.replay._runner import Target
from amber.replay._targets import SAFE_METHODS
from amber.replay._targets import UNSAFE_METHODS
from amber.replay._targets import Safety
from amber.replay._targets import count_writes
from amber.replay._targets import effective_method
from amber.replay._targets import guard_targets
from amber.replay._targets import is_write
from amber.replay._targets import resolve_target
from amber.replay._targets import unsafe_methods

CONFIG = Config(
    data={
        "replay": {"timeout": 5, "unsafe_methods": ["purge"]},
        "targets": {
            "prod": {"url": "https://api.example.com", "label": "production", "rate": 2},
            "odd": {"url": "http://x", "rate": "fast"},
        },
    }
)


def test_named_targets_and_urls() -> None:
    prod = resolve_target(CONFIG, "prod", verify=False)
    assert (prod.url, prod.name, prod.label, prod.rate, prod.timeout, prod.verify) == (
        "https://api.example.com",
        "prod",
        "production",
        2.0,
        5.0,
        False,
    )
    warned: list[str] = []
    assert resolve_target(CONFIG, "http://127.0.0.1:9/v2", warn=warned.append).timeout == 5.0
    assert not warned
    remote = resolve_target(CONFIG, "https://u:pw@staging:8443", timeout=1.0, warn=warned.append)
    assert remote.timeout == 1.0 and remote.label is None
    assert warned == [
        "warning: https://u:pw@staging:8443 is an unlabelled target; name it in "
        "amber.yaml (targets:) to get its safety rules"
    ]
    assert resolve_target(Config(), "http://127.0.0.1:9").timeout == 30.0


def test_unknown_and_malformed_targets() -> None:
    with pytest.raises(UsageError, match=r"unknown target 'stage': .* \(odd, prod\)"):
        resolve_target(CONFIG, "stage")
    with pytest.raises(ConfigError, match="targets.odd.rate"):
        resolve_target(CONFIG, "odd")


def test_unsafe_methods_add_the_configured_ones() -> None:
    assert unsafe_methods(CONFIG) == UNSAFE_METHODS  # PURGE is among them already
    assert {"POST", "PUT", "PATCH", "DELETE", "PURGE", "MKCOL"} <= set(UNSAFE_METHODS)
    assert not SAFE_METHODS & set(UNSAFE_METHODS)
    extra = Config(data={"replay": {"unsafe_methods": ["frobnicate"]}})
    assert unsafe_methods(extra) == (*UNSAFE_METHODS, "FROBNICATE")
    with pytest.raises(ConfigError, match="replay.unsafe_methods"):
        unsafe_methods(Config(data={"replay": {"unsafe_methods": "PURGE"}}))


PROD = Target("https://api.example.com", name="prod", label="production", rate=2.0)


def guard(
    safety: Safety,
    *,
    unsafe: int = 0,
    rate: float | None = None,
    targets: tuple[Target | None, ...] = (PROD,),
) -> tuple[float | None, list[str]]:
    said: list[str] = []
    got = guard_targets(
        targets, safety, rate=rate, count_unsafe=lambda methods: unsafe, notify=said.append
    )
    return got, said


def test_production_needs_a_reason_and_confirmed_writes() -> None:
    with pytest.raises(UsageError, match="'prod' is labelled production: say why with --reason"):
        guard(Safety())
    with pytest.raises(
        UsageError, match="refusing to send 3 writes .* --allow-writes --confirm prod"
    ):
        guard(Safety(reason="INC-1"), unsafe=3)
    with pytest.raises(UsageError, match="--confirm prod"):
        guard(Safety(reason="INC-1", allow_writes=True, confirm="staging"), unsafe=3)
    assert guard(Safety(reason="INC-1", allow_writes=True, confirm="prod"), unsafe=3)[0] == 2.0


def test_reads_are_slowed_down_unless_a_rate_is_given() -> None:
    assert guard(Safety(reason="x")) == (
        2.0,
        ["reads against production target 'prod' are limited to 2 requests/s (--rate to change)"],
    )
    assert guard(Safety(reason="x"), rate=50.0) == (50.0, [])
    unrated = Target("https://api", label="production")
    assert guard(Safety(reason="x"), targets=(unrated,))[0] == 10.0
    # other labels, and absent targets (no second baseline), have no rules
    assert guard(Safety(), targets=(Target("http://x", label="staging"), None)) == (None, [])


def test_safety_audits_the_run_only_where_asked(tmp_path: Path) -> None:
    Safety(reason="why").audit("replay", "http://x", sent=1)  # no log: nothing written
    log = tmp_path / "audit.jsonl"
    Safety(reason="why", audit_log=log, argv=("amber", "replay", "--token", "s3cret")).audit(
        "replay", "http://x", run="R", sent=1
    )
    entry = json.loads(log.read_text())
    assert (entry["command"], entry["target"], entry["reason"], entry["run"], entry["sent"]) == (
        "replay",
        "http://x",
        "why",
        "R",
        1,
    )
    assert entry["argv"] == ["amber", "replay", "--token", "***"]


def test_a_url_equal_to_a_named_targets_is_that_target() -> None:
    said: list[str] = []
    for url in (
        "https://api.example.com",
        "https://API.example.com:443/",
        "https://ci:pw@api.example.com",
    ):
        t = resolve_target(CONFIG, url, warn=said.append)
        assert (t.name, t.label, t.rate, t.url) == (
            "prod",
            "production",
            2.0,
            "https://api.example.com",
        ), url
    assert said[0] == "https://api.example.com is target 'prod' in amber.yaml: its rules apply"
    # another port, scheme or path is another place
    for url in (
        "https://api.example.com:8443",
        "http://api.example.com",
        "https://api.example.com/v2",
    ):
        assert resolve_target(CONFIG, url).label is None, url
    # so the production rules apply to the URL as to the name
    with pytest.raises(UsageError, match="'prod' is labelled production"):
        guard(Safety(), targets=(resolve_target(CONFIG, "https://api.example.com/"),))


def req(method: str, query: str = "", body: bytes = b"", **headers: str) -> Request:
    return Request(
        method,
        "https",
        "api",
        443,
        "/x",
        query,
        headers=tuple((k.replace("_", "-"), v) for k, v in headers.items()),
        body=body,
    )


def test_writes_are_what_is_sent_not_what_is_typed() -> None:
    for method in ("GET", "head", "OPTIONS", "TRACE"):
        assert not is_write(req(method)), method
    for method in ("POST", "PURGE", "MKCOL", "PROPFIND", "FROBNICATE", "patch"):
        assert is_write(req(method)), method
    assert is_write(req("GET", X_HTTP_Method_Override="DELETE"))
    assert is_write(req("GET", x_method_override="put"))
    assert is_write(req("GET", X_HTTP_Method="PURGE"))
    assert is_write(req("GET", "a=1&_method=DELETE"))
    assert is_write(req("POST", body=b"_method=GET&x=1"))  # a POST is a write either way
    assert effective_method(req("POST", body=b"name=a&_method=delete")) == "DELETE"
    assert not is_write(req("GET", X_HTTP_Method_Override="GET"))
    assert not is_write(req("GET", "method=DELETE&x_method=PUT"))
    assert is_write(req("GET"), ("GET",))  # replay.unsafe_methods may add any method
    exchanges = [
        Exchange(id=str(i), request=r)
        for i, r in enumerate(
            [req("GET"), req("PURGE"), req("GET", X_HTTP_Method_Override="DELETE"), req("HEAD")]
        )
    ]
    assert count_writes(exchanges) == 2


def test_guards_count_writes_as_sent_and_audit_refusals(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    safety = Safety(
        reason="INC-7",
        audit_log=log,
        argv=("amber", "shadow", "--baseline", "prod"),
        command="shadow",
    )
    # by-name counting saw nothing, but an override makes a read a write
    with pytest.raises(UsageError, match="refusing to send 1 writes"):
        guard_targets(
            [PROD],
            safety,
            rate=None,
            count_unsafe=lambda methods: 0,
            count_writes=lambda methods: 1,
            notify=print,
        )
    with pytest.raises(UsageError, match="say why with --reason"):
        guard_targets(
            [PROD],
            Safety(audit_log=log, argv=("amber", "replay", "--target", "prod")),
            rate=None,
            count_unsafe=lambda methods: 0,
            notify=print,
        )
    first, second = (json.loads(x) for x in log.read_text().splitlines())
    assert (first["command"], first["target"], first["reason"], first["sent"]) == (
        "shadow",
        "prod",
        "INC-7",
        0,
    )
    assert first["writes"] == 1 and "refusing to send 1 writes" in first["refused"]
    assert second["command"] == "replay" and "--reason" in second["refused"]
    assert second["reason"] is None and second["argv"] == ["amber", "replay", "--target", "prod"]
