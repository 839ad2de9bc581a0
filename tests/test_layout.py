"""The package layout: one `amber` namespace, the dependency rule, every module shipped, tests
mirror sources.

The dependency rule (docs/architecture.md):

    amber.cli                                  composition root: flags in, use case, output
      ^
    amber.testing                              the runtime of generated tests, test generation
      ^
    amber.capture   amber.replay   amber.fixtures    features: never import each other
      ^
    amber (core)                               model, store, config, errors, sanitize, ingest

A module imports only from its own layer or below, features not from each other, and a
package's private modules (`amber.replay._runner`) or private names (`from amber.replay
import _x`) only from inside that package. The core's private modules are amber's shared
kernel: every layer may use them. Imports inside functions count like any other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# source folder -> the package it installs as
SOURCES = {
    "amber": "amber",
    "capture": "amber.capture",
    "replay": "amber.replay",
    "fixtures": "amber.fixtures",
    "testing": "amber.testing",
}
TEST_DIR = {
    "amber": "core",
    "capture": "capture",
    "replay": "replay",
    "fixtures": "fixtures",
    "testing": "testing",
}
FEATURES = ("amber.capture", "amber.replay", "amber.fixtures")
# layer name -> rank; a module may import a lower rank, or its own package at the same rank
RANK = {"core": 0, **{f: 1 for f in FEATURES}, "amber.testing": 2, "amber.cli": 3}


def source_modules(root: Path = ROOT) -> list[tuple[str, Path]]:
    """Every source module under `root` with the dotted name it is installed as."""
    out = []
    for folder, package in SOURCES.items():
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root / folder)
            mod = ".".join((package, *rel.with_suffix("").parts)).removesuffix(".__init__")
            out.append((mod, path))
    return out


def layer_of(module: str) -> str:
    """`core`, a feature package, `amber.testing` or `amber.cli` (`python -m amber` is the
    CLI's entry)."""
    if module == "amber.__main__" or module == "amber.cli" or module.startswith("amber.cli."):
        return "amber.cli"
    for package in (*FEATURES, "amber.testing"):
        if module == package or module.startswith(package + "."):
            return package
    return "core"


def _private_owner(module: str) -> str | None:
    """The package that owns `module` when it is (inside) a private module of a layer
    package, e.g. `amber.replay._runner` -> `amber.replay`; None for public modules and for
    the core's private modules."""
    parts = module.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            owner = ".".join(parts[:i])
            return None if owner == "amber" or layer_of(owner) == "core" else owner
    return None


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str  # what is imported (absolute)
    names: tuple[str, ...]  # for `from X import a, b`
    text: str


def _imports(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):  # every import, function-level and TYPE_CHECKING ones too
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append(Import(path, node.lineno, alias.name, (), ast.unparse(node)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names = tuple(a.name for a in node.names)
            if node.module is None or node.level:
                # `from . import _x` / `from .pkg import y`: names may be modules
                for name in names:
                    out.append(Import(path, node.lineno, f"{target}.{name}", (), ast.unparse(node)))
            out.append(Import(path, node.lineno, target, names, ast.unparse(node)))
    return [i for i in out if i.module == "amber" or i.module.startswith("amber.")]


def _break(importer: str, imp: Import) -> str | None:
    """Why `importer` may not make this import, or None."""
    mine, theirs = layer_of(importer), layer_of(imp.module)
    if RANK[theirs] > RANK[mine]:
        return f"{mine} imports {theirs}, a layer above it"
    if RANK[theirs] == RANK[mine] and theirs != mine:
        return f"{mine} imports {theirs}: features never import each other"
    owner = _private_owner(imp.module)
    if owner is not None and not (importer == owner or importer.startswith(owner + ".")):
        return f"private module of {owner} imported from outside it"
    if theirs != "core" and theirs != mine:
        private = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
        if private:
            return f"private name {', '.join(private)} of {imp.module} imported from outside it"
    return None


def layering_breaks(root: Path = ROOT) -> list[str]:
    """Every import under `root` that breaks the dependency rule, as `file:line: import
    (why)`."""
    found = []
    for module, path in source_modules(root):
        for imp in _imports(module, path):
            why = _break(module, imp)
            if why:
                found.append(f"{path.relative_to(root)}:{imp.line}: {imp.text}  ({why})")
    return sorted(set(found))


def test_the_dependency_rule_holds() -> None:
    breaks = layering_breaks()
    assert not breaks, "imports that break the layering (docs/architecture.md):\n" + "\n".join(
        breaks
    )


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    for folder in SOURCES:
        (tmp_path / folder).mkdir(exist_ok=True)
    return tmp_path


def test_a_planted_break_is_found_with_file_line_and_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "amber/_store.py": "def f():\n    from amber.testing import AppClient\n",
            "amber/_ok.py": "from amber.sanitize._keys import KeyClassifier\n",
            "replay/_runner.py": (
                "from amber._model import Exchange\ndef f():\n    import amber.capture\n"
            ),
            "fixtures/_extract.py": "from amber.replay._noise import NoiseRules\n",
            "fixtures/_ok.py": "from . import _extract\nfrom ._extract import x\n",
            "testing/_plugin.py": (
                "from amber.replay import Auth\n"
                "from amber.replay import _Feed\n"
                "from amber.fixtures._loader import load\n"
            ),
            "capture/addon.py": "from ..replay import _runner\n",
            "amber/cli/_replay.py": "from amber.replay._runner import Replayer\n",
        },
    )
    assert layering_breaks(root) == [
        "amber/_store.py:2: from amber.testing import AppClient  "
        "(core imports amber.testing, a layer above it)",
        "amber/cli/_replay.py:1: from amber.replay._runner import Replayer  "
        "(private module of amber.replay imported from outside it)",
        "capture/addon.py:1: from ..replay import _runner  "
        "(amber.capture imports amber.replay: features never import each other)",
        "fixtures/_extract.py:1: from amber.replay._noise import NoiseRules  "
        "(amber.fixtures imports amber.replay: features never import each other)",
        "replay/_runner.py:3: import amber.capture  "
        "(amber.replay imports amber.capture: features never import each other)",
        "testing/_plugin.py:2: from amber.replay import _Feed  "
        "(private name _Feed of amber.replay imported from outside it)",
        "testing/_plugin.py:3: from amber.fixtures._loader import load  "
        "(private module of amber.fixtures imported from outside it)",
    ]


def test_every_module_imports_from_the_installed_namespace() -> None:
    import importlib

    for mod, _ in source_modules():
        if mod.endswith(("mitmproxy_entry", "__main__")):
            continue
        importlib.import_module(mod)


def test_no_top_level_capture_replay_fixtures_installed() -> None:
    code = (
        "import importlib.util as u; "
        "print([n for n in ('capture', 'replay', 'fixtures', 'testing') if u.find_spec(n)])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_tests_mirror_sources() -> None:
    """Each non-trivial private module `x/_name.py` has `tests/<area>/test_name.py` (or a
    test directory of that name), like mitmproxy's filename_matching check."""
    missing = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("_*.py")):
            if path.name == "__init__.py" or path.name == "__main__.py":
                continue
            rel = path.relative_to(ROOT / folder)
            if len(path.read_text().splitlines()) < 40:
                continue
            stem = path.stem.lstrip("_")
            test_dir = ROOT / "tests" / TEST_DIR[folder] / Path(*rel.parts[:-1])
            candidates = [test_dir / f"test_{stem}.py", test_dir / stem]
            if not any(c.exists() for c in candidates):
                missing.append(f"{path.relative_to(ROOT)} -> {candidates[0].relative_to(ROOT)}")
    assert not missing, "modules without a mirrored test file:\n" + "\n".join(missing)


def test_long_modules_say_why() -> None:
    """A module over 600 lines states in its docstring why it is one module."""
    long = []
    for _, path in source_modules():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if lines > 600 and "One module because" not in doc:
            long.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert not long, (
        "modules over 600 lines without a 'One module because ...' reason in their "
        "docstring:\n" + "\n".join(long)
    )


def test_the_architecture_page_names_every_module_and_only_real_ones() -> None:
    import re

    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:amber|capture|replay|fixtures|testing)/[\w/]+\.py)`", doc))
    real = {str(path.relative_to(ROOT)) for _, path in source_modules()}
    assert not real - named, f"docs/architecture.md does not name: {sorted(real - named)}"
    assert not named - real, f"docs/architecture.md names missing modules: {sorted(named - real)}"


@pytest.mark.slow
def test_wheel_contains_every_module(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("amber-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for mod, path in source_modules():
        expected = mod.replace(".", "/") + (".py" if path.name != "__init__.py" else "/__init__.py")
        assert expected in names, f"{path} is missing from the wheel as {expected}"
    assert "amber/py.typed" in names
    assert not any(n.startswith(("capture/", "replay/", "fixtures/", "testing/")) for n in names)
