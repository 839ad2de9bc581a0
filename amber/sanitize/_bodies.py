"""Bodies: JSON, NDJSON, form, multipart, text and binary.

* **JSON** (any `json`/`+json` content type, or a body that parses as JSON whatever its
  content type claims): keys by `KeyClassifier` (a bare `name` only in a person's context),
  string leaves by the value detectors; only the replaced values and keys change, in the
  original bytes (`_JsonWalker` decides, `_reserialized` or `_Splicer` edits). NDJSON is
  edited line by line the same way.
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
from typing import Any
from typing import cast
from urllib.parse import quote
from urllib.parse import quote_plus
from urllib.parse import unquote
from urllib.parse import unquote_plus

import orjson

from amber._decode import looks_textual
from amber._model import Redaction
from amber._pseudonym import Pseudonymizer
from amber._pseudonym import is_marker
from amber._pseudonym import is_synthetic
from amber._pseudonym import marker

from ._keys import KeyClassifier
from ._keys import Verdict
from ._keys import normalize_key
from ._keys import split_tokens
from ._keys import version_like
from ._values import ValueScanner
from ._values import _card_ok

__all__ = ["BodySanitizer", "render_path"]

_BIG_INT = re.compile(rb"[0-9]{19}")
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BOUNDARY = re.compile(r'(?i)boundary=(?:"([^"]+)"|([^;\s]+))')
_CHARSET = re.compile(r'(?i)charset="?([\w.:-]+)')
_DISPOSITION_NAME = re.compile(rb'(?i)[;\s]name="([^"]*)"|[;\s]name=([^;\s]+)')
_DISPOSITION_FILE = re.compile(rb"(?i)[;\s]filename\*?=")
_QUERY_SAFE = "[]:@/,!$'()*"
_KEY_SPACED = re.compile(rb'"[ \t\n\r]+:')
# the end of the whitespace at an index (the pattern matches everywhere, if only "")
_WS = cast(Callable[[str, int], "re.Match[str]"], re.compile(r"[ \t\n\r]*").match)
# the stdlib's C scanners (untyped in typeshed): (value, end) of the value at an index, and
# (string, end) of the string whose opening quote is just before the index
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
# Source code, by content type or by what its first 4 KiB look like.
_CODE_TYPE = re.compile(r"javascript|ecmascript|typescript|/css|/html|xhtml|jsx")
_CODE_SHAPE = re.compile(
    rb"\bfunction\s*[A-Za-z_$]*\s*\(|\)\s*=>|\b(?:const|let|var)\s+[A-Za-z_$][\w$]*\s*="
    rb"|\b(?:document|window)\.[a-z]|<script\b|^\s*(?:import|export)\s+[{*]|[.#]?[\w-]+\s*\{\s*"
    rb"[a-z-]+\s*:[^;{}]*;"
)
_NAME: Verdict = ("pseudonym", "name")
# The identity kinds that say, in a sibling key, that an object is about a person.
_PERSON_VERDICTS = frozenset(
    ("pseudonym", k) for k in ("email", "phone", "first_name", "last_name", "username")
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
    }
)  # fmt: skip

Path = tuple[Any, ...] | None


def render_path(path: Path) -> str:
    """`$.items[3].email` from the linked path `((((None, 'items'), 3), 'email')`."""
    parts: list[str] = []
    while path is not None:
        path, key = path
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _SIMPLE_KEY.fullmatch(key):
            parts.append(f".{key}")
        else:
            parts.append(f"[{json.dumps(key)}]")
    return "$" + "".join(reversed(parts))


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
                result = self.multipart(body, (m.group(1) or m.group(2)).encode("latin-1"),
                                        location, out)
                if result is not None:
                    return result
        if "ndjson" in ct or "jsonl" in ct or "json-seq" in ct:
            return self.ndjson(body, location, out)
        if "json" in ct or body.lstrip()[:1] in (b"{", b"["):
            result = self.json(body, location, out)
            if result is not None:
                return result
        if "x-www-form-urlencoded" in ct:
            return self.form(body, location, out)
        return self.text(body, location, out, charset=_charset(content_type),
                         code=_CODE_TYPE.search(ct) is not None
                         or _CODE_SHAPE.search(body, 0, 4096) is not None)

    # -- JSON -------------------------------------------------------------------------

    def json(self, body: bytes, location: str, out: list[Redaction]) -> bytes | None:
        """The sanitized JSON, or None when `body` is not valid JSON.

        The parsed document decides what to replace (`_JsonWalker`); the replacements are
        then spliced into the original text (`_Splicer`), so every byte outside a replaced
        value or key stays as it was: whitespace, escapes, number spelling, key order and
        duplicate keys.
        """
        try:
            if _BIG_INT.search(body):
                raise ValueError("integer wider than 64 bits")
            obj = orjson.loads(body)
        except ValueError:
            try:
                obj = json.loads(body)
            except (ValueError, RecursionError):
                return None
        walker = _JsonWalker(self, location, out)
        walker.walk(obj)
        duplicates = walker.members != _raw_members(body)
        if not duplicates and not walker.edits and not walker.renames:
            return body
        if not duplicates and not walker.renames and None not in walker.edits:
            fast = _reserialized(obj, body, walker.sets)
            if fast is not None:
                return fast
        if duplicates:
            # a key repeats (or a string holds `":`): the parsed document kept only the last
            # of each repeated key, so walk it again noting each object's context (its
            # redactions are already in `out`), and the splicer sanitizes the earlier
            # members from their own text, recording theirs in `out`
            walker = _JsonWalker(self, location, [], contexts={})
            walker.walk(obj)
            walker.out = out
        encoding = json.detect_encoding(body)
        text = body.decode(encoding, "surrogatepass")
        new = _Splicer(text, walker, duplicates).run(None)
        return body if new == text else new.encode(encoding, "surrogatepass")

    def orphan(self, text: str, path: tuple[Path, str], walker: _JsonWalker) -> str:
        """The value of a member that a later repeated key hid from the parsed document.

        It is sanitized as a member of its object (same inherited verdict and person
        context, from `walker.contexts`) and returned as text, edited in place.
        """
        parent, key = path
        sub = _JsonWalker(self, walker.location, walker.out, contexts={})
        inherited, person = (walker.contexts or {}).get(parent, (None, False))
        sub.walk_member(key, _SCAN(text, 0)[0], parent, inherited, person)
        return _Splicer(text, sub, True).run(path)

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
        lines = body.split(b"\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            result = self.json(line, f"{location}[{i}]", out)
            lines[i] = result if result is not None else self.text(line, location, out)
        return b"\n".join(lines)

    # -- form and query ---------------------------------------------------------------

    def form(self, body: bytes, location: str, out: list[Redaction]) -> bytes:
        text = body.decode("utf-8", "surrogateescape")
        return self.pairs(text, f"{location}.form", out, plus=True).encode(
            "utf-8", "surrogateescape"
        )

    def pairs(self, raw: str, location: str, out: list[Redaction], *, plus: bool) -> str:
        """`a=1&b=2` with each value sanitized by its key, then by the value rules.

        Untouched pairs keep their exact encoding; replaced values are percent-encoded
        (`[`, `]`, `:` and `@` are left readable).
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
            verdict = self.field_verdict(name, lambda: (
                unq(p.partition("=")[0], errors="surrogateescape") for p in pieces))
            if not eq or (verdict is None and version_like(name, value)):
                new_value = value  # `version=2.4.1.0` is not an address
            else:
                new_value = self.scalar_by_verdict(value, verdict, loc, out)
            if new_name == name and new_value == value:
                continue
            changed = True
            enc: Callable[..., str] = quote_plus if plus else quote
            n = name_raw if new_name == name else enc(new_name, safe=_QUERY_SAFE,
                                                      errors="surrogateescape")
            v = value_raw if new_value == value else enc(new_value, safe=_QUERY_SAFE,
                                                         errors="surrogateescape")
            pieces[i] = f"{n}{eq}{v}"
        return "&".join(pieces) if changed else raw

    def field_verdict(self, name: str, siblings: Callable[[], Iterable[str]]) -> Verdict:
        """A form or multipart field's verdict; a bare `name` is a person's only beside a
        person's other fields (`email`, `phone`...): `name=mug&qty=1` is a product."""
        verdict = self.keys.classify(name)
        if verdict == _NAME and normalize_key(name) == "name" and not any(
            self.keys.classify(n) in _PERSON_VERDICTS for n in siblings()
        ):
            return None
        return verdict

    def scalar_by_verdict(
        self, value: str, verdict: Verdict, location: str, out: list[Redaction]
    ) -> str:
        """A string value under a key: masked, pseudonymized, or scanned by value rules."""
        if verdict is None:
            return self.scanner.apply(value, location, out)
        if not value or is_marker(value):
            return value
        action, what = verdict
        if action == "mask":
            out.append(Redaction(what, location, "mask"))
            return marker(what)
        if is_synthetic(what, value):
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
            raw_name = (m.group(1) if m and m.group(1) is not None else
                        (m.group(2) if m else b"")) or b""
            name = raw_name.decode("utf-8", "replace")
            loc = f"{location}.multipart.{name or i}"
            is_file = _DISPOSITION_FILE.search(head) is not None
            head_text = head.decode("utf-8", "surrogateescape")
            new_head = self.scanner.apply(head_text, loc, out).encode("utf-8", "surrogateescape")
            part_ct = _part_header(head, b"content-type")
            verdict = None if is_file else self.field_verdict(name, lambda: (
                n.decode("utf-8", "replace") for ns in _DISPOSITION_NAME.findall(body)
                for n in ns))
            if verdict is None and len(content) <= 64 and version_like(
                name, content.decode("latin-1").strip()
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
    ) -> bytes:
        """Text by the value rules; `code` (JavaScript, CSS, HTML source) keeps expressions
        such as `token = sessionStorage.getItem(...)` out of the `key = value` rule."""
        if charset and charset.replace("-", "").replace("_", "") not in ("utf8", "usascii",
                                                                          "ascii"):
            try:
                codec = codecs.lookup(charset).name
                decoded = body.decode(codec, "surrogateescape")
                new = self.scanner.apply(decoded, f"{location}:text", out, code=code)
                return body if new == decoded else new.encode(codec, "surrogateescape")
            except (LookupError, UnicodeError):
                pass
        if not looks_textual(body):
            return self.binary(body, location, out)
        decoded = body.decode("utf-8", "surrogateescape")
        new = self.scanner.apply(decoded, f"{location}:text", out, code=code)
        return body if new is decoded or new == decoded else new.encode(
            "utf-8", "surrogateescape"
        )

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


