"""Config text: YAML, INI, `.env` and shell `export` lines, by their keys.

A line-oriented scanner, not a YAML parser: it reads a cut or invalid document, never
builds objects (no `yaml.load` of captured data, and no cost of a full parse: the body is
only looked at line by line), and tells exactly where each value starts and ends, so an
edit replaces that span and nothing else (a parse-and-dump would lose comments, quoting,
key order and anchors). What it reads:

* `KEY=value`, `export KEY="value"`, `key = value` (INI; `[section]` lines are skipped);
* `key: value` and `- key: value` (YAML; a plain, `"double"` or `'single'` quoted scalar, a
  trailing ` # comment` kept), and block scalars `key: |` / `key: >-` whose indented lines
  are the value (`private_key: |` with a PEM under it);
* a mapping under a sensitive key (`secrets:` then indented `key: value` lines): every value
  in it is masked, like a JSON object under such a key.

A value goes by its key's rule (`KeyClassifier`; a bare `name` is a person's only in a YAML
mapping about a person: a sibling `email`, `phone`, `first_name`... or a parent key such as
`users:` or `author:`, as in a JSON object; an organization's name is kept), then by
`_fields.field_verdict` (signed-URL parameters, cookie names, `code` with a token); an
unquoted value that is a call or an index (`SECRET_KEY = os.environ["SECRET_KEY"]`) is
code, not a secret. The rest of the text then gets the URL and value rules like any text
body, around the replaced spans.

`config_like` decides whether a body is config text: a YAML, `.env`, INI, properties or
shell content type, or a `text/plain` (or untyped) body whose first lines mostly have the
shape above. Source code never gets here (JavaScript's `token = getToken();` is not a pair:
the body is code by its type or shape and gets the value rules only).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from amber._model import Redaction
from amber._pseudonym import is_foreign_marker
from amber._pseudonym import is_marker

from ._fields import field_verdict
from ._ids import organization_name
from ._json import NAME
from ._json import PERSON_VERDICTS
from ._keys import Verdict
from ._keys import version_like

if TYPE_CHECKING:
    from ._bodies import BodySanitizer

__all__ = ["CONFIG_TYPE", "ConfigTextSanitizer", "config_like"]

CONFIG_TYPE = re.compile(
    r"yaml|/x-sh\b|shellscript|x-ini\b|/ini\b|dotenv|x-env\b|properties|/toml|x-toml"
)
_SNIFF_TYPES = ("text/plain", "application/octet-stream", "")
# `export KEY=value`, `KEY=value`, `key = value`
_ASSIGN = re.compile(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][\w.-]{0,127})[ \t]*=[ \t]*")
# `key: value`, `- key: value`, `"key": value`
_MAPPING = re.compile(
    r"""[ \t]*(?:-[ \t]+)?(?:"([^"\n]{1,128})"|'([^'\n]{1,128})'|([A-Za-z_$][\w.$/-]{0,127}))"""
    r"""[ \t]*:(?:[ \t]+|(?=\r?$))"""
)
_SECTION = re.compile(r"[ \t]*\[[^\]\n]{1,128}\][ \t]*\r?")
_COMMENT = re.compile(r"[ \t]*(?:#|;|//)")
_ITEM = re.compile(r"[ \t]*-(?:[ \t]|\r?$)")
_BLOCK = re.compile(r"[|>][+-]?[0-9]?[ \t]*(?:#.*)?\r?")
_SNIFF_BYTES = 4096
# a name/value pair's members (`- name: DB_PASSWORD` / `value: ...`)
_PAIR_NAMES = frozenset(("name", "Name", "key", "Key", "NAME", "KEY"))
_PAIR_VALUES = frozenset(("value", "Value", "VALUE"))
# A plain value that is an expression, not a literal: a call or an index on a (dotted) name
# (`SECRET_KEY = os.environ["SECRET_KEY"]`, `token: getToken()` in a settings file).
_EXPRESSION = re.compile(r"[A-Za-z_$][\w$.]*(?:\(.*\)|\[.*\])[;,]?")


