"""The exceptions amber raises, and what each one asks the user to do.

```
AmberError                      base of everything amber raises on purpose
├── ConfigError(ValueError)     amber.yaml is invalid: names file, line and key
├── UsageError                  a command-line value is invalid (exit status 2)
├── StoreError                  the exchange store cannot be used
│   ├── StoreUnavailable        the URL cannot be reached or opened
│   ├── StoreCorrupt            not an amber store, or a damaged file
│   └── StoreVersionError       written by another amber version
├── NotFound(LookupError)       no exchange (or run) with that id
├── ImportFormatError(ValueError)  a HAR or flow file that cannot be read
├── KeyMissing                  AMBER_KEY is not set or is too short
├── SanitizeError               an exchange could not be sanitized (it is dropped)
├── AuthError                   replay could not log in or sign its requests
├── TargetUnreachable           replay/shadow could not connect to a target (exit status 3)
└── FixtureError                a database fixture cannot be extracted or loaded
    ├── SourceUnavailable       the source database cannot be reached, opened or read
    ├── ClosureTooLarge         the rows a request needs exceed the row cap
    ├── DanglingReference       a NOT NULL foreign key names a row the source lacks
    ├── CycleError              a foreign-key cycle with no nullable column
    └── FixtureFormatError(ValueError)  a fixture file is invalid
```

Every message is one line that says what happened and what to do next. The CLI prints
each as `amber COMMAND: error: <message>` and exits with status 2 for a `UsageError`, 3 for
a `TargetUnreachable`, 1 for any other. `amber.replay` and `amber.fixtures` export their
errors under the same names.
"""

from __future__ import annotations

__all__ = [
    "AmberError",
    "AuthError",
    "ClosureTooLarge",
    "ConfigError",
    "CycleError",
    "DanglingReference",
    "FixtureError",
    "FixtureFormatError",
    "ImportFormatError",
    "KeyMissing",
    "NotFound",
    "SanitizeError",
    "SourceUnavailable",
    "StoreCorrupt",
    "StoreError",
    "StoreUnavailable",
    "StoreVersionError",
    "TargetUnreachable",
    "UsageError",
]


class AmberError(Exception):
    """Base class of the errors amber raises deliberately."""


class ConfigError(AmberError, ValueError):
    """A configuration file or value is invalid.

    The message names the file, the line and the key, e.g.
    `amber.yaml:12: capture.sample_rate: expected a number between 0 and 1, got 'half'`.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
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


class UsageError(AmberError):
    """A command-line value is invalid; the CLI exits with status 2.

    The message names the flag and the form expected, e.g.
    `invalid duration '5x': use e.g. 30s, 15m, 2h, 1d`.
    """


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


class AuthError(AmberError):
    """Replay authentication could not be set up: the login request failed or answered
    without a token, or the signing hook returned something other than a request."""


class TargetUnreachable(AmberError):
    """A replay or shadow target cannot be reached: requests in a row could not connect
    (connection refused, no such host, connect timeout). The CLI exits with status 3, so a
    script tells "the build is down" from "the build answers differently" (status 1).
    The message names the side and the target, and what to check."""


class FixtureError(AmberError):
    """A database fixture cannot be extracted or loaded; base of the fixture errors."""


class SourceUnavailable(FixtureError):
    """The source database cannot be reached, opened or read; a missing privilege names
    the table and the GRANT to ask for."""


class ClosureTooLarge(FixtureError):
    """The closure grew past the row cap; the message names the relationship followed."""


class DanglingReference(FixtureError):
    """A source row references a parent row the source does not have, through a NOT NULL
    foreign key (so it cannot be loaded); the message names the table, column and value."""


class CycleError(FixtureError):
    """A foreign-key cycle where no column is nullable: it cannot be loaded."""


class FixtureFormatError(FixtureError, ValueError):
    """A fixture file is invalid; the message names the file, table and row."""