def _raw_members(body: bytes) -> int:
    """Object members in the JSON text (at least: a string may also hold `":`)."""
    n = body.count(b'":')
    if _KEY_SPACED.search(body) is not None:
        n += len(_KEY_SPACED.findall(body))
    return n


def _dumps_python(obj: Any) -> bytes:
    """`json.dumps` with its defaults: `", "` and `": "` separators, ASCII only."""
    return json.dumps(obj).encode("ascii")


def _reserialized(obj: Any, body: bytes, sets: list[tuple[Any, Any, Any]]) -> bytes | None:
    """The edited document re-serialized, when that is byte for byte the same as splicing.

    When orjson's compact output (or `json.dumps`' default, for bodies with `", "` and
    `": "`) of the parsed document gives back `body` exactly (whitespace at its end aside),
    serializing the edited document changes only the edited values, and is much faster
    than following the text. None when it does not (then the splicer runs). `sets` are
    the walker's `(container, key, new value)` edits.
    """
    core = body.rstrip(b" \t\r\n")
    head = core[:256]
    dumps = _dumps_python if b'": ' in head or b'", ' in head else orjson.dumps
    try:
        if dumps(obj) != core:
            return None
        for container, key, new in sets:
            container[key] = new
        return dumps(obj) + body[len(core) :]
    except (TypeError, ValueError, UnicodeEncodeError):
        return None  # big integers (orjson), lone surrogates (orjson), NaN (ASCII encoding)