def config_like(body: bytes, content_type: str) -> bool:
    """Is this body config text: by content type, or (plain or untyped text) by shape?"""
    if CONFIG_TYPE.search(content_type):
        return True
    base = content_type.split(";", 1)[0].strip()
    if base not in _SNIFF_TYPES:
        return False
    head = body[:_SNIFF_BYTES].decode("utf-8", "replace").splitlines()
    if len(head) > 1 and len(body) > _SNIFF_BYTES:
        head.pop()  # the last line may be cut
    pairs = other = 0
    for line in head:
        if not line.strip() or _COMMENT.match(line) or _SECTION.fullmatch(line):
            continue
        if _ASSIGN.match(line) or _MAPPING.match(line):
            pairs += 1
        elif _ITEM.match(line) or (line[:1] in " \t" and pairs):
            continue  # a list item, or a continuation of the value above
        else:
            other += 1
    return pairs >= 2 and pairs >= 3 * other


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


class ConfigTextSanitizer:
    """Applies the key rules to the values of config text, editing only their spans."""

    def __init__(self, bodies: BodySanitizer) -> None:
        self.bodies = bodies
        self._classify = bodies.keys.classify

    def verdict(self, key: str, value: str) -> Verdict:
        """A key's verdict on its value; a bare `name` (a service's, a region's) is none."""
        verdict = self._classify(key)
        if verdict is None:
            return field_verdict(key, value)
        return None if verdict == NAME else verdict

    def apply(
        self, text: str, location: str, out: list[Redaction]
    ) -> tuple[str, list[tuple[int, int]]]:
        """`text` with the values its keys call sensitive replaced in place, and the spans
        of the replacements (with a block scalar's `|`) for the value rules to leave: they
        would read `private_key: |` as a pair and mask the `|`."""
        lines = text.splitlines(keepends=True)
        changed = False
        done: list[tuple[int, int, int]] = []  # (line, start, end) of each replacement
        # mappings under a masked key: (indent of that key, verdict); deeper lines inherit
        masked: list[tuple[int, Verdict]] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            body = line.rstrip("\r\n")
            indent = _indent(body)
            if body.strip() and not _COMMENT.match(body):
                while masked and (
                    indent < masked[-1][0] or (indent == masked[-1][0] and not _ITEM.match(body))
                ):
                    masked.pop()  # `secrets:` may hold `- item` lines at its own indent
            m = _MAPPING.match(body) or _ASSIGN.match(body)
            if m is None and masked and _ITEM.match(body):
                m = _ITEM.match(body)  # `- value` in a list under `secrets:`
            if m is None or not body.strip() or _COMMENT.match(body):
                i += 1
                continue
            key = next((g for g in m.groups() if g is not None), "")
            rest = body[m.end() :]
            verdict = self.verdict(key, _scalar(rest)[2]) if key else None
            if verdict is None and m.re is _MAPPING and key in _PAIR_VALUES:
                # a name/value pair (Kubernetes' `env:` list: `- name: DB_PASSWORD` and
                # `value: ...`): the value goes by the name beside it
                named = self._pair_name(lines, i, m)
                if named:
                    verdict = self.verdict(named, _scalar(rest)[2])
            if (
                verdict is None
                and m.re is _MAPPING
                and key.lower() == "name"
                and self._classify(key) == NAME
                and not organization_name(_scalar(rest)[2])
                and self._about_person(lines, i, m)
            ):
                verdict = NAME  # `- name: Ingrid Halvorsen` beside `email:`, or under `users:`
            if verdict is None and masked:
                verdict = masked[-1][1]
            if verdict is None:
                # a value that is a JSON document (`payload: "{\"X-Goog-Signature\": ...}"`)
                # is walked like a JSON body and edited inside its quotes
                found = self._embedded_json(rest, f"{location}.{key}" if key else location, out)
                if found is not None:
                    start, end, new = found
                    cut = m.end()
                    lines[i] = body[: cut + start] + new + body[cut + end :] + line[len(body) :]
                    changed = True
                    done.append((i, cut + start, cut + start + len(new)))
                elif key and "." in rest:
                    start, end, value = _scalar(rest)
                    if version_like(key, value):  # `min_supported: 2.4.1.0`: no address
                        done.append((i, m.end() + start, m.end() + end))
                i += 1
                continue
            # the location names the key as stored (an email used as a key is replaced)
            shown = self.bodies.scanner.apply(key, "", []) if len(key) > 5 else key
            loc = f"{location}.{shown}" if key else location
            if _BLOCK.fullmatch(rest) is not None and m.re is _MAPPING:
                end = _block_end(lines, i, indent)
                new_block = self._block(lines[i + 1 : end], verdict, loc, out)
                if new_block is not None:
                    lines[i + 1 : end] = new_block
                    changed = True
                    done.append((i, m.end(), len(body)))
                    marked = new_block[0].rstrip("\r\n")
                    done.append((i + 1, _indent(marked), len(marked)))
                i += 1 + len(new_block if new_block is not None else lines[i + 1 : end])
                continue
            if not rest.strip() and m.re is _MAPPING:
                if verdict[0] == "mask":
                    masked.append((indent, verdict))  # a mapping or list under `secrets:`
                i += 1
                continue
            start, end, value = _scalar(rest)
            if start == 0 and _EXPRESSION.fullmatch(value):
                # code, not a literal: the value rules as for source code, not the key rule
                cut = m.end()
                new = self.bodies.scanner.apply(value, loc, out, code=True)
                lines[i] = body[:cut] + new + body[cut + end :] + line[len(body) :]
                changed = True
                done.append((i, cut, cut + len(new)))
                i += 1
                continue
            if value and not is_marker(value) and not is_foreign_marker(value):
                new = self.bodies.scalar_by_verdict(value, verdict, loc, out)
                if new != value:
                    if start == 0 and new[:1] in "[{" and m.re is not _ASSIGN:
                        new = f'"{new}"'  # a plain YAML `[...]` would read as a list
                    cut = m.end()
                    lines[i] = body[: cut + start] + new + body[cut + end :] + line[len(body) :]
                    changed = True
                    done.append((i, cut + start, cut + start + len(new)))
            i += 1
        if not done:
            return text, []
        offsets = [0]
        for ln in lines:
            offsets.append(offsets[-1] + len(ln))
        spans = [(offsets[n] + a, offsets[n] + b) for n, a, b in done]
        return ("".join(lines) if changed else text), spans

    def _pair_name(self, lines: list[str], i: int, m: re.Match[str]) -> str:
        """The `name:` (or `key:`) beside the `value:` at line `i`, in its mapping, or ""."""
        for k in self._siblings(lines, i, m)[0]:
            found = _MAPPING.match(lines[k])
            if found is not None and _key(found) in _PAIR_NAMES:
                return _scalar(lines[k][found.end() :].rstrip("\r\n"))[2]
        return ""

    def _siblings(self, lines: list[str], i: int, m: re.Match[str]) -> tuple[list[int], int]:
        """The lines of the keys beside line `i` (matched by `m`) in its YAML mapping, and
        the line of the key that mapping is under (-1 if none): the keys at the same
        column, from its list item's `- ` line (or the line after the key it is under) to
        the next item or a line less indented; deeper lines are their values."""
        col = _key_column(m)
        siblings: list[int] = []
        j = i - 1
        if _ITEM.match(lines[i]) is None:
            while j >= 0:
                ln = lines[j]
                if not ln.strip() or _COMMENT.match(ln):
                    j -= 1
                    continue
                mm = _MAPPING.match(ln)
                if mm is not None and _key_column(mm) == col:
                    siblings.append(j)
                    j -= 1
                    if _ITEM.match(ln) is not None:
                        break  # this item's first line
                    continue
                if _indent(ln) > col:
                    j -= 1
                    continue  # a sibling's value
                break
        parent = -1
        while j >= 0:
            ln = lines[j]
            j -= 1
            if not ln.strip() or _COMMENT.match(ln):
                continue
            mm = _MAPPING.match(ln)
            if (_key_column(mm) if mm is not None else _indent(ln)) >= col:
                continue  # another item of the same list, or its values
            if mm is not None and not ln[mm.end() :].strip():
                parent = j + 1
            break
        for k in range(i + 1, len(lines)):
            ln = lines[k]
            if not ln.strip() or _COMMENT.match(ln):
                continue
            if _indent(ln) > col:
                continue
            mm = _MAPPING.match(ln)
            if _indent(ln) < col or mm is None or _ITEM.match(ln) is not None:
                break
            siblings.append(k)
        return siblings, parent

    def _about_person(self, lines: list[str], i: int, m: re.Match[str]) -> bool:
        """Is the YAML mapping that holds line `i` (matched by `m`) about a person: a sibling
        key says so (`email`, `phone`, `first_name`...), or the key it is under does
        (`users:`, `customer:`, `author:`)?"""
        siblings, parent = self._siblings(lines, i, m)
        classify = self._classify
        for k in siblings:
            mm = _MAPPING.match(lines[k])
            if mm is not None and classify(_key(mm)) in PERSON_VERDICTS:
                return True
        if parent < 0:
            return False
        mm = _MAPPING.match(lines[parent])
        return mm is not None and self.bodies.person_key(_key(mm))

    def _embedded_json(
        self, rest: str, location: str, out: list[Redaction]
    ) -> tuple[int, int, str] | None:
        """(start, end, new text) of a scalar in `rest` that is a JSON document the JSON
        rules changed; None otherwise. A double-quoted scalar is read through its `\"` and
        `\\` escapes and written back with them; one whose other escapes would not come back
        byte for byte is left to the value rules."""
        start, end, value = _scalar(rest)
        if value.lstrip()[:1] not in ("{", "["):
            return None
        quoted = start == 1 and rest[0] == '"'
        text = _DQ_ESCAPE.sub(r"\1", value) if quoted else value
        if quoted and _dq_escape(text) != value:
            return None
        new = self.bodies.json_text(text, location, out)
        if new is None or new == text:
            return None
        return start, end, _dq_escape(new) if quoted else new

    def _block(
        self, block: list[str], verdict: Verdict, location: str, out: list[Redaction]
    ) -> list[str] | None:
        """A block scalar's lines with the value replaced by one line of the marker or
        pseudonym at the block's indent (None when there is nothing to replace)."""
        content = [ln for ln in block if ln.strip()]
        if not content:
            return None
        value = "\n".join(ln.strip() for ln in content)
        if is_marker(value):
            return None
        new = self.bodies.scalar_by_verdict(value, verdict, location, out)
        if new == value:
            return None
        first = content[0]
        ending = block[-1][len(block[-1].rstrip("\r\n")) :] or "\n"
        return [first[: _indent(first)] + new + ending]


