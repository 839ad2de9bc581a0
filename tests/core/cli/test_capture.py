from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from amber.cli import build_parser
from amber.cli._capture import entry_file
from amber.cli._capture import mitmdump_args
from amber.cli._capture import proxy_args
from amber.cli._capture import startup_error
from amber.cli._common import UsageError
from tests.core.cli.conftest import Run


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["capture", *argv])


def test_reverse_mode_keeps_host_and_never_logs_flows() -> None:
    args = mitmdump_args(
        parse(
            "--upstream",
            "http://127.0.0.1:8000",
            "--listen",
            "0.0.0.0:9090",
            "--store",
            "sqlite:///s.db",
            "--sample-rate",
            "0.1",
        )
    )
    assert args[:2] == ["-s", entry_file()]
    assert "reverse:http://127.0.0.1:8000" in args
    assert "keep_host_header=true" in args and "flow_detail=0" in args
    assert ["--listen-host", "0.0.0.0", "--listen-port", "9090"] == args[2:6]
    assert "amber_store=sqlite:///s.db" in args and "amber_sample_rate=0.1" in args


def test_modes_and_errors() -> None:
    assert "regular" in mitmdump_args(parse("--mode", "regular"))
    assert "upstream:http://proxy:3128" in mitmdump_args(
        parse("--mode", "upstream:http://proxy:3128")
    )
    for bad in (
        parse(),
        parse("--mode", "socks5"),
        parse("--upstream", "localhost:8000"),
        parse("--upstream", "http://x", "--mode", "regular"),
        parse("--upstream", "http://x", "--listen", "nope"),
    ):
        with pytest.raises(UsageError):
            mitmdump_args(bad)


def test_entry_file_is_a_loadable_mitmproxy_script() -> None:
    from mitmproxy.test import taddons

    from amber.capture.addon import CaptureAddon

    assert Path(entry_file()).is_file()
    with taddons.context() as tctx:
        script = tctx.script(entry_file())
        assert any(isinstance(a, CaptureAddon) for a in script.addons)
    tctx.master.event_loop.close()


def test_addon_path_prints_it(amber: Run) -> None:
    code, out, _ = amber("addon-path")
    assert code == 0 and out.strip() == entry_file()


def test_capture_without_key_fails_before_listening(
    env: Path, amber: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AMBER_KEY")
    code, _, err = amber("capture", "--upstream", "http://127.0.0.1:9")
    assert code == 1 and "AMBER_KEY" in err and "secrets.token_hex" in err


def sets(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]


def test_every_amber_option_has_a_flag() -> None:
    from mitmproxy.test import taddons

    from amber.capture.addon import CaptureAddon

    with taddons.context(CaptureAddon()) as tctx:
        options = {k for k in tctx.options.keys() if k.startswith("amber_")}  # noqa: SIM118
    tctx.master.event_loop.close()
    flags = parse(
        "--upstream",
        "http://x",
        "--store",
        "sqlite:///s.db",
        "--config",
        "a.yaml",
        "--filter",
        "~d x",
        "--include-path",
        "/a",
        "--exclude-path",
        "/b",
        "--include-host",
        "h",
        "--exclude-host",
        "i",
        "--method",
        "GET",
        "--content-type",
        "text/",
        "--sample-rate",
        "0.3",
        "--sample-key",
        "header:X-U",
        "--always-header",
        "X-K",
        "--max-body-size",
        "10",
        "--queue-size",
        "5",
        "--queue-bytes",
        "4096",
        "--writer",
        "thread",
        "--status-file",
        "s.prom",
        "--status-interval",
        "30",
    )
    given = {spec.partition("=")[0] for spec in sets(proxy_args(flags))}
    assert options <= given


def test_flags_become_set_options_and_repeat() -> None:
    argv = proxy_args(
        parse(
            "--upstream",
            "http://x",
            "--sample-rate",
            "0.3",
            "--exclude-path",
            "/health",
            "--exclude-path",
            "/metrics",
            "--method",
            "GET",
            "--set",
            "amber_queue_size=5",
        )
    )
    assert {
        "amber_sample_rate=0.3",
        "amber_exclude_paths=/health",
        "amber_exclude_paths=/metrics",
        "amber_methods=GET",
        "amber_queue_size=5",
    } <= set(sets(argv))


def test_an_option_given_by_its_flag_and_by_set_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="amber_sample_rate is given by its flag and by --set"):
        proxy_args(
            parse(
                "--upstream", "http://x", "--sample-rate", "0.3", "--set", "amber_sample_rate=0.5"
            )
        )
    with pytest.raises(UsageError, match="amber_store"):
        proxy_args(
            parse(
                "--upstream",
                "http://x",
                "--store",
                "sqlite:///a.db",
                "--set",
                "amber_store=sqlite:///b.db",
            )
        )


def test_capture_checks_amber_yaml_before_starting_the_proxy(env: Path, amber: Run) -> None:
    (env / "amber.yaml").write_text("capture:\n  sample_rat: 0.3\n")
    code, _, err = amber(
        "capture", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:1"
    )  # a port it could not bind: it never gets there
    assert code == 1
    assert "amber.yaml:2: capture.sample_rat: unknown key; did you mean 'sample_rate'?" in err
    assert len(err.strip().splitlines()) == 1


def test_start_up_errors_are_one_line_saying_what_to_do() -> None:
    # mitmproxy 11 and 12 word a taken address this way
    taken = (
        "[Errno 98] reverse proxy to http://127.0.0.1:9 failed to listen on "
        "127.0.0.1:8080 with [Errno 98] error while attempting to bind on address "
        "('127.0.0.1', 8080): address already in use\nTry specifying a different port by "
        "using `--mode reverse:http://127.0.0.1:9@8082`."
    )
    assert startup_error(taken) == (
        "reverse proxy to http://127.0.0.1:9 failed to listen on 127.0.0.1:8080 with [Errno 98] "
        "error while attempting to bind on address ('127.0.0.1', 8080): address already in "
        "use; stop what holds it or choose another address with --listen HOST:PORT"
    )
    assert startup_error("amber: cannot record: cannot open store sqlite:///x.db: denied") == (
        "cannot record: cannot open store sqlite:///x.db: denied"
    )
    assert startup_error("") == "unknown error"