def _encode(value: Any) -> str:
    """`value` as a JSON token to put in place of another one."""
    if type(value) is not str:
        return json.dumps(value)
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate kept from a `\ud800` escape
        return json.dumps(value)
    return text


class _JsonWalker:
    """Walks a parsed JSON document and records, by path, what to replace.

    `edits` maps a value's path to its replacement, `renames` a key's path to the key's
    new text, `members` counts object members (fewer than the text has: a key repeats).
    Locations are built only for redactions. With `contexts`, each object's inherited
    verdict and person flag are noted by path (for members a repeated key hid).
    """

    def __init__(
        self,
        owner: BodySanitizer,
        location: str,
        out: list[Redaction],
        contexts: dict[Path, tuple[Verdict, bool]] | None = None,
    ) -> None:
        self.owner = owner
        self.location = location
        self.out = out
        self.contexts = contexts
        self.edits: dict[Path, Any] = {}
        self.renames: dict[Path, str] = {}
        self.sets: list[tuple[Any, Any, Any]] = []
        self.members = 0
        self._apply = owner.scanner.apply
        self._classify = owner.keys.classify
        self._key_check = owner.key_might_match

    def loc(self, path: Path) -> str:
        return self.location + render_path(path)

    def walk(self, obj: Any) -> None:
        t = type(obj)
        if t is dict:
            self._dict(obj, None, None, False)
        elif t is list:
            self._list(obj, None, None, False)
        else:
            new = self._leaf(obj, None, None)
            if new is not obj:
                self.edits[None] = new

    def walk_member(
        self, key: str, value: Any, parent: Path, inherited: Verdict, person: bool
    ) -> None:
        """Walk one member of the object at `parent`, with that object's context."""
        self._dict({key: value}, parent, inherited, person)

    def _about_person(self, d: dict[str, Any]) -> bool:
        """Does a sibling key say the object is a person (`email`, `first_name`...)?"""
        classify = self._classify
        return any(classify(k) in _PERSON_VERDICTS for k in d)

    def _dict(self, d: dict[str, Any], path: Path, inherited: Verdict, person: bool) -> None:
        self.members += len(d)
        if self.contexts is not None:
            self.contexts[path] = (inherited, person or self._about_person(d))
        classify = self._classify
        person_key = self.owner.person_key
        for k, v in d.items():
            verdict = classify(k)
            inh = False
            if verdict is None:
                if inherited is not None:
                    verdict = inherited
                    inh = True
            elif verdict == _NAME and not person and normalize_key(k) == "name" and (
                not self._about_person(d)
            ):
                # a product's, region's or file's name: only a person's is pseudonymized
                verdict, inh = inherited, inherited is not None
            t = type(v)
            if t is dict:
                self._dict(v, (path, k), verdict, person_key(k))
            elif t is list:
                self._list(v, (path, k), verdict, person_key(k))
            else:
                kp = (path, k)
                nv = self._leaf(v, verdict, kp, inherited=inh, siblings=d)
                if nv is not v:
                    self.edits[kp] = nv
                    self.sets.append((d, k, nv))
            if self._key_check(k):
                self._rename(k, path)

    def _rename(self, k: str, path: Path) -> None:
        """Replace what the value rules find in a key (an email used as a key)."""
        hits: list[Redaction] = []
        nk = self._apply(k, "", hits)
        if hits:
            loc = self.loc((path, nk))
            self.out.extend(Redaction(h.rule, loc, h.action) for h in hits)
            self.renames[(path, k)] = nk

    def _list(self, items: list[Any], path: Path, verdict: Verdict, person: bool) -> None:
        for i, v in enumerate(items):
            t = type(v)
            if t is dict:
                self._dict(v, (path, i), verdict, person)
            elif t is list:
                self._list(v, (path, i), verdict, person)
            else:
                nv = self._leaf(v, verdict, (path, i), inherited=True)
                if nv is not v:
                    self.edits[(path, i)] = nv
                    self.sets.append((items, i, nv))

    def _str(self, s: str, path: Path, siblings: dict[str, Any] | None) -> str:
        hits: list[Redaction] = []
        new = self._apply(s, "", hits)
        if not hits:
            return s  # `new` may be an equal string from the scanner's memo
        if _version_value(s, path, siblings):
            return s  # `"version": "2.4.1.0"` is not an address
        loc = self.loc(path)
        self.out.extend(Redaction(h.rule, loc, h.action) for h in hits)
        return new

    def _leaf(self, v: Any, verdict: Verdict, path: Path, *, inherited: bool = False,
              siblings: dict[str, Any] | None = None) -> Any:
        t = type(v)
        if verdict is None:
            if t is str:
                return self._str(v, path, siblings)
            if t is int and (v >= 10**12 or v <= -(10**12)) and _card_ok(str(abs(v))):
                self.out.append(Redaction("credit-card", self.loc(path), "mask"))
                return marker("credit-card")
            return v
        action, what = verdict
        if action == "mask":
            if v is None or v == "" or (t is str and is_marker(v)):
                return v
            self.out.append(Redaction(what, self.loc(path), "mask"))
            return marker(what)
        # pseudonym
        if t is str:
            if not v or is_marker(v) or is_synthetic(what, v):
                return v
            self.out.append(Redaction(what, self.loc(path), "pseudonym"))
            return self.owner.pseudo.pseudonym(what, v)
        if t is int and not inherited and what in ("customer_id", "phone"):
            fake = self.owner.pseudo.pseudonym(what, str(v))
            digits = "".join(c for c in fake if c.isdigit())
            if digits:
                self.out.append(Redaction(what, self.loc(path), "pseudonym"))
                return int(digits) if v >= 0 else -int(digits)
        return v


