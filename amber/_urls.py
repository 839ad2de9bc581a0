"""Hide the password in URLs before amber shows, logs or writes them.

Store URLs, source databases, replay targets and command lines can carry a password
(`postgresql://app:s3cret@db/prod`). Whatever amber prints, logs or writes into a file
(error messages, the audit log, a generated test's docstring, a fixture's `meta.source`)
goes through `hide_password` (one URL) or `hide_passwords` (URLs anywhere in a text) first:

```python
>>> hide_password("postgresql://app:s3cret@db/prod")
'postgresql://app:***@db/prod'
>>> hide_passwords("amber replay --target https://ci:pw@staging/x --rate 5")
'amber replay --target https://ci:***@staging/x --rate 5'
```

The password runs from the first `:` after `scheme://` to the `@` that starts the host:
the last `@` before the first `/`, `?` or `#` that follows an `@`. So a raw `@` or `:` in
a password (`u:p@ss:w@host`) is hidden whole, not only up to its first `@` as SQLAlchemy's
renderer does, and percent-encoded ones (`p%40ss`) are ordinary characters. A raw `/`, `?`
or `#` before the first `@` is part of the password, as SQLAlchemy takes it; this leans to
hiding: `https://host:8080/a?to=x@y.org` is shown `https://host:***@y.org`. Only a password
with a raw `@` and, after it, a raw `/` (`u:p@ss/w@host`) reads as a host and a path, as
browsers read it, and is hidden up to that `@`: percent-encode such a password.
A URL without a password (`https://user@host`, `sqlite:///path`) and text that is not a
URL come back unchanged; a password outside URL syntax (`--password=...`, `user:pw@host`
without a scheme) is not found here (`amber._audit.mask_argv` masks such flags).
"""

from __future__ import annotations

import re

__all__ = ["MASK", "hide_password", "hide_passwords", "normalize_url"]

MASK = "***"
"""What a hidden password is replaced with."""

# `://`, the user name (no `:`), then the `:` that starts the password
_USER = re.compile(r"://[^/?#@:]*:")
_USER_IN_TEXT = re.compile(r"://[^\s/?#@:\"'<>`]*:")
# where a URL in running text ends
_TEXT_END = re.compile(r"[\s\"'<>`]")
_PATH_START = re.compile(r"[/?#]")


def hide_password(url: str) -> str:
    """`url` with the password of its userinfo replaced by `***`; unchanged without one.

    The whole string is taken as one URL, so a password may hold any character.
    """
    return _hide(url, _USER, None)


def hide_passwords(text: str) -> str:
    """`text` with the password of every `scheme://user:password@host` in it replaced by
    `***`. A URL ends at whitespace or a quote (`"`, `'`, `` ` ``, `<`, `>`)."""
    return _hide(text, _USER_IN_TEXT, _TEXT_END)


def _hide(text: str, user: re.Pattern[str], url_end: re.Pattern[str] | None) -> str:
    """Mask the password after each `://` that `user` matches. One pass: every character
    is looked at a bounded number of times, whatever the input."""
    out: list[str] = []
    done = 0
    end = -1  # where the URL being looked at ends
    i = text.find("://")
    while i >= 0:
        m = user.match(text, i)
        if m is None:
            i = text.find("://", i + 3)
            continue
        start = m.end()
        if end < start:  # else several URLs share one stretch without a break: search once
            found = url_end.search(text, start) if url_end is not None else None
            end = found.start() if found is not None else len(text)
        at = _host_at(text, start, end)
        if at < 0:  # no `@` left in this URL, so no later `://` in it has a password
            i = text.find("://", end)
            continue
        if at > start:  # an empty password has nothing to hide
            out += (text[done:start], MASK)
            done = at
        i = text.find("://", at)
    out.append(text[done:])
    return "".join(out)


def _host_at(text: str, start: int, end: int) -> int:
    """The `@` that starts the host in `text[start:end]` (a URL after `user:`): the last
    `@` before the `/`, `?` or `#` that follows the first `@`; -1 when there is no `@`."""
    first = text.find("@", start, end)
    if first < 0:
        return -1
    path = _PATH_START.search(text, first, end)
    return text.rfind("@", first, path.start() if path is not None else end)


def normalize_url(url: str) -> str:
    """Accept `postgres://`, `postgresql://` and bare file paths; pick the psycopg 3 driver."""
    if "://" not in url:
        return "sqlite:///" + url
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
