"""Route templates: `/users/42/orders/9f1c...` becomes `/users/{id}/orders/{id}`.

Shadow reports, `amber stats` and fixture rules group exchanges by route template. By
default every id-like path segment (numbers, UUIDs, ULIDs, long hex, long mixed tokens,
emails and dates) becomes `{id}`. Configured patterns take precedence and name their
parameters: `/users/{user_id}/orders/{order_id}` or `/files/{path*}` (rest of the path).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from amber.errors import ConfigError

__all__ = ["RoutePattern", "Router", "template_path"]

_ID_SEGMENT = re.compile(
    r"""^(?:
        [+-]?\d+(?:\.\d+)?                                   # 42, 3.5
      | [0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}  # uuid
      | [0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}                  # ulid
      | (?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}                    # hex digests, object ids
      | \d{4}-\d{2}-\d{2}(?:T[\d:.]+Z?)?                     # dates
      | [^@/\s]+@[^@/\s]+\.[^@/\s]+                          # emails
    )$""",
    re.VERBOSE,
)
# Opaque tokens: long, and mixing letters with digits (`cus_9Xk2LmQ8`, `a1b2c3d4e5f6g7h8`).
_TOKEN_SEGMENT = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-=~.]{16,}$")
_PREFIXED_ID = re.compile(r"^[a-z]{2,5}_(?=.*\d)[A-Za-z0-9]{8,}$")


def _is_id(segment: str) -> bool:
    if not segment:
        return False
    return bool(
        _ID_SEGMENT.match(segment) or _PREFIXED_ID.match(segment) or _TOKEN_SEGMENT.match(segment)
    )


@lru_cache(maxsize=65536)
def template_path(path: str) -> str:
    """The default route template of `path`: id-like segments become `{id}`.

    ```python
    >>> template_path("/users/42/orders/9f1c2d3e-0000-4000-8000-000000000000")
    '/users/{id}/orders/{id}'
    ```
    """
    path = path.split("?", 1)[0] or "/"
    parts = path.split("/")
    return "/".join("{id}" if _is_id(p) else p for p in parts)


_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\*|:path)?\}")


@dataclass(frozen=True, slots=True)
class RoutePattern:
    """A configured route such as `/users/{user_id}/orders/{order_id}`."""

    template: str
    regex: re.Pattern[str]
    params: tuple[str, ...]
    method: str | None = None

    @classmethod
    def parse(cls, spec: str) -> RoutePattern:
        """Parse `[METHOD ]/path/{name}/{rest*}`.

        *Raises:* `ConfigError` when the pattern is not a path or repeats a name.
        """
        spec = spec.strip()
        method: str | None = None
        if " " in spec:
            method, spec = spec.split(None, 1)
            method = method.upper()
        if not spec.startswith("/"):
            raise ConfigError(f"route pattern {spec!r} must start with '/'")
        out: list[str] = []
        params: list[str] = []
        pos = 0
        for m in _PARAM.finditer(spec):
            out.append(re.escape(spec[pos : m.start()]))
            name = m.group(1)
            if name in params:
                raise ConfigError(f"route pattern {spec!r} names {{{name}}} twice")
            params.append(name)
            out.append(f"(?P<{name}>.+)" if m.group(2) else f"(?P<{name}>[^/]+)")
            pos = m.end()
        out.append(re.escape(spec[pos:]))
        return cls(spec, re.compile("^" + "".join(out) + "/?$"), tuple(params), method)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The parameters when `path` (and `method`, if the pattern has one) match."""
        if self.method and self.method != method.upper():
            return None
        m = self.regex.match(path)
        return m.groupdict() if m else None


class Router:
    """Maps request paths to route templates: configured patterns first, then heuristics."""

    def __init__(self, patterns: Sequence[str | RoutePattern] = ()) -> None:
        self.patterns = tuple(
            p if isinstance(p, RoutePattern) else RoutePattern.parse(p) for p in patterns
        )

    def route(self, method: str, path: str) -> str:
        """The route template for a request."""
        path = path.split("?", 1)[0] or "/"
        for p in self.patterns:
            if p.match(method, path) is not None:
                return p.template.split(None, 1)[-1]
        return template_path(path)

    def params(self, method: str, path: str) -> dict[str, str]:
        """Path parameters by name: from a configured pattern, else `id`, `id2`, ... ."""
        path = path.split("?", 1)[0] or "/"
        for p in self.patterns:
            found = p.match(method, path)
            if found is not None:
                return found
        out: dict[str, str] = {}
        for seg in path.split("/"):
            if _is_id(seg):
                out["id" if not out else f"id{len(out) + 1}"] = seg
        return out
