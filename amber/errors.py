"""The exceptions amber raises, and what each one asks the user to do.

```
AmberError                      base of everything amber raises on purpose
├── ConfigError(ValueError)     amber.yaml is invalid: names file, line and key
├── StoreError                  the exchange store cannot be used
│   ├── StoreUnavailable        the URL cannot be reached or opened
│   ├── StoreCorrupt            not an amber store, or a damaged file
│   └── StoreVersionError       written by another amber version
├── NotFound(LookupError)       no exchange (or run) with that id
├── ImportFormatError(ValueError)  a HAR or flow file that cannot be read
├── KeyMissing                  AMBER_KEY is not set or is too short
└── SanitizeError               an exchange could not be sanitized (it is dropped)
```

Every message is one line that says what happened and what to do next; the CLI prints
it as `amber: error: <message>` and exits with status 2 (usage) or 1 (everything else).
"""

from __future__ import annotations

__all__ = [
    "AmberError",
    "ConfigError",
    "ImportFormatError",
    "KeyMissing",
    "NotFound",
    "SanitizeError",
    "StoreCorrupt",
    "StoreError",
    "StoreUnavailable",
    "StoreVersionError",
]


class AmberError(Exception):
    """Base class of the errors amber raises deliberately."""


class ConfigError(AmberError, ValueError):
    """A configuration file or value is invalid.

    The message names the file, the line and the key, e.g.
    `amber.yaml:12: capture.sample_rate: expected a number between 0 and 1, got 'half'`.
    """

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.key = key
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        prefix = f"{key}: " if key else ""
        super().__init__(f"{where}{prefix}{message}")


class StoreError(AmberError):
    """The exchange store cannot be used."""


class StoreUnavailable(StoreError):
    """The store URL cannot be reached or opened."""


class StoreCorrupt(StoreError):
    """The store file is damaged or is not an amber store."""


class StoreVersionError(StoreError):
    """The store was written by a different version of amber."""


class NotFound(AmberError, LookupError):
    """No exchange, run or other object with the given id."""


class ImportFormatError(AmberError, ValueError):
    """A file given to `amber import` cannot be read as HAR or mitmproxy flows."""


class KeyMissing(AmberError):
    """The pseudonym key (AMBER_KEY) is missing or unusable."""


class SanitizeError(AmberError):
    """An exchange could not be sanitized; capture drops it rather than store it raw."""
