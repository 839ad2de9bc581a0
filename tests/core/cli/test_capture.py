from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from amber.cli import build_parser
from amber.cli._capture import entry_file
from amber.cli._capture import mitmdump_args
from amber.cli._common import UsageError
from tests.core.cli.conftest import Run


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["capture", *argv])


def test_reverse_mode_keeps_host_and_never_logs_flows() -> None:
    args = mitmdump_args(parse("--upstream", "http://127.0.0.1:8000", "--listen", "0.0.0.0:9090",
                               "--store", "sqlite:///s.db", "--sample-rate", "0.1"))
    assert args[:2] == ["-s", entry_file()]
    assert "reverse:http://127.0.0.1:8000" in args
    assert "keep_host_header=true" in args and "flow_detail=0" in args
    assert ["--listen-host", "0.0.0.0", "--listen-port", "9090"] == args[2:6]
    assert "amber_store=sqlite:///s.db" in args and "amber_sample_rate=0.1" in args


def test_modes_and_errors() -> None:
    assert "regular" in mitmdump_args(parse("--mode", "regular"))
    assert "upstream:http://proxy:3128" in mitmdump_args(parse("--mode", "upstream:http://proxy:3128"))
    for bad in (parse(), parse("--mode", "socks5"), parse("--upstream", "localhost:8000"),
                parse("--upstream", "http://x", "--mode", "regular"),
                parse("--upstream", "http://x", "--listen", "nope")):
        with pytest.raises(UsageError):
            mitmdump_args(bad)


def test_entry_file_is_a_loadable_mitmproxy_script() -> None:
    from mitmproxy.test import taddons

    from amber.capture.addon import CaptureAddon

    assert Path(entry_file()).is_file()
    with taddons.context() as tctx:
        script = tctx.script(entry_file())
        assert any(isinstance(a, CaptureAddon) for a in script.addons)


def test_addon_path_prints_it(amber: Run) -> None:
    code, out, _ = amber("addon-path")
    assert code == 0 and out.strip() == entry_file()


def test_capture_without_key_fails_before_listening(env: Path, amber: Run,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMBER_KEY")
    code, _, err = amber("capture", "--upstream", "http://127.0.0.1:9")
    assert code == 1 and "AMBER_KEY" in err and "secrets.token_hex" in err
