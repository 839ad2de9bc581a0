"""Bodies: JSON, NDJSON, form, multipart, text and binary.

* **JSON** (any `json`/`+json` content type, or a body that parses as JSON whatever its
  content type claims): keys by `KeyClassifier` (a bare `name` only in a person's context),
  string leaves by the value detectors; only the replaced values and keys change, in the
  original bytes (`JsonWalker` decides, `reserialized` or `Splicer` edits). NDJSON, and
  the JSON `data:` lines of server-sent events, are edited line by line the same way.
* **Invalid or truncated JSON** falls back to text, where the `secret-key-value` detector
  still masks `"password": "..."` and `password=...` pairs.
* **Text** is decoded as UTF-8 with `surrogateescape` (or its declared charset), so bytes
  that were not touched survive exactly. Source code (by content type or shape) keeps its
  expressions out of the `key = value` rule.
* **Forms and multipart**: each untouched pair or part keeps its exact bytes.
* **Binary** (NUL bytes, control characters, invalid UTF-8) is never parsed; it is read as
  Latin-1 (one character per byte) and the same detectors run over it, so a token embedded in
  a protobuf or an image comment is still replaced. Replacements change lengths: a binary body
  that carried a secret is no longer a valid file of its format, by design.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from collections.abc import Iterable
from functools import partial
from typing import Any
from urllib.parse import quote
from urllib.parse import quote_plus
from urllib.parse import unquote
from urllib.parse import unquote_plus

import orjson

from amber._decode import looks_textual
from amber._model import Redaction
from amber._pseudonym import Pseudonymizer
from amber._pseudonym import is_foreign_marker
from amber._pseudonym import is_marker
from amber._pseudonym import marker

from ._encoded import reencoded
from ._fields import field_name
from ._fields import field_verdict
from ._json import NAME
from ._json import PERSON_VERDICTS
from ._json import SCAN
from ._json import JsonWalker
from ._json import Path
from ._json import Splicer
from ._json import raw_members
from ._json import render_path
from ._json import reserialized
from ._keys import KeyClassifier
from ._keys import Verdict
from ._keys import normalize_key
from ._keys import split_tokens
from ._keys import version_like
from ._markup import MarkupSanitizer
from ._streams import events
from ._streams import ndjson
from ._tabular import TabularSanitizer
from ._text import ConfigTextSanitizer
from ._text import config_like
from ._urls import UrlSanitizer
from ._urls import url_param_verdict
from ._values import ValueScanner

__all__ = ["BodySanitizer", "render_path"]

# 19 digits in a row (an integer orjson may not take), found as a run of one byte in the body
# translated to digit or not: ten times faster than the regex `[0-9]{19}` over the body
_DIGIT_OR_NOT = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
_DIGITS_19 = b"0" * 19
_BOUNDARY = re.compile(r'(?i)boundary=(?:"([^"]+)"|([^;\s]+))')
_CHARSET = re.compile(r'(?i)charset="?([\w.:-]+)')
_DISPOSITION_NAME = re.compile(rb'(?i)[;\s]name="([^"]*)"|[;\s]name=([^;\s]+)')
_DISPOSITION_FILE = re.compile(rb"(?i)[;\s]filename\*?=")
_QUERY_SAFE = "[]:@/,!$'()*"

_query_encode = partial(quote, safe=_QUERY_SAFE, errors="surrogateescape")
_form_encode = partial(quote_plus, safe=_QUERY_SAFE, errors="surrogateescape")


# Source code, by content type or by what its first 4 KiB look like.
# What is code in an HTML page: a script's or style's text (to its end if the page is cut)
# and an event handler's value (`onclick="..."`)
_HTML_CODE = re.compile(
    r"<(script|style)\b[^>]*>(.*?)(?:</\1\s*>|\Z)"
    r"|\son[a-z]{2,30}\s*=\s*(?:\"([^\"]*)\"|'([^']*)')",
    re.I | re.S,
)
_CODE_TYPE = re.compile(r"javascript|ecmascript|typescript|/css|/html|xhtml|jsx")
_CODE_SHAPE = re.compile(
    rb"\bfunction\s*[A-Za-z_$]*\s*\(|\)\s*=>|\b(?:const|let|var)\s+[A-Za-z_$][\w$]*\s*="
    rb"|\b(?:document|window)\.[a-z]|<script\b|^\s*(?:import|export)\s+[{*]|[.#]?[\w-]+\s*\{\s*"
    rb"[a-z-]+\s*:[^;{}]*;"
)
# The last token of a key whose object (or list of objects) is a person.
_PERSON_PARENTS = frozenset(
    {
        "user", "users", "customer", "customers", "owner", "owners", "author", "authors",
        "contact", "contacts", "member", "members", "person", "people", "persons",
        "profile", "profiles", "employee", "employees", "recipient", "recipients",
        "sender", "senders", "assignee", "assignees", "reporter", "creator", "patient",
        "patients", "student", "students", "buyer", "payer", "holder", "cardholder",
        "guest", "guests", "attendee", "attendees", "participant", "participants",
        "applicant", "passenger", "passengers", "traveler", "travelers", "driver",
        "drivers", "admin", "admins", "teacher", "teachers", "friend", "friends",
        "follower", "followers", "signer", "reviewer", "reviewers", "account_holder",
        # where payment and shop APIs put the person shipped or billed to (Stripe's
        # `shipping.name`, `billing_details.name`), and who receives a payment
        "shipping", "billing", "beneficiary",
        "beneficiaries", "payee", "payees", "consignee", "addressee",
    }
)  # fmt: skip


class BodySanitizer:
    """Sanitizes one body at a time; `out` collects the redactions."""

    def __init__(
        self, scanner: ValueScanner, keys: KeyClassifier, pseudonymizer: Pseudonymizer
    ) -> None:
        self.scanner = scanner
        self.keys = keys
        self.pseudo = pseudonymizer
        self.key_has_values: dict[str, bool] = {}
        self.person_keys: dict[str, bool] = {}
        self.key_infos: dict[str, tuple[Verdict, bool, bool, bool, bool]] = {}
        # strings the JSON walker found neither JSON nor a URL, and short or clean by the
        # value rules (none with custom rules): kept without a test
        self.clean_strings: set[str] = set()
        # kind -> (value -> the JSON walker's pseudonym of a leaf, None when it is kept):
        # one bounded dict per kind, so a stream of new emails does not flush the ids
        self.pseudonyms: dict[str, dict[Any, Any]] = {}
        self.urls = UrlSanitizer(self)
        self.markup = MarkupSanitizer(self)
        self.tabular = TabularSanitizer(self)
        self.config = ConfigTextSanitizer(self)

    def key_info(self, key: str) -> tuple[Verdict, bool, bool, bool, bool]:
        """What the JSON walker needs of an object key, cached (keys repeat): its verdict,
        whether the value rules might change the key itself, whether it holds a person
        (`person_key`), whether `field_verdict` might give its value one, and whether it
        is ordinary (none of the first, second and fourth: only its value's text counts)."""
        verdict = self.keys.classify(key)
        renamable = self.key_might_match(key)
        named = field_name(key)
        info = (
            verdict,
            renamable,
            self.person_key(key),
            named,
            verdict is None and not renamable and not named,
        )
        if len(self.key_infos) < 100_000:
            self.key_infos[key] = info
        return info

    def key_might_match(self, key: str) -> bool:
        """Could the value rules change this object key? (Cached: keys repeat.)"""
        found = self.key_has_values.get(key)
        if found is None:
            found = len(key) > 5 and self.scanner.might_match(key)
            if len(self.key_has_values) < 100_000:
                self.key_has_values[key] = found
        return found

    # -- dispatch ---------------------------------------------------------------------

    def sanitize(
        self, body: bytes, content_type: str | None, location: str, out: list[Redaction]
    ) -> bytes:
        """`body` sanitized according to its content type (or what it looks like)."""
        if not body:
            return body
        ct = (content_type or "").lower()
        if "multipart/" in ct:
            m = _BOUNDARY.search(content_type or "")
            if m:
                result = self.multipart(
                    body, (m.group(1) or m.group(2)).encode("latin-1"), location, out
                )
                if result is not None:
                    return result
        if "ndjson" in ct or "jsonl" in ct or "json-seq" in ct:
            return self.ndjson(body, location, out)
        if "event-stream" in ct:
            return self.events(body, location, out)
        if "json" in ct or body.lstrip()[:1] in (b"{", b"["):
            result = self.json(body, location, out)
            if result is not None:
                return result
        if "x-www-form-urlencoded" in ct:
            return self.form(body, location, out)
        code = _CODE_TYPE.search(ct) is not None or _CODE_SHAPE.search(body, 0, 4096) is not None
        markup = "xml" in ct or "html" in ct or body.lstrip()[:1] == b"<"
        table = "csv" in ct or "tab-separated" in ct
        return self.text(
            body,
            location,
            out,
            charset=_charset(content_type),
            code=code,
            markup=markup,
            table=table,
            config=not (code or markup or table) and config_like(body, ct),
        )

    # -- JSON -------------------------------------------------------------------------

    def json(self, body: bytes, location: str, out: list[Redaction]) -> bytes | None:
        """The sanitized JSON, or None when `body` is not valid JSON.

        The parsed document decides what to replace (`JsonWalker`); the replacements are
        then spliced into the original text (`Splicer`), so every byte outside a replaced
        value or key stays as it was: whitespace, escapes, number spelling, key order and
        duplicate keys.
        """
        try:
            if _DIGITS_19 in body.translate(_DIGIT_OR_NOT):
                raise ValueError("integer wider than 64 bits")
            obj = orjson.loads(body)
        except ValueError:
            try:
                obj = json.loads(body)
            except (ValueError, RecursionError):
                return None
        walker = JsonWalker(self, location, out)
        walker.walk(obj)
        duplicates = walker.members != raw_members(body)
        if not duplicates and not walker.edits and not walker.renames:
            return body
        if not duplicates and not walker.renames and None not in walker.edits:
            fast = reserialized(obj, body, walker.sets)
            if fast is not None:
                return fast
        if duplicates:
            # a key repeats (or a string holds `":`): the parsed document kept only the last
            # of each repeated key, so walk it again noting each object's context (its
            # redactions are already in `out`), and the splicer sanitizes the earlier
            # members from their own text, recording theirs in `out`
            walker = JsonWalker(self, location, [], contexts={})
            walker.walk(obj)
            walker.out = out
        encoding = json.detect_encoding(body)
        text = body.decode(encoding, "surrogatepass")
        new = Splicer(text, walker, duplicates).run(None)
        return body if new == text else new.encode(encoding, "surrogatepass")

    def json_text(self, text: str, location: str, out: list[Redaction]) -> str | None:
        """A form value, header, cell or field that is a JSON document, walked and edited
        in place like a JSON body (`payload={"code": "..."}`); None when it is not JSON."""
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:
            return None
        new = self.json(raw, location, out)
        if new is None:
            return None
        return text if new is raw else new.decode("utf-8", "surrogateescape")

    def orphan(self, text: str, path: tuple[Path, str], walker: JsonWalker) -> str:
        """The value of a member that a later repeated key hid from the parsed document.

        It is sanitized as a member of its object (same inherited verdict and person
        context, from `walker.contexts`) and returned as text, edited in place.
        """
        parent, key = path
        sub = JsonWalker(self, walker.location, walker.out, contexts={})
        inherited, person = (walker.contexts or {}).get(parent, (None, False))
        sub.walk_member(key, SCAN(text, 0)[0], parent, inherited, person)
        return Splicer(text, sub, True).run(path)

    def person_key(self, key: str) -> bool:
        """Does this key hold a person (`user`, `customers`, `billing_contact`)? Cached."""
        found = self.person_keys.get(key)
        if found is None:
            tokens = split_tokens(key)
            found = bool(tokens) and tokens[-1] in _PERSON_PARENTS
            if len(self.person_keys) < 100_000:
                self.person_keys[key] = found
        return found

    def ndjson(self, body: bytes, location: str, out: list[Redaction]) -> bytes:
        """NDJSON: each line a JSON body (`_streams.ndjson`)."""
        return ndjson(self, body, location, out)

    def events(self, body: bytes, location: str, out: list[Redaction]) -> bytes:
        """Server-sent events: JSON `data:` lines as JSON bodies (`_streams.events`)."""
        return events(self, body, location, out)

    # -- form and query ---------------------------------------------------------------

    def form(self, body: bytes, location: str, out: list[Redaction]) -> bytes:
        text = body.decode("utf-8", "surrogateescape")
        return self.pairs(text, f"{location}.form", out, plus=True).encode(
            "utf-8", "surrogateescape"
        )

    def pairs(
        self, raw: str, location: str, out: list[Redaction], *, plus: bool, url: bool = False
    ) -> str:
        """`a=1&b=2` with each value sanitized by its key, then by the value rules.

        `url`: the pairs are a URL's query, where signed-URL and OAuth parameters
        (`X-Amz-Signature`, `sig`, `code`...) are secrets too (`url_param_verdict`).
        Untouched pairs keep their exact encoding, and so does what a changed value keeps
        (`reencoded`); what was replaced is percent-encoded (`[`, `]`, `:` and `@` are left
        readable).
        """
        if not raw:
            return raw
        unq = unquote_plus if plus else unquote
        pieces = raw.split("&")
        changed = False
        for i, piece in enumerate(pieces):
            if not piece:
                continue
            name_raw, eq, value_raw = piece.partition("=")
            name = unq(name_raw, errors="surrogateescape")
            value = unq(value_raw, errors="surrogateescape")
            hits: list[Redaction] = []
            new_name = self.scanner.apply(name, f"{location}", hits) if len(name) > 5 else name
            loc = f"{location}.{new_name}"
            if hits:
                out.extend(Redaction(h.rule, loc, h.action) for h in hits)
            verdict = self.field_verdict(
                name,
                lambda: (unq(p.partition("=")[0], errors="surrogateescape") for p in pieces),
                value,
            )
            if verdict is None and url:
                verdict = url_param_verdict(name, value)
            if not eq or (verdict is None and version_like(name, value)):
                new_value = value  # `version=2.4.1.0` is not an address
            else:
                new_value = self.scalar_by_verdict(value, verdict, loc, out)
            if new_name == name and new_value == value:
                continue
            changed = True
            enc = _form_encode if plus else _query_encode
            n = name_raw if new_name == name else reencoded(name_raw, new_name, enc, plus=plus)
            v = value_raw if new_value == value else reencoded(value_raw, new_value, enc, plus=plus)
            pieces[i] = f"{n}{eq}{v}"
        return "&".join(pieces) if changed else raw

    def field_verdict(
        self, name: str, siblings: Callable[[], Iterable[str]], value: str | None = None
    ) -> Verdict:
        """A form or multipart field's verdict; a bare `name` is a person's only beside a
        person's other fields (`email`, `phone`...): `name=mug&qty=1` is a product. With
        `value`, the names `_fields.field_verdict` knows (signed-URL parameters, cookie
        names, `code` with a token) count too."""
        verdict = self.keys.classify(name)
        if verdict is None:
            return None if value is None else field_verdict(name, value)
        if (
            verdict == NAME
            and normalize_key(name) == "name"
            and not any(self.keys.classify(n) in PERSON_VERDICTS for n in siblings())
        ):
            return None
        return verdict

    def scalar_by_verdict(
        self, value: str, verdict: Verdict, location: str, out: list[Redaction]
    ) -> str:
        """A string value under a key: masked, pseudonymized, or scanned by the URL and
        value rules (`redirect=https%3A%2F%2Fu%3Apw%40host` holds a URL)."""
        if verdict is None:
            if len(value) > 1 and value[0] in "{[" and value[-1] in "}]":
                edited = self.json_text(value, location, out)
                if edited is not None:
                    return edited
            return self.scanner.apply(self.urls.in_text(value, location, out), location, out)
        if not value or is_marker(value) or is_foreign_marker(value):
            return value
        action, what = verdict
        if action == "mask":
            out.append(Redaction(what, location, "mask"))
            return marker(what)
        if self.pseudo.is_own(what, value):
            return value
        out.append(Redaction(what, location, "pseudonym"))
        return self.pseudo.pseudonym(what, value)

    # -- multipart --------------------------------------------------------------------

    def multipart(
        self, body: bytes, boundary: bytes, location: str, out: list[Redaction]
    ) -> bytes | None:
        """Each part by its field name and content; the framing is kept byte for byte.

        Text parts (and file parts whose content is text) are sanitized like bodies; binary
        file parts get the binary treatment. None when the body has no such boundary.
        """
        delim = b"--" + boundary
        chunks = body.split(delim)
        if len(chunks) < 3:
            return None
        for i in range(1, len(chunks)):
            chunk = chunks[i]
            if chunk.startswith(b"--"):
                break  # the closing delimiter; the rest is the epilogue
            sep = b"\r\n\r\n"
            head_end = chunk.find(sep)
            if head_end < 0:
                sep = b"\n\n"
                head_end = chunk.find(sep)
            if head_end < 0:
                continue
            head = chunk[:head_end]
            content = chunk[head_end + len(sep) :]
            tail = b""
            for t in (b"\r\n", b"\n"):
                if content.endswith(t):
                    content, tail = content[: -len(t)], t
                    break
            m = _DISPOSITION_NAME.search(head)
            raw_name = (
                m.group(1) if m and m.group(1) is not None else (m.group(2) if m else b"")
            ) or b""
            name = raw_name.decode("utf-8", "replace")
            # the location names the field as stored: an email used as a field name is
            # replaced in the part's head below, and must not come back through `loc`
            shown = self.scanner.apply(name, "", []) if len(name) > 5 else name
            loc = f"{location}.multipart.{shown or i}"
            is_file = _DISPOSITION_FILE.search(head) is not None
            head_text = head.decode("utf-8", "surrogateescape")
            new_head = self.scanner.apply(head_text, loc, out).encode("utf-8", "surrogateescape")
            part_ct = _part_header(head, b"content-type")
            verdict = (
                None
                if is_file
                else self.field_verdict(
                    name,
                    lambda: (
                        n.decode("utf-8", "replace")
                        for ns in _DISPOSITION_NAME.findall(body)
                        for n in ns
                    ),
                    # a token is short: a long part is judged by its name alone
                    content.decode("utf-8", "surrogateescape").strip()
                    if len(content) <= 4096
                    else "",
                )
            )
            if (
                verdict is None
                and len(content) <= 64
                and version_like(name, content.decode("latin-1").strip())
            ):
                new_content = content  # a `version` field's `2.4.1.0`
            elif verdict is not None and content:
                text = content.decode("utf-8", "surrogateescape")
                new_content = self.scalar_by_verdict(text, verdict, loc, out).encode(
                    "utf-8", "surrogateescape"
                )
            else:
                new_content = self.sanitize(content, part_ct, loc, out)
            chunks[i] = new_head + sep + new_content + tail
        return delim.join(chunks)

    # -- text and binary --------------------------------------------------------------

    def text(
        self,
        body: bytes,
        location: str,
        out: list[Redaction],
        *,
        charset: str | None = None,
        code: bool = False,
        markup: bool = False,
        table: bool = False,
        config: bool = False,
    ) -> bytes:
        """Text by the value rules; `code` (JavaScript, CSS, HTML source) keeps expressions
        such as `token = sessionStorage.getItem(...)` out of the `key = value` rule, and
        `markup` (XML, SOAP, HTML) applies the key rules to tags and attributes first, and
        `table` (CSV, TSV) to columns by their header, `config` (YAML, INI, `.env`) to
        `key: value` and `KEY=value` lines (`_text.py`)."""
        if charset and charset.replace("-", "").replace("_", "") not in (
            "utf8",
            "usascii",
            "ascii",
        ):
            try:
                codec = codecs.lookup(charset).name
                decoded = body.decode(codec, "surrogateescape")
                new = self._text(decoded, f"{location}:text", out, code, markup, table, config)
                return body if new == decoded else new.encode(codec, "surrogateescape")
            except (LookupError, UnicodeError):
                pass
        if not looks_textual(body):
            return self.binary(body, location, out)
        decoded = body.decode("utf-8", "surrogateescape")
        new = self._text(decoded, f"{location}:text", out, code, markup, table, config)
        return body if new is decoded or new == decoded else new.encode("utf-8", "surrogateescape")

    def _text(
        self,
        text: str,
        location: str,
        out: list[Redaction],
        code: bool,
        markup: bool,
        table: bool,
        config: bool = False,
        html: bool = False,
    ) -> str:
        """Markup by its tags and attributes, then the URLs in `text` by the URL rules and
        all of it by the value rules; a table cell by cell instead. `html`: markup that is
        code by its type or shape, whose scripts, styles and event handlers are code and
        whose other text is not (`<pre>DB_PASSWORD=...</pre>` on a debug page is a pair)."""
        kept: list[tuple[int, int]] = []
        if markup:
            text = self.markup.apply(text, location, out)
            # the value rules run around `value="2.4.1.0"` under a version name
            kept = self.markup.versions(text)
            html = code
        elif config and not code:
            # and around what the config rules replaced (`private_key: |` is no pair)
            text, kept = self.config.apply(text, location, out)
        if kept:
            pieces: list[str] = []
            pos = 0
            for start, end in kept:
                pieces.append(
                    self._text(text[pos:start], location, out, code, False, False, html=html)
                )
                pieces.append(text[start:end])
                pos = end
            pieces.append(self._text(text[pos:], location, out, code, False, False, html=html))
            return "".join(pieces)
        if table:
            cells = self.tabular.apply(text, location, out)
            if cells is not None:
                return cells
        if html and code:
            pieces = []
            pos = 0
            for m in _HTML_CODE.finditer(text):
                start, end = m.span(m.lastindex or 0)
                pieces.append(self._plain(text[pos:start], location, out, False))
                pieces.append(self._plain(text[start:end], location, out, True))
                pos = end
            pieces.append(self._plain(text[pos:], location, out, False))
            return "".join(pieces)
        return self._plain(text, location, out, code)

    def _plain(self, text: str, location: str, out: list[Redaction], code: bool) -> str:
        """The URL rules, then the value rules (`code`: for source code)."""
        if not text:
            return text
        return self.scanner.apply(self.urls.in_text(text, location, out), location, out, code=code)

    def binary(self, body: bytes, location: str, out: list[Redaction]) -> bytes:
        decoded = body.decode("latin-1")
        new = self.scanner.apply(decoded, f"{location}:binary", out)
        if new is decoded or new == decoded:
            return body
        return new.encode("latin-1", "replace")


def _part_header(head: bytes, name: bytes) -> str | None:
    for line in head.split(b"\n"):
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip().decode("latin-1")
    return None


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _CHARSET.search(content_type)
    return m.group(1) if m else None
