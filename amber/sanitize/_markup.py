"""XML, SOAP and HTML bodies: element text and attribute values by the key rules.

A tolerant regex tokenizer (no parser: a truncated or invalid document is still read) finds

* **leaf elements** `<Tag>text</Tag>` (a namespace prefix ignored): the text goes by the key
  rule of the tag's name, so `<SecretAccessKey>`, `<wsse:Password>` and `<ApiKey>` mask it;
* **name/value pairs** `<Name>DB_PASSWORD</Name><Value>...</Value>` (also `Key`): the value
  goes by the key rule of the name;
* **attributes** `name="value"`: by the attribute's own name (`<Credentials token="...">`),
  and, in a tag with a naming attribute (`name`, `id`, `property`, `key`) and a `value` or
  `content` attribute, by the name it gives (`<meta name="csrf-token" content="...">`,
  `<input type="hidden" name="api_key" value="...">`).

Only the spans of replaced texts and attribute values change; entities are decoded to judge
a value and only what changed is written anew, escaped (a JSON document in an element keeps
its quotes as they were written, `"` or `&quot;`; in an HTML `<script>` nothing is
decoded). Everything else (and every value the key rules leave) is left to the value rules,
which run on the whole body afterwards.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from amber._model import Redaction
from amber._pseudonym import is_foreign_marker
from amber._pseudonym import is_marker
from amber._pseudonym import marker

from ._encoded import unescaped_respelled
from ._fields import field_name
from ._fields import field_verdict
from ._json import NAME
from ._json import PERSON_VERDICTS
from ._keys import Verdict
from ._keys import normalize_key
from ._keys import version_like
from ._rpc import secret_positions

if TYPE_CHECKING:
    from ._bodies import BodySanitizer

__all__ = ["MarkupSanitizer"]

_LEAF = re.compile(r"<((?:[\w.-]+:)?([\w.-]+))(\s[^<>]*)?>([^<]{1,65536})</\1\s*>")
# a leaf whose text is one CDATA section (`<password><![CDATA[...]]></password>`): read and
# written as it is, no character references in it
_CDATA_LEAF = re.compile(
    r"<((?:[\w.-]+:)?([\w.-]+))(\s[^<>]*)?>\s*<!\[CDATA\[((?:[^\]]|\](?!\]>)){1,65536})\]\]>"
    r"\s*</\1\s*>"
)
# `<Name>DB_PASSWORD</Name><Value>...</Value>` (SSM parameters, AWS tags, settings lists)
_PAIR = re.compile(
    r"<((?:[\w.-]+:)?(?:Name|Key|name|key))>([^<]{1,64})</\1\s*>(\s*)"
    r"<((?:[\w.-]+:)?(?:Value|value))(\s[^<>]*)?>([^<]{1,65536})</\4\s*>"
)
# A row of a two-column table or a definition list, the name in the first cell
# (`<tr><td>DB_PASSWORD</td><td class="v">...</td>`, `<th>api_key</th><td>`, `<dt>`/`<dd>`):
# what debug and error pages (phpinfo, framework error pages, admin screens) print
_CELL_PAIR = re.compile(
    r"<(t[hd]|dt)(?:\s[^<>]*)?>\s*([^<]{1,128}?)\s*</\1\s*>\s*"
    r"<(td|dd)(?:\s[^<>]*)?>((?:[^<]|<(?!/?(?:td|dd|tr|th|dt|table)\b)){0,65536}?)</\3\s*>",
    re.I,
)
# a value that may be a secret under a label of several words: one run of six characters
# or more, not letters only (`Quartz95!cobalt`, not `Unlimited`, `Yes` or `5 per user`)
_SECRET_LIKE = re.compile(r"(?=\S*[^A-Za-z\s])\S{6,}")
# a table, its rows and their cells (the name row first: `<th>` cells)
# (to the body's end when the body was cut inside it)
_TABLE = re.compile(r"<table\b[^>]*>(?:(?!</?table\b).){0,1048576}?(?:</table\s*>|\Z)", re.I | re.S)
_ROW = re.compile(r"<tr\b[^>]*>((?:(?!</?tr\b|</?table\b).)*)(?:</tr\s*>|(?=<tr\b)|$)", re.I | re.S)
_CELL = re.compile(
    r"<(t[hd])\b[^>]*>((?:(?!</?t[hdr]\b).)*)(?:</\1\s*>|(?=<t[hdr]\b)|$)", re.I | re.S
)
# the text runs of a cell's content (between its tags)
_CELL_TEXT = re.compile(r"(?<=>)[^<]*[^<\s][^<]*|^[^<]*[^<\s][^<]*")
# A SAML assertion's attribute: `<saml:Attribute Name="displayName"><saml:AttributeValue>`
# (the value judged by the attribute's name; a claim URI by its last segment)
_SAML_ATTR = re.compile(
    r"<((?:[\w.-]+:)?Attribute)\s[^<>]*?\bName\s*=\s*\"(?:[^\"]{0,200}[/:#])?([^\"/:#]{1,64})\""
    r"[^<>]*>(\s*)<((?:[\w.-]+:)?AttributeValue)(\s[^<>]*)?>([^<]{1,65536})</\4\s*>"
)
# An XML-RPC call: its method's name, its positional parameters (`<param>` does not nest),
# and a parameter that is one string (`<value><string>...</string></value>`, or untyped)
_METHOD_NAME = re.compile(r"<methodName>\s*([^<\s]{1,128})\s*</methodName>")
_PARAM = re.compile(r"<param>(.*?)</param\s*>", re.S)
_STRING_PARAM = re.compile(r"\s*<value>\s*(?:<string>([^<]*)</string>|([^<]*[^<\s]))\s*</value>\s*")
_TAG = re.compile(r"<[A-Za-z][\w:.-]*(\s[^<>]*?)/?>")
_QUAD_TEXT = re.compile(r">\s*[1-9]\.[0-9]\.[0-9]\.[0-9]\s*<")
_QUAD_LEAF = re.compile(
    r"<(?:[\w.-]+:)?([\w.-]+)(?:\s[^<>]*)?>\s*([1-9]\.[0-9]\.[0-9]\.[0-9])\s*</"
)
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_NAMING = ("name", "id", "property", "key", "itemprop", "http-equiv")
# HTML's raw text elements: their text holds no character references (a JSON document in
# `<script type="application/json">` is written as it is)
_RAW_TEXT = frozenset(("script", "style"))
_VALUED = ("value", "content")
# Markup's own attributes, never a credential's name.
_MARKUP_ATTRS = frozenset(
    {
        "type", "class", "style", "href", "src", "action", "method", "rel", "lang", "dir",
        "for", "title", "alt", "placeholder", "charset", "width", "height", "role", "media",
        "encoding", "version", "standalone", "target", "autocomplete", "tabindex",
    }
)  # fmt: skip


class MarkupSanitizer:
    """Applies the key rules to the element texts and attribute values of a markup body."""

    def __init__(self, bodies: BodySanitizer) -> None:
        self.bodies = bodies
        self._classify = bodies.keys.classify

    def classify(self, name: str, raw: str | None = None) -> Verdict:
        """A tag's or attribute's verdict; a bare `name` is no person's in markup. With the
        (escaped) value `raw`, the names `_fields.field_verdict` knows count too
        (`<X-Amz-Signature>`, `<input name="code" value="...">`)."""
        verdict = self._classify(name)
        if verdict is None:
            if raw is None or not field_name(name):
                return None
            return field_verdict(name, html.unescape(raw).strip())
        if verdict == NAME and normalize_key(name) == "name":
            return None
        return verdict

    def apply(self, text: str, location: str, out: list[Redaction]) -> str:
        """`text` with what the key rules mask or pseudonymize replaced in place."""
        if "<" not in text:
            return text
        if "<methodName>" in text:
            text = self._rpc(text, location, out)
        text = _TAG.sub(lambda m: self._tag(m, location, out), text)
        text = _PAIR.sub(lambda m: self._pair(m, location, out), text)
        if "<td" in text or "<TD" in text or "<dd" in text or "<DD" in text:
            text = _CELL_PAIR.sub(lambda m: self._cells(m, location, out), text)
            if "<th" in text or "<TH" in text:
                text = _TABLE.sub(lambda m: self._table(m, location, out), text)
        if "Attribute" in text:
            text = _SAML_ATTR.sub(lambda m: self._saml(m, location, out), text)
        if "<![CDATA[" in text:
            text = _CDATA_LEAF.sub(lambda m: self._leaf(m, location, out, cdata=True), text)
        return _LEAF.sub(lambda m: self._leaf(m, location, out), text)

    def _rpc(self, text: str, location: str, out: list[Redaction]) -> str:
        """An XML-RPC call's string parameters at the places its method's name or signature
        gives a password (`_rpc.secret_positions`: `wp.getUsersBlogs(username, password)`)
        masked."""
        m = _METHOD_NAME.search(text)
        secret = secret_positions(html.unescape(m.group(1))) if m is not None else None
        if not secret:
            return text
        pieces: list[str] = []
        pos = 0
        for i, p in enumerate(_PARAM.finditer(text, m.end() if m is not None else 0)):
            if i not in secret:
                continue
            v = _STRING_PARAM.fullmatch(p.group(1))
            if v is None:
                continue  # a number, a struct, an array: not a password
            group = 1 if v.group(1) is not None else 2
            raw = v.group(group)
            if not raw or is_marker(html.unescape(raw)):
                continue
            start = p.start(1) + v.start(group)
            pieces.append(text[pos:start])
            pieces.append(marker("positional-password"))
            pos = start + len(raw)
            out.append(Redaction("positional-password", f"{location}.param[{i}]", "mask"))
        if not pieces:
            return text
        pieces.append(text[pos:])
        return "".join(pieces)

    def versions(self, text: str) -> list[tuple[int, int]]:
        """The spans of `value`/`content` attributes that a version-like name names
        (`<input name="version" value="2.4.1.0">`), and of leaves' texts that `version_like`
        calls a version by their tag: not addresses, kept from the value rules."""
        spans: list[tuple[int, int]] = []
        if _QUAD_TEXT.search(text) is not None:
            # a leaf's version-shaped quad under a tag that does not name an address
            # (`<MinSupported>2.4.1.0</MinSupported>`; `<PeerIp>` is one)
            for m in _QUAD_LEAF.finditer(text):
                if version_like(m.group(1), m.group(2)):
                    spans.append(m.span(2))
        if "version" not in text.lower():
            return spans
        if "<td" in text or "<TD" in text or "<dd" in text or "<DD" in text:
            # a table row's or definition's value cell under a version-like name
            for m in _CELL_PAIR.finditer(text):
                name = html.unescape(m.group(2)).strip()
                for t in _CELL_TEXT.finditer(m.group(4)):
                    value = html.unescape(t.group(0)).strip().strip("'\"")
                    if version_like(name, value):
                        spans.append((m.start(4) + t.start(), m.start(4) + t.end()))
        for m in _TAG.finditer(text):
            attrs = list(_ATTR.finditer(m.group(0)))
            named = next((_attr_value(a) for a in attrs if a.group(1).lower() in _NAMING), None)
            if not named:
                continue
            for a in attrs:
                group = 2 if a.group(2) is not None else 3
                if a.group(1).lower() in _VALUED and version_like(named, a.group(group)):
                    spans.append((m.start() + a.start(group), m.start() + a.end(group)))
        return sorted(spans)

    def _value(
        self,
        raw: str,
        verdict: Verdict,
        location: str,
        out: list[Redaction],
        *,
        raw_text: bool = False,
    ) -> str:
        """`raw` (escaped) with what the verdict or, for a JSON document, its keys replace;
        only the changed spans are written anew, escaped, the rest keeps its spelling.
        `raw_text`: the text of an HTML `<script>` or `<style>`, where `&amp;` is four
        characters and nothing is escaped."""
        value = raw if raw_text else html.unescape(raw)
        if not value.strip() or is_marker(value) or is_foreign_marker(value):
            return raw
        new = self.bodies.scalar_by_verdict(value, verdict, location, out)
        if new == value:
            return raw
        if raw_text:
            return new.replace("</", "<\\/")  # (nothing a rule writes holds `</`; never trust it)
        return unescaped_respelled(raw, new)

    def _leaf(
        self, m: re.Match[str], location: str, out: list[Redaction], *, cdata: bool = False
    ) -> str:
        verdict = self.classify(m.group(2), html.escape(m.group(4)) if cdata else m.group(4))
        return self._replace(m, 4, verdict, f"{location}.{m.group(2)}", out, cdata=cdata)

    def _table(self, m: re.Match[str], location: str, out: list[Redaction]) -> str:
        """A table whose first row names its columns (`<th>`): each later row's cells by
        their column's name, as a CSV's by its header (a bare `Name` column only beside a
        person's columns; a label of several words only before a value that looks like a
        secret). Only the cells' text runs change."""
        body = m.group(0)
        rows = list(_ROW.finditer(body))
        if len(rows) < 2:
            return body
        cells = list(_CELL.finditer(rows[0].group(1)))
        heads = [html.unescape(c.group(2)).strip() for c in cells]
        if not heads or not all(
            h and c.group(1).lower() == "th" for h, c in zip(heads, cells, strict=True)
        ):
            return body
        # a column a rule may decide: by its name, or by its name and each cell's value
        ruled = [self._classify(h) is not None or field_name(h) for h in heads]
        if not any(ruled):
            return body
        person = any(self._classify(h) in PERSON_VERDICTS for h in heads)
        pieces: list[str] = []
        pos = 0
        for row in rows[1:]:
            for k, cell in enumerate(_CELL.finditer(row.group(1))):
                if k >= len(heads) or not ruled[k]:
                    continue
                content = cell.group(2)
                verdict = self._cell_verdict(heads[k], content, person)
                if verdict is None:
                    continue
                new = self._cell_text(content, verdict, f"{location}.{heads[k]}", out)
                if new != content:
                    start = row.start(1) + cell.start(2)
                    pieces.append(body[pos:start])
                    pieces.append(new)
                    pos = start + len(content)
        if not pieces:
            return body
        pieces.append(body[pos:])
        return "".join(pieces)

    def _cells(self, m: re.Match[str], location: str, out: list[Redaction]) -> str:
        """A table row's or definition's value cell by the name in the cell before it: each
        text run of the value cell (inside its `<pre>` or `<code>`, say) replaced by the
        name's verdict (`_cell_verdict`)."""
        name = html.unescape(m.group(2)).strip()
        content = m.group(4)
        verdict = self._cell_verdict(name, content)
        if verdict is None:
            return m.group(0)
        new = self._cell_text(content, verdict, f"{location}.{name}", out)
        if new == content:
            return m.group(0)
        start, end = m.span(4)
        base = m.start(0)
        whole = m.group(0)
        return whole[: start - base] + new + whole[end - base :]

    def _cell_verdict(self, name: str, content: str, person: bool = False) -> Verdict:
        """The verdict `name` (a row's first cell, or a column's `<th>`) gives a value cell.

        The field rules judge the cell's first text run, without the quotes a debug page
        prints around a string (`'...'`). A label of several words (a pricing table's `API
        keys | Unlimited`, `Password reset | Yes`) decides only a value that looks like a
        secret: settings and variables (`DB_PASSWORD`, `api_key`) are one word. A bare
        `name` is a person's only with `person` (the table has a person's column)."""
        first = _CELL_TEXT.search(content)
        shown = html.unescape(first.group(0)).strip() if first is not None else ""
        if len(shown) >= 2 and shown[0] == shown[-1] and shown[0] in "'\"":
            shown = shown[1:-1]
        if " " in name and _SECRET_LIKE.fullmatch(shown) is None:
            return None
        if person and self._classify(name) == NAME and normalize_key(name) == "name":
            return NAME
        return self.classify(name, html.escape(shown))

    def _cell_text(
        self, content: str, verdict: Verdict, location: str, out: list[Redaction]
    ) -> str:
        """A cell's content with each of its text runs replaced by `verdict`'s result."""
        return _CELL_TEXT.sub(lambda t: self._value(t.group(0), verdict, location, out), content)

    def _pair(self, m: re.Match[str], location: str, out: list[Redaction]) -> str:
        name = html.unescape(m.group(2)).strip()
        return self._replace(m, 6, self.classify(name, m.group(6)), f"{location}.{name}", out)

    def _saml(self, m: re.Match[str], location: str, out: list[Redaction]) -> str:
        name = m.group(2)
        return self._replace(m, 6, self.classify(name, m.group(6)), f"{location}.{name}", out)

    def _replace(
        self,
        m: re.Match[str],
        group: int,
        verdict: Verdict,
        location: str,
        out: list[Redaction],
        *,
        cdata: bool = False,
    ) -> str:
        """The match with its `group` (a text) replaced by the verdict's result (`cdata`:
        the text of a CDATA section, without references)."""
        raw = m.group(group)
        if verdict is None and not _json_like(raw):
            return m.group(0)
        raw_text = cdata or (group == 4 and m.group(2).lower() in _RAW_TEXT)
        new = self._value(raw, verdict, location, out, raw_text=raw_text)
        if new == raw:
            return m.group(0)
        start, end = m.span(group)
        base = m.start(0)
        whole = m.group(0)
        return whole[: start - base] + new + whole[end - base :]

    def _tag(self, m: re.Match[str], location: str, out: list[Redaction]) -> str:
        attrs = list(_ATTR.finditer(m.group(0)))
        if not attrs:
            return m.group(0)
        names = {
            a.group(1).lower(): a.group(2) if a.group(2) is not None else a.group(3) for a in attrs
        }
        named = next((names[n] for n in _NAMING if names.get(n)), None)
        pair_name = html.unescape(named) if named and len(named) <= 64 else None
        pair = self.classify(pair_name) if pair_name else None
        whole = m.group(0)
        pieces: list[str] = []
        pos = 0
        for a in attrs:
            attr = a.group(1).lower()
            verdict: Verdict
            group = 2 if a.group(2) is not None else 3
            raw = a.group(group)
            if attr in _VALUED and pair_name:
                verdict = pair or self.classify(pair_name, raw)
            elif attr in _NAMING or attr in _MARKUP_ATTRS or attr.startswith(("xmlns", "aria-")):
                continue
            else:
                verdict = self.classify(a.group(1), raw)
            if verdict is None and not _json_like(raw):
                continue  # (a JSON document in it is walked: its keys decide, not the text's)
            new = self._value(raw, verdict, f"{location}.{named or attr}", out)
            if new != raw:
                pieces.append(whole[pos : a.start(group)])
                pieces.append(new)
                pos = a.end(group)
        if not pieces:
            return whole
        pieces.append(whole[pos:])
        return "".join(pieces)


def _attr_value(a: re.Match[str]) -> str:
    return a.group(2) if a.group(2) is not None else a.group(3)


def _json_like(raw: str) -> bool:
    """Might this text or attribute value be a JSON object or array (entity-escaped:
    `{&quot;st&quot;: ...}`)? `_value` then walks it like a JSON body."""
    core = raw.strip()
    return len(core) > 1 and core[0] in "{[" and core[-1] in "}]"
