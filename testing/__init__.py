"""amber.testing: the runtime of the regression tests `amber gen-test` writes.

Generated files import their assertions from here (`from amber.testing import
assert_no_server_error, request_kwargs`); amber's pytest plugin (`amber.testing._plugin`,
registered through the `pytest11` entry point) gives them the `amber_client` fixture.

- assertions: `assert_fixed`, `assert_no_server_error`, `assert_status`, `assert_matches_recording`,
  `request_kwargs`;
- the snapshot format (versioned JSON): `snapshot_body`, `load_snapshot`,
  `SNAPSHOT_VERSION`, `UPDATE_ENV`;
- the in-process client: `AppClient`, `load_app`;
- test generation (used by `amber gen-test`): `GenSpec`, `GeneratedTest`, `render_test`,
  `write_test`, `config_defaults` (a route's `testing.expect`, the identity's fields);
- verifying and shrinking a fixture against the recording (`amber gen-test`, `amber
  shrink`): `Reproducer`, `Verdict`, `Outcome`, `shrink`, `ddmin`, `Budget`, `ShrinkResult`;
  `database_settings`, `DatabaseSettings` (amber.yaml's `testing.database`).

The layer sits above `amber.replay` and `amber.fixtures` and uses only their public
names. Importing it stays light: the generation API is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from amber.testing._assertions import assert_fixed
from amber.testing._assertions import assert_matches_recording
from amber.testing._assertions import assert_no_server_error
from amber.testing._assertions import assert_status
from amber.testing._assertions import request_kwargs
from amber.testing._client import AppClient
from amber.testing._client import load_app
from amber.testing._snapshot import SNAPSHOT_VERSION
from amber.testing._snapshot import UPDATE_ENV
from amber.testing._snapshot import load_snapshot
from amber.testing._snapshot import snapshot_body

if TYPE_CHECKING:
    from amber.testing._database import DatabaseSettings
    from amber.testing._database import database_settings
    from amber.testing._generate import GeneratedTest
    from amber.testing._generate import GenSpec
    from amber.testing._generate import command_line
    from amber.testing._generate import config_defaults
    from amber.testing._generate import render_test
    from amber.testing._generate import stem_of
    from amber.testing._generate import write_test
    from amber.testing._shrink import Budget
    from amber.testing._shrink import ShrinkResult
    from amber.testing._shrink import ddmin
    from amber.testing._shrink import shrink
    from amber.testing._verify import Outcome
    from amber.testing._verify import Reproducer
    from amber.testing._verify import Verdict

__all__ = [
    "SNAPSHOT_VERSION",
    "UPDATE_ENV",
    "AppClient",
    "Budget",
    "DatabaseSettings",
    "GenSpec",
    "GeneratedTest",
    "Outcome",
    "Reproducer",
    "ShrinkResult",
    "Verdict",
    "assert_fixed",
    "assert_matches_recording",
    "assert_no_server_error",
    "assert_status",
    "command_line",
    "config_defaults",
    "database_settings",
    "ddmin",
    "load_app",
    "load_snapshot",
    "render_test",
    "request_kwargs",
    "shrink",
    "snapshot_body",
    "stem_of",
    "write_test",
]

_GENERATION = frozenset(
    {
        "GenSpec",
        "GeneratedTest",
        "command_line",
        "config_defaults",
        "render_test",
        "stem_of",
        "write_test",
    }
)


_VERIFY = {
    "Budget": "_shrink",
    "ShrinkResult": "_shrink",
    "ddmin": "_shrink",
    "shrink": "_shrink",
    "Outcome": "_verify",
    "Reproducer": "_verify",
    "Verdict": "_verify",
    "DatabaseSettings": "_database",
    "database_settings": "_database",
}


def __getattr__(name: str) -> Any:
    """The generation API on first use: generated tests never load it (it pulls in replay's
    noise rules and the model), `amber gen-test` does."""
    if name in _GENERATION:
        from amber.testing import _generate

        return getattr(_generate, name)
    if name in _VERIFY:
        import importlib

        return getattr(importlib.import_module(f"amber.testing.{_VERIFY[name]}"), name)
    raise AttributeError(f"module 'amber.testing' has no attribute {name!r}")
