from __future__ import annotations

import re
from pathlib import Path

import pytest

import amber.errors
import amber.fixtures
import amber.replay
from amber.cli import main
from amber.errors import AmberError


def _documented_tree() -> dict[str, tuple[str, str | None]]:
    """From the module docstring's tree: name -> (parent, extra base such as ValueError)."""
    doc = amber.errors.__doc__ or ""
    block = doc.split("```")[1]
    parents: list[str] = []
    out: dict[str, tuple[str, str | None]] = {}
    for line in block.strip().splitlines()[1:]:
        m = re.match(r"^([│ ]*)[├└]── (\w+)(?:\((\w+)\))?", line)
        assert m, line
        depth = len(m.group(1)) // 4
        parents[depth:] = [m.group(2)]
        out[m.group(2)] = (parents[depth - 1] if depth else "AmberError", m.group(3))
    return out


def test_the_docstring_tree_is_the_class_tree() -> None:
    tree = _documented_tree()
    assert set(tree) | {"AmberError"} == set(amber.errors.__all__)
    for name, (parent, extra) in tree.items():
        cls = getattr(amber.errors, name)
        bases = [b.__name__ for b in cls.__bases__]
        assert bases == [parent] + ([extra] if extra else []), name


def test_features_export_the_core_classes() -> None:
    for name in (
        "FixtureError",
        "SourceUnavailable",
        "ClosureTooLarge",
        "DanglingReference",
        "CycleError",
        "FixtureFormatError",
    ):
        assert getattr(amber.fixtures, name) is getattr(amber.errors, name)
    assert amber.replay.AuthError is amber.errors.AuthError
    assert amber.replay.TargetUnreachable is amber.errors.TargetUnreachable


@pytest.mark.parametrize(
    ("error", "status", "prefix"),
    [
        (amber.errors.UsageError("--limit must be 0 (all) or more"), 2, "amber ls: error: "),
        (
            amber.errors.CycleError("cycle a -> b -> a; make one column nullable"),
            1,
            "amber ls: error: ",
        ),
        (
            amber.errors.AuthError("login answered 403; check replay.auth.login"),
            1,
            "amber ls: error: ",
        ),
        (
            amber.errors.TargetUnreachable("target http://x is unreachable; check --target"),
            3,
            "amber ls: error: ",
        ),
    ],
)
def test_the_cli_prints_each_error_on_one_line(
    error: AmberError,
    status: int,
    prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(*_: object, **__: object) -> None:
        raise error

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AMBER_CONFIG", raising=False)
    monkeypatch.setattr("amber.cli._common.Store.open", fail)
    assert main(["ls"]) == status
    assert capsys.readouterr().err == f"{prefix}{error}\n"