def _key(m: re.Match[str]) -> str:
    """The key a `_MAPPING` match read (quoted or not)."""
    return next((g for g in m.groups() if g is not None), "")


def _key_column(m: re.Match[str]) -> int:
    """Where the key of a `_MAPPING` match starts (its opening quote, if quoted): `name`'s
    column in `  - name: x` is 4."""
    for n in (1, 2, 3):
        if m.group(n) is not None:
            return m.start(n) - (1 if n < 3 else 0)
    return m.start()


def _block_end(lines: list[str], i: int, indent: int) -> int:
    """The index after a block scalar's last line: lines more indented than its key (or
    blank) belong to it."""
    j = i + 1
    last = i
    while j < len(lines):
        body = lines[j].rstrip("\r\n")
        if body.strip():
            if _indent(body) <= indent:
                break
            last = j
        j += 1
    return last + 1


_DQ_ESCAPE = re.compile(r'\\(["\\])')


def _dq_escape(text: str) -> str:
    """`text` as the inside of a double-quoted YAML or shell value (`\\` and `\"`)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _scalar(rest: str) -> tuple[int, int, str]:
    """The value's span in `rest` (what follows `key:` or `KEY=`) and its text: inside the
    quotes of a quoted value, before a ` # comment` of a plain one."""
    if not rest:
        return 0, 0, ""
    q = rest[0]
    if q in "\"'":
        end = rest.find(q, 1)
        while q == '"' and end > 0 and rest[end - 1] == "\\":
            end = rest.find(q, end + 1)
        if end > 0:
            return 1, end, rest[1:end]
        return 1, len(rest), rest[1:]
    end = len(rest)
    hash_at = rest.find(" #")
    if hash_at >= 0:
        end = hash_at
    value = rest[:end].rstrip()
    return 0, len(value), value
