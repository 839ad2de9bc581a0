"""amber: preserve production bugs in amber.

Capture sanitized production HTTP traffic, replay it against any build, and turn a failing
request into a permanent pytest regression test with a seeded database fixture.

The core every layer builds on (docs/architecture.md): the exchange model, the store, route
templates, configuration, errors, the sanitizer (`amber.sanitize`), content decoding and the
ingest pipeline. Above it: the features `amber.capture`, `amber.replay`, `amber.fixtures`,
then `amber.testing`, then the CLI `amber.cli`.
"""

from __future__ import annotations

from pathlib import Path as _Path
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from amber._config import Config
from amber._config import find_config
from amber._config import load_config
from amber._model import Exchange
from amber._model import Headers
from amber._model import Redaction
from amber._model import Request
from amber._model import Response
from amber._model import extract_request_id
from amber._model import new_id
from amber._routes import Router
from amber._routes import template_path

if _TYPE_CHECKING:
    from amber._store import ExchangeQuery
    from amber._store import ExchangeSummary
    from amber._store import Store
    from amber._store import open_store

__version__ = "0.1.0"

__all__ = [
    "Config",
    "Exchange",
    "ExchangeQuery",
    "ExchangeSummary",
    "Headers",
    "Redaction",
    "Request",
    "Response",
    "Router",
    "Store",
    "__version__",
    "extract_request_id",
    "find_config",
    "load_config",
    "new_id",
    "open_store",
    "template_path",
]

_STORE_NAMES = frozenset({"ExchangeQuery", "ExchangeSummary", "Store", "open_store"})


def __getattr__(name: str) -> _Any:
    """The store's names on first use: the store needs SQLAlchemy and zstandard (the
    `amber[cli]` extra), which the test runtime (`import amber.testing`, the pytest plugin)
    neither needs nor loads."""
    if name in _STORE_NAMES:
        from amber import _store

        return getattr(_store, name)
    raise AttributeError(f"module 'amber' has no attribute {name!r}")


# Imported from a source checkout (./amber on sys.path, e.g. `python -m pytest` in the
# repository root) rather than from the installed package: map the root folders `capture/`,
# `replay/`, `fixtures/` and `testing/` into the namespace as the install does. Installed
# copies (wheel or editable link tree) never take this branch.
_checkout = _Path(__file__).parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "capture" / "__init__.py").is_file():
    __path__.append(str(_checkout))
