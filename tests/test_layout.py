"""The package layout: one `amber` namespace, every module shipped, tests mirror sources."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {"amber": "amber", "capture": "amber.capture", "replay": "amber.replay",
           "fixtures": "amber.fixtures"}
TEST_DIR = {"amber": "core", "capture": "capture", "replay": "replay", "fixtures": "fixtures"}


def source_modules() -> list[tuple[str, Path]]:
    out = []
    for folder, package in SOURCES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder)
            if folder == "amber" and rel.parts[0] in ("capture", "replay", "fixtures"):
                continue
            mod = ".".join((package, *rel.with_suffix("").parts)).removesuffix(".__init__")
            out.append((mod, path))
    return out


def test_every_module_imports_from_the_installed_namespace() -> None:
    import importlib

    for mod, _ in source_modules():
        if mod.endswith(("mitmproxy_entry", "__main__")):
            continue
        importlib.import_module(mod)


def test_no_top_level_capture_replay_fixtures_installed() -> None:
    code = (
        "import importlib.util as u; "
        "print([n for n in ('capture', 'replay', 'fixtures') if u.find_spec(n)])"
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
            if folder == "amber" and rel.parts[0] in ("capture", "replay", "fixtures"):
                continue
            if len(path.read_text().splitlines()) < 40:
                continue
            stem = path.stem.lstrip("_")
            test_dir = ROOT / "tests" / TEST_DIR[folder] / Path(*rel.parts[:-1])
            candidates = [test_dir / f"test_{stem}.py", test_dir / stem]
            if not any(c.exists() for c in candidates):
                missing.append(f"{path.relative_to(ROOT)} -> {candidates[0].relative_to(ROOT)}")
    assert not missing, "modules without a mirrored test file:\n" + "\n".join(missing)


@pytest.mark.slow
def test_wheel_contains_every_module(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("amber-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for mod, path in source_modules():
        expected = mod.replace(".", "/") + (".py" if path.name != "__init__.py" else "/__init__.py")
        assert expected in names, f"{path} is missing from the wheel as {expected}"
    assert "amber/py.typed" in names
    assert not any(n.startswith(("capture/", "replay/", "fixtures/")) for n in names)
