"""CSV and TSV bodies: the header row decides each column by the key rules.

A column whose header is a sensitive or identity key (`password`, `email`, `api_key`) has
every cell masked or pseudonymized; a bare `name` column only beside a person's other
columns, as in forms. Every other cell gets the URL and value rules on its own, except a
version-like column's dotted numbers (`version,2.4.1.0` is not an address). A row that
holds no replaced cell keeps its bytes; a row without quotes is rejoined with its own
delimiter, a quoted one is written again by `csv` (its quoting may then change).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from amber._model import Redaction
from amber._pseudonym import is_marker

from ._fields import field_name
from ._fields import field_verdict
from ._keys import Verdict
from ._keys import version_like

if TYPE_CHECKING:
    from ._bodies import BodySanitizer

__all__ = ["TabularSanitizer"]

_DELIMITERS = ",;\t|"


class TabularSanitizer:
    """Applies a CSV body's header row to its columns, and the value rules to every cell."""

    def __init__(self, bodies: BodySanitizer) -> None:
        self.bodies = bodies

    def apply(self, text: str, location: str, out: list[Redaction]) -> str | None:
        """`text` with every cell sanitized, row by row; None when it is not a table (one
        line, or a first line with no delimiter that reads as a sentence, not a one-column
        header): then it is plain text."""
        lines = text.splitlines(keepends=True)
        if len(lines) < 2:
            return None
        first = lines[0]
        delimiter = max(_DELIMITERS, key=first.count)
        if first.count(delimiter) == 0 and (len(first) > 128 or first.strip().count(" ") > 3):
            return None  # a sentence, not a one-column header (`X-Amz-Signature`)
        header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter), [])]
        columns = [(name, self.bodies.field_verdict(name, lambda: iter(header))) for name in header]
        rows = _records(lines[1:])
        changed = False
        for n, row in enumerate(rows):
            new = self._row(row, delimiter, columns, location, out)
            if new is not None:
                rows[n] = new
                changed = True
        new_first = self.bodies.scanner.apply(first, location, out)
        if not changed and new_first == first:
            return text
        return new_first + "".join(rows)

    def _row(
        self,
        line: str,
        delimiter: str,
        columns: list[tuple[str, Verdict]],
        location: str,
        out: list[Redaction],
    ) -> str | None:
        """The row with its cells sanitized, or None when none changed."""
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if not body.strip():
            return None
        row = next(csv.reader(io.StringIO(body, newline=""), delimiter=delimiter), [])
        replaced = False
        for i, cell in enumerate(row):
            if not cell or is_marker(cell):
                continue
            name, verdict = columns[i] if i < len(columns) else ("", None)
            if verdict is None and version_like(name, cell.strip()):
                continue  # a `version` column's `2.4.1.0` is not an address
            if verdict is None and name and field_name(name):
                verdict = field_verdict(name, cell.strip())  # `X-Amz-Signature`, `code`
            loc = f"{location}.{name}" if verdict is not None else location
            new = self.bodies.scalar_by_verdict(cell, verdict, loc, out)
            if new != cell:
                row[i] = new
                replaced = True
        if not replaced:
            return None
        if '"' not in body and "\n" not in body:
            return delimiter.join(row) + ending
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, lineterminator=ending).writerow(row)
        return buf.getvalue()


def _records(lines: list[str]) -> list[str]:
    """The lines grouped into records: a quoted cell may hold line breaks."""
    records: list[str] = []
    pending = ""
    for line in lines:
        pending += line
        if pending.count('"') % 2 == 0:
            records.append(pending)
            pending = ""
    if pending:
        records.append(pending)
    return records
