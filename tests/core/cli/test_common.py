from __future__ import annotations

import pytest

from amber.cli import build_parser
from amber.cli._common import format_time
from amber.cli._common import parse_duration
from amber.cli._common import parse_time
from amber.cli._common import query_from_args
from amber.errors import UsageError

NOW = 1_763_892_000.0


def test_times() -> None:
    assert parse_time("2026-11-23T10:00:00Z") == parse_time("2026-11-23T10:00")  # UTC default
    assert parse_time("2026-11-23T11:00:00+01:00") == parse_time("2026-11-23T10:00")
    assert parse_time("15m", now=NOW) == NOW - 900
    assert parse_time("1763892000") == NOW
    assert parse_duration("2h") == 7200 and parse_duration("90") == 90
    assert format_time(0.5) == "1970-01-01 00:00:00.500Z"
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_time("last tuesday")
    with pytest.raises(UsageError):
        parse_duration("2 parsecs")


def test_query_from_args() -> None:
    args = build_parser().parse_args(
        [
            "ls",
            "--status",
            "5xx,404",
            "--status",
            "error",
            "--method",
            "post,put",
            "--route",
            "/a/{id}",
            "--path",
            "/a/*",
            "--limit",
            "0",
        ]
    )
    q = query_from_args(args)
    assert q.status_classes == [5] and q.statuses == [404] and q.errors_only
    assert q.methods == ["POST", "PUT"] and q.routes == ["/a/{id}"] and q.path_glob == "/a/*"
    assert q.limit is None
    with pytest.raises(UsageError):
        query_from_args(build_parser().parse_args(["ls", "--limit", "-1"]))