def _version_value(s: str, path: Path, siblings: dict[str, Any] | None) -> bool:
    """Is `s` a version by its key (a list item's: its list's key), or, in a name/value
    pair (`{"name": "APP_VERSION", "value": "2.4.1.0"}`, `{"Key": "build", "Value": ...}`),
    by the name beside it?"""
    while path is not None and not isinstance(path[1], str):
        path = path[0]
    if path is None:
        return False
    key: str = path[1]
    if version_like(key, s):
        return True
    if siblings is None or key.lower() != "value":
        return False
    name = next((v for k, v in siblings.items() if k.lower() in ("name", "key")), None)
    return isinstance(name, str) and version_like(name, s)


class _Splicer:
    """Puts a walker's replacements into the original JSON text, touching nothing else.

    It follows the text with the stdlib's C scanner, descending only into the objects and
    arrays that hold a replacement (every one with `full`, when keys repeat: a member
    whose key comes again later in its object is an orphan, sanitized from its own text
    by `BodySanitizer.orphan`), and skipping every other value in one call.
    """

    def __init__(self, text: str, walker: _JsonWalker, full: bool) -> None:
        self.text = text
        self.walker = walker
        self.edits = walker.edits
        self.renames = walker.renames
        self.full = full
        self.splices: list[tuple[int, int, str]] = []
        # every container path that holds a replacement, mapped to the walker's own tuple:
        # paths built on it compare by identity, not by a recursion as deep as the path
        hot: dict[Path, Path] = {}
        for p in (*self.edits, *self.renames):
            q = p
            while q is not None:
                q = q[0]
                if q in hot:
                    break
                hot[q] = q
        self.hot = hot

    def run(self, root: Path) -> str:
        """The text with every replacement made; `root` is the path of its value."""
        s = self.text
        self.value(_WS(s, 0).end(), root)
        if not self.splices:
            return s
        self.splices.sort()
        pieces: list[str] = []
        pos = 0
        for start, end, new in self.splices:
            pieces.append(s[pos:start])
            pieces.append(new)
            pos = end
        pieces.append(s[pos:])
        return "".join(pieces)

    def value(self, i: int, path: Path) -> int:
        """Where the value at `i` ends, after replacing it or what it holds."""
        end = self.skip(i, path)
        if end >= 0:
            return end
        return self.obj(i, path) if self.text[i] == "{" else self.arr(i, path)

    def skip(self, i: int, path: Path) -> int:
        """Where the value at `i` ends if it is replaced or holds nothing to replace, else -1.

        (`obj` and `arr` descend themselves, one stack frame per level of nesting.)
        """
        if path in self.edits:
            end: int = _SCAN(self.text, i)[1]
            self.splices.append((i, end, _encode(self.edits[path])))
            return end
        if self.text[i] in "{[" and (self.full or path in self.hot):
            return -1
        end = _SCAN(self.text, i)[1]
        return end

    def obj(self, i: int, path: Path) -> int:
        s, ws = self.text, _WS
        path = self.hot.get(path, path)
        i = ws(s, i + 1).end()
        if s[i] == "}":
            return i + 1
        members: list[tuple[tuple[Path, str], int, int]] = []
        while True:
            key, j = _scanstring(s, i + 1)
            kp = (path, key)
            new_key = self.renames.get(kp)
            if new_key is not None:
                self.splices.append((i, j, _encode(new_key)))
            i = ws(s, ws(s, j).end() + 1).end()  # past the colon
            if self.full:
                end: int = _SCAN(s, i)[1]
                members.append((kp, i, end))
                i = end
            else:
                end = self.skip(i, kp)
                if end < 0:
                    end = self.obj(i, kp) if s[i] == "{" else self.arr(i, kp)
                i = end
            i = ws(s, i).end()
            if s[i] == "}":
                break
            i = ws(s, i + 1).end()  # past the comma
        if members:
            last = {kp: n for n, (kp, _, _) in enumerate(members)}
            for n, (kp, start, end) in enumerate(members):
                if last[kp] == n:
                    self.value(start, kp)
                else:
                    orphan = self.walker.owner.orphan(s[start:end], kp, self.walker)
                    self.splices.append((start, end, orphan))
        return i + 1

    def arr(self, i: int, path: Path) -> int:
        s, ws = self.text, _WS
        path = self.hot.get(path, path)
        i = ws(s, i + 1).end()
        if s[i] == "]":
            return i + 1
        n = 0
        while True:
            ip = (path, n)
            end = self.skip(i, ip)
            if end < 0:
                end = self.obj(i, ip) if s[i] == "{" else self.arr(i, ip)
            i = ws(s, end).end()
            n += 1
            if s[i] == "]":
                return i + 1
            i = ws(s, i + 1).end()  # past the comma
