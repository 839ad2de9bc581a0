"""JSON bodies: decide what to replace on the parsed document, then edit the original bytes.

`JsonWalker` walks a parsed document with the body sanitizer's key and value rules and
records each replacement by its path; `reserialized` re-serializes the edited document when
that gives exactly the original bytes elsewhere (compact orjson or `json.dumps` defaults),
else `Splicer` follows the original text with the stdlib's C scanner and splices each
replacement in place, so spacing, escapes, number spelling, key order and repeated keys
outside the replaced values stay byte for byte.

One module because the walker and the two editors share one contract: the walker records
its edits by path and in the document's order (objects in key order, lists in index order,
depth first), which is the order the re-serializer's slots come in and the paths the
splicer follows; split apart, a change to the walk's order would break them silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import cast

import orjson

from amber._model import Redaction
from amber._model import RedactionAction
from amber._pseudonym import is_foreign_marker
from amber._pseudonym import is_marker
from amber._pseudonym import marker

from ._fields import HEADER_LISTS
from ._fields import field_verdict
from ._fields import header_list
from ._fields import header_pair
from ._ids import organization_name
from ._ids import slug_not_name
from ._keys import Verdict
from ._keys import normalize_key
from ._keys import version_like
from ._rpc import secret_positions
from ._values import _card_ok

if TYPE_CHECKING:
    from ._bodies import BodySanitizer

__all__ = [
    "NAME",
    "PERSON_VERDICTS",
    "SCAN",
    "JsonWalker",
    "Path",
    "Splicer",
    "raw_members",
    "render_path",
    "reserialized",
]

_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_KEY_SPACED = re.compile(rb'"[ \t\n\r]+:')
# the end of the whitespace at an index (the pattern matches everywhere, if only "")
_WS = cast(Callable[[str, int], "re.Match[str]"], re.compile(r"[ \t\n\r]*").match)
# the stdlib's C scanners (untyped in typeshed): (value, end) of the value at an index, and
# (string, end) of the string whose opening quote is just before the index
SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
NAME: Verdict = ("pseudonym", "name")
# The identity kinds that say, in a sibling key, that an object is about a person.
PERSON_VERDICTS = frozenset(
    ("pseudonym", k) for k in ("email", "phone", "first_name", "last_name", "username")
)

Path = tuple[Any, ...] | None
_OPENERS = ("{", "[")
_UNKNOWN: Any = object()
_PSEUDONYMS_MAX = 65536
_CLEAN_MAX = 200_000
_BIG = 10**12  # the smallest integer with enough digits for a card number
# the pseudonym kinds whose output `Pseudonymizer.is_own` recognizes
_TAGGED = frozenset(("email", "ip", "ipv6", "phone"))
# The member that names the other in a name/value pair.
_PAIR_NAMES = frozenset(("name", "Name", "key", "Key", "NAME", "KEY"))
# The private members of a JSON Web Key (RFC 7518 section 6): RSA, EC/OKP and symmetric.
_JWK_PRIVATE = frozenset(("d", "p", "q", "dp", "dq", "qi", "oth", "k"))
_JWK_MASK: Verdict = ("mask", "private-key")
_NO_INDICES: frozenset[int] = frozenset()


_PARTS: dict[str, str] = {}


def _render_part(key: str | int) -> str:
    """`.email`, `[3]` or `["a b"]`: one step of a rendered path (object keys cached)."""
    if isinstance(key, int):
        return f"[{key}]"
    part = _PARTS.get(key)
    if part is None:
        part = f".{key}" if _SIMPLE_KEY.fullmatch(key) else f"[{json.dumps(key)}]"
        if len(_PARTS) >= 65536:
            _PARTS.clear()
        _PARTS[key] = part
    return part


_REDACTIONS: dict[tuple[str, str, str], Redaction] = {}
_BASES: dict[tuple[str, Path], str] = {}


def _redaction(rule: str, location: str, action: RedactionAction) -> Redaction:
    """`Redaction(rule, location, action)`, the same object for the same fields (a frozen
    dataclass costs ~1 us to build; the same locations come back body after body)."""
    key = (rule, location, action)
    found = _REDACTIONS.get(key)
    if found is None:
        found = Redaction(rule, location, action)
        if len(_REDACTIONS) >= 65536:
            _REDACTIONS.clear()
        _REDACTIONS[key] = found
    return found


def render_path(path: Path) -> str:
    """`$.items[3].email` from the linked path `((((None, 'items'), 3), 'email')`."""
    parts: list[str] = []
    while path is not None:
        path, key = path
        parts.append(_render_part(key))
    return "$" + "".join(reversed(parts))


def raw_members(body: bytes) -> int:
    """Object members in the JSON text (at least: a string may also hold `":`)."""
    n = body.count(b'":')
    # (whitespace before a colon is rare: a tab, newline or return is found by `memchr`,
    # and without them one test for a space before a colon spares most bodies the regex;
    # a two-byte `in` scans at a byte a nanosecond, `memchr` ten times as fast)
    if (b"\n" in body or b"\t" in body or b"\r" in body or b" :" in body) and _KEY_SPACED.search(
        body
    ) is not None:
        n += len(_KEY_SPACED.findall(body))
    return n


# What an edited value is replaced with before `json.dumps` runs, and how it writes it.
_SLOT = "\x00amber-slot\x00"
_SLOT_JSON = json.dumps(_SLOT)
_ascii_string: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _ascii_token(value: Any) -> str:
    """`value` as `json.dumps` writes it inside a document (strings in C, fast)."""
    t = type(value)
    if t is str:
        return _ascii_string(value)
    if t is int:
        return int.__repr__(value)
    return json.dumps(value)


def reserialized(obj: Any, body: bytes, sets: list[tuple[Any, Any, Any]]) -> bytes | None:
    """The edited document re-serialized, when that is byte for byte the same as splicing.

    When orjson's compact output (or `json.dumps`' default, for bodies with `", "` and
    `": "`) of the parsed document gives back `body` exactly (whitespace at its end aside),
    serializing the edited document changes only the edited values, and is much faster
    than following the text. None when it does not (then the splicer runs). `sets` are
    the walker's `(container, key, new value)` edits, in the document's order.
    """
    core = body.rstrip(b" \t\r\n")
    head = core[:256]
    try:
        if b'": ' in head or b'", ' in head:
            try:
                found = _spliced(obj, body, core, sets)
            except (TypeError, ValueError):
                found = None  # what orjson does not write (big integers, lone surrogates)
            if found is not None:
                return found
            return _reserialized_python(obj, body, core, sets)
        if orjson.dumps(obj) != core:
            return None
        for container, key, new in sets:
            container[key] = new
        return orjson.dumps(obj) + body[len(core) :]
    except (TypeError, ValueError, UnicodeEncodeError):
        return None  # big integers (orjson), lone surrogates (orjson), NaN (ASCII encoding)


# What `_spliced` deletes before comparing (JSON's whitespace), and the slot as orjson
# writes it (an escaped NUL each side: no JSON text holds it outside that one string).
_JSON_WS = b" \t\n\r"
_SLOT_ORJSON = orjson.dumps(_SLOT)


def _spliced(obj: Any, body: bytes, core: bytes, sets: list[tuple[Any, Any, Any]]) -> bytes | None:
    """`body` with each edited value's token replaced, found without re-encoding the text
    (for any layout; `json.dumps`' spaced one is what it is for). None when it cannot tell.

    Each old value is looked for, as orjson spells it, after the one before (`find`); the
    pieces of `body` between the tokens found, whitespace deleted, must then equal the
    pieces of orjson's compact output of the document between the same values (written
    as slots), whitespace deleted. That proves the places: `body` and the compact text
    then hold the same bytes but for whitespace (escapes, number spellings and every
    string's content other than its spaces are kept by the deletion; raw whitespace in a
    JSON string is a space, and a space is a space in both), so the text between the
    found tokens is the compact text's between the values, and each token found is its
    value's own. A new value must be a plain string (printable ASCII without `"` or `\\`)
    or an integer: written the same by `json.dumps`, orjson and the splicer's `_encode`,
    so the result is the bytes every other editor gives."""
    olds: list[Any] = []
    seq: list[bytes] = []  # the pieces of `core` between the old tokens, and the new ones
    pos = 0
    find = core.find
    dumps = orjson.dumps
    proven = False
    try:
        for container, key, new in sets:
            old = container[key]
            tok = dumps(old)
            at = find(tok, pos)
            if at < 0:
                return None
            seq.append(core[pos:at])
            pos = at + len(tok)
            olds.append(old)
            container[key] = _SLOT
            t = type(new)
            if t is str:
                tok = dumps(new)
                if len(tok) != len(new) + 2 or "\x7f" in new:
                    return None  # an escape or a character beyond printable ASCII
            elif t is int:
                tok = dumps(new)
            else:
                return None
            seq.append(tok)
        seq.append(core[pos:])
        compact = dumps(obj)
        if compact.count(_SLOT_ORJSON) != len(sets):
            return None  # a value edited twice, or the slot's text in the document
        if b"\x00".join(seq[0::2]).translate(None, _JSON_WS) != compact.replace(
            _SLOT_ORJSON, b"\x00"
        ).translate(None, _JSON_WS):
            return None
        proven = True
    finally:
        if not proven:
            # in reverse: a value set twice gets its first old value back last
            for i in range(len(olds) - 1, -1, -1):
                container, key, _ = sets[i]
                container[key] = olds[i]
    # (the document is left with its slots: the caller is done with it, as after
    # `reserialized`'s orjson branch, which leaves it edited)
    return b"".join(seq) + body[len(core) :]


def _reserialized_python(
    obj: Any, body: bytes, core: bytes, sets: list[tuple[Any, Any, Any]]
) -> bytes | None:
    """`reserialized` for `json.dumps`' layout, with one `json.dumps` (it is ~8 times
    slower than orjson): each edited value is written as a slot; the text between the
    slots joined with the old values must be `body`, and joined with the new ones it is
    the result. The slots come in the walker's order, which is the document's (both go
    through objects in key order and lists in index order, depth first)."""
    try:
        text = core.decode("ascii")
    except UnicodeDecodeError:
        return None  # `json.dumps` writes ASCII only
    if _SLOT_JSON in text:
        return None  # the text holds a slot's spelling: it could not be told apart
    olds: list[Any] = [container[key] for container, key, _ in sets]
    done = 0
    try:
        for container, key, _ in sets:
            container[key] = _SLOT
            done += 1
        pieces = json.dumps(obj).split(_SLOT_JSON)
    finally:
        # in reverse: a value set twice gets its first old value back last
        for (container, key, _), old in zip(
            reversed(sets[:done]), reversed(olds[:done]), strict=True
        ):
            container[key] = old
    n = len(sets)
    if len(pieces) != n + 1:
        return None  # a value edited twice: let the splicer do it
    seq: list[str] = [""] * (2 * n + 1)
    seq[0::2] = pieces
    enc = _ascii_string  # (strings, the common case, without `_ascii_token`'s frame)
    seq[1::2] = [enc(v) if type(v) is str else _ascii_token(v) for v in olds]
    if "".join(seq) != text:
        return None
    seq[1::2] = [enc(new) if type(new) is str else _ascii_token(new) for _, _, new in sets]
    return "".join(seq).encode("ascii") + body[len(core) :]


def _encode(value: Any, old: str | None = None) -> str:
    """`value` as a JSON token to put in place of `old`: escaped to ASCII where `old` was
    ASCII (a body written with `\\u` escapes, as `json.dumps` writes them, keeps that
    spelling, as the re-serializing editors write it too), raw UTF-8 elsewhere."""
    if type(value) is not str:
        return json.dumps(value)
    if old is not None and old.isascii():
        return json.dumps(value)
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate kept from a `\ud800` escape
        return json.dumps(value)
    return text


class JsonWalker:
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
        self._urls = owner.urls.in_text
        self._clean = owner.scanner.known_clean
        self._infos = owner.key_infos
        self._key_info = owner.key_info
        self._loc_parent: Any = self  # no path is the walker: nothing cached yet
        self._memo_get = owner.scanner.memo_lookup()
        # (used only where `_memo_get` is not None: no custom rules)
        self._quick_clean = owner.scanner.quick_clean
        self._clean_strings = owner.clean_strings
        self._pseudonyms = owner.pseudonyms
        self._loc_base = ""

    def loc(self, path: Path) -> str:
        """`location` and the rendered path; the siblings of a redacted value share their
        parent's rendering (the walker redacts the members of one object one after
        another)."""
        if path is None:
            return self.location + "$"
        parent, key = path
        if parent is not self._loc_parent:
            self._loc_parent = parent
            # (the same objects' paths come back body after body: rendered once, bounded;
            # only shallow ones, a tuple's hash recursing as deep as the path)
            q, n = parent, 0
            while q is not None and n < 8:
                q, n = q[0], n + 1
            if q is not None:
                self._loc_base = self.location + render_path(parent)
            else:
                ck = (self.location, parent)
                base = _BASES.get(ck)
                if base is None:
                    base = self.location + render_path(parent)
                    if len(_BASES) >= 65536:
                        _BASES.clear()
                    _BASES[ck] = base
                self._loc_base = base
        return self._loc_base + _render_part(key)

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
        return any(classify(k) in PERSON_VERDICTS for k in d)

    def _dict(self, d: dict[str, Any], path: Path, inherited: Verdict, person: bool) -> None:
        self.members += len(d)
        if self.contexts is not None:
            self.contexts[path] = (inherited, person or self._about_person(d))
        infos = self._infos
        key_info = self._key_info
        pair = self._pair_verdict(d) if "value" in d or "Value" in d else None
        jwk = "kty" in d  # a JSON Web Key: its private members are named by letters
        # a JSON-RPC call: the method may say which positional parameters are passwords
        rpc = _NO_INDICES
        if "params" in d and type(method := d.get("method")) is str:
            rpc = secret_positions(method)
        memo_get = self._memo_get
        clean = self._clean_strings
        quick = self._quick_clean
        pseudonyms = self._pseudonyms
        # under an ordinary key (`key_info`), in an object without an inherited verdict, a
        # name/value pair or a JSON Web Key's letters, a member is what the general code
        # below makes of it with no verdict, only sooner
        plain = inherited is None and pair is None and not jwk and not rpc
        for k, v in d.items():
            info = infos.get(k)
            if info is None:
                info = key_info(k)
            if plain and info[4]:
                t = type(v)
                if t is str:
                    if v in clean:
                        continue
                    if memo_get is None or v[:1] in _OPENERS or "://" in v or "%3A" in v:
                        nv = self._str(v, (path, k), d)
                    elif len(v) < 6 or ((c := memo_get(v)) is not None and not c[1]):
                        if len(clean) < _CLEAN_MAX:
                            clean.add(v)
                        continue
                    elif c is None and len(v) <= 96 and quick(v):
                        continue
                    else:
                        nv = self._scan(v, (path, k), d)
                    if nv is not v:
                        self.edits[(path, k)] = nv
                        self.sets.append((d, k, nv))
                elif t is dict:
                    self._dict(v, (path, k), None, info[2])
                elif t is list:
                    self._list(v, (path, k), None, info[2])
                elif t is int and (v >= _BIG or v <= -_BIG):
                    kp = (path, k)
                    nv = self._leaf(v, None, kp, inherited=False, siblings=d)
                    if nv is not v:
                        self.edits[kp] = nv
                        self.sets.append((d, k, nv))
                continue
            verdict, renamable, person_key, named, _ = info
            inh = False
            if verdict is None:
                if inherited is not None:
                    verdict = inherited
                    inh = True
                elif pair is not None and k in ("value", "Value"):
                    verdict = pair
                elif jwk and k in _JWK_PRIVATE:
                    verdict = _JWK_MASK  # `d`, `p`, `q`... of an RSA key, `k` of a secret
                elif named:
                    verdict = field_verdict(k, v)  # `{"X-Amz-Signature": ...}`, `{"code": ...}`
            elif verdict == NAME and normalize_key(k) == "name":
                if (not person and not self._about_person(d)) or (
                    type(v) is str and (organization_name(v) or slug_not_name(v))
                ):
                    # a product's, region's or file's name: only a person's is
                    # pseudonymized; under `author` or `owner`, an organization's is kept
                    # (`{"author": {"name": "Rust Project"}}`)
                    verdict, inh = inherited, inherited is not None
            elif verdict == NAME and type(v) is str and "/" in v and slug_not_name(v):
                # a repository's `owner/name` (GitHub's `"full_name": "octocat/Hello-World"`)
                # or a path: no person's name
                verdict, inh = inherited, inherited is not None
            elif k == "token" and ("logprob" in d or (type(v) is dict and "logprob" in v)):
                # a language model's output token beside its log-probability (OpenAI's
                # `logprobs`, a text-generation stream's `{"token": {"text", "logprob"}}`)
                verdict, inh = inherited, inherited is not None
            t = type(v)
            if t is str:
                # the common leaf first: a string under an ordinary key whose text the
                # scanner already found clean (memo) needs no path and no call (what
                # `_str` would do, inline: neither JSON nor a URL, and short or clean)
                if verdict is None:
                    if v in clean:
                        nv = v
                    elif memo_get is None or v[:1] in _OPENERS or "://" in v or "%3A" in v:
                        nv = self._str(v, (path, k), d)
                    elif len(v) < 6 or ((c := memo_get(v)) is not None and not c[1]):
                        nv = v
                        if len(clean) < _CLEAN_MAX:
                            clean.add(v)
                    elif c is None and len(v) <= 96 and quick(v):
                        nv = v
                    else:
                        nv = self._scan(v, (path, k), d)
                else:
                    cache = pseudonyms.get(verdict[1]) if verdict[0] == "pseudonym" else None
                    found = _UNKNOWN if cache is None else cache.get(v, _UNKNOWN)
                    if found is _UNKNOWN:
                        nv = self._leaf(v, verdict, (path, k), inherited=inh, siblings=d)
                    elif found is None:
                        nv = v  # (`_leaf` with the pseudonym known: kept)
                    else:
                        self.out.append(_redaction(verdict[1], self.loc((path, k)), "pseudonym"))
                        nv = found
                if nv is not v:
                    self.edits[(path, k)] = nv
                    self.sets.append((d, k, nv))
            elif t is dict:
                self._dict(v, (path, k), verdict, person_key)
            elif t is list:
                if rpc and k == "params" and verdict is None:
                    self._list(v, (path, k), None, person_key, rpc)
                else:
                    self._list(v, (path, k), verdict, person_key)
            elif verdict is not None or (t is int and (v >= _BIG or v <= -_BIG)):
                # (an ordinary key's integer is replaced only when it is a card number)
                kp = (path, k)
                nv = self._leaf(v, verdict, kp, inherited=inh, siblings=d)
                if nv is not v:
                    self.edits[kp] = nv
                    self.sets.append((d, k, nv))
            # (None, booleans and floats under an ordinary key: nothing to replace)
            if renamable:
                self._rename(k, path)

    def _pair_verdict(self, d: dict[str, Any]) -> Verdict:
        """In a name/value pair (`{"name": "DATABASE_PASSWORD", "value": ...}`, an AWS tag
        `{"Key": ..., "Value": ...}`, a CI or hosting variable with its flags beside), the
        verdict the name gives the value: a mask, or an identity other than a bare name. None
        elsewhere."""
        if len(d) > 10:  # (a CI variable has 8 members: key, value, masked, protected...)
            return None
        name = next((v for k, v in d.items() if k in _PAIR_NAMES), None)
        if type(name) is not str or len(name) > 64:
            return None
        verdict = self._classify(name)
        if verdict is None:
            return field_verdict(name, d.get("value", d.get("Value")))
        return None if verdict == NAME else verdict

    def _header_pairs(
        self, items: list[Any], path: Path, identity: bool = False
    ) -> frozenset[int] | set[int]:
        """Headers listed as names and values (`["x-api-key", "..."]`, Node's `rawHeaders`):
        a value whose name the key rules mask is masked (its index returned); the value
        rules do the rest. `identity`: a mapping's item (`["username", "bob"]`), whose
        name's pseudonym verdict applies too (a bare `name` is nobody's here)."""
        masked: set[int] = set()
        for i in range(0, len(items) - 1, 2):
            verdict = self._classify(items[i])
            if (
                identity
                and verdict is not None
                and verdict[0] == "pseudonym"
                and verdict != NAME
                and type(items[i + 1]) is str
            ):
                nv = self._leaf(items[i + 1], verdict, (path, i + 1), inherited=False)
                masked.add(i + 1)
                if nv is not items[i + 1]:
                    self.edits[(path, i + 1)] = nv
                    self.sets.append((items, i + 1, nv))
                continue
            if verdict is not None and verdict[0] == "mask" and not is_marker(items[i + 1]):
                nv = self._leaf(items[i + 1], verdict, (path, i + 1), inherited=False)
                masked.add(i + 1)
                if nv is not items[i + 1]:
                    self.edits[(path, i + 1)] = nv
                    self.sets.append((items, i + 1, nv))
        return masked

    def _positional(self, items: list[Any], path: Path, secret: frozenset[int]) -> set[int]:
        """A remote call's positional parameters (`_rpc.secret_positions`): each string at
        a secret's position is masked (its index returned); the value rules do the rest."""
        masked: set[int] = set()
        for i, v in enumerate(items):
            if i in secret and type(v) is str:
                masked.add(i)
                if v and not is_marker(v):
                    nv = marker("positional-password")
                    self.out.append(_redaction("positional-password", self.loc((path, i)), "mask"))
                    self.edits[(path, i)] = nv
                    self.sets.append((items, i, nv))
        return masked

    def _rename(self, k: str, path: Path) -> None:
        """Replace what the value rules find in a key (an email used as a key)."""
        hits: list[Redaction] = []
        nk = self._apply(k, "", hits)
        if hits:
            loc = self.loc((path, nk))
            self.out.extend(_redaction(h.rule, loc, h.action) for h in hits)
            self.renames[(path, k)] = nk

    def _list(
        self,
        items: list[Any],
        path: Path,
        verdict: Verdict,
        person: bool,
        secret: frozenset[int] = _NO_INDICES,
        pair: bool = False,
    ) -> None:
        masked: frozenset[int] | set[int] = _NO_INDICES
        if secret:
            masked = self._positional(items, path, secret)
        elif verdict is None and (
            (len(items) == 2 and (pair or header_pair(items)))
            or (path is not None and path[1] in HEADER_LISTS and header_list(items))
        ):
            masked = self._header_pairs(items, path, identity=pair)
        if verdict is None and items and type(items[0]) is list and _pair_list(items):
            # a mapping written as its items (`[["username", "bob"], ["password", ...]]`:
            # Python's `dict.items()`, `parse_qsl`): each pair as a header pair
            for i, v in enumerate(items):
                self._list(v, (path, i), None, person, pair=True)
            return
        memo_get = self._memo_get
        clean = self._clean_strings
        quick = self._quick_clean
        nv: Any  # a string, or what `_leaf` gives for an integer (mypyc checks a `str`)
        for i, v in enumerate(items):
            if masked and i in masked:
                continue
            t = type(v)
            if t is dict:
                self._dict(v, (path, i), verdict, person)
            elif t is list:
                self._list(v, (path, i), verdict, person)
            elif t is str and verdict is None:
                # (as in `_dict`: `_str` inline for a short or clean string)
                if v in clean:
                    continue
                if memo_get is None or v[:1] in _OPENERS or "://" in v or "%3A" in v:
                    nv = self._str(v, (path, i), None)
                elif len(v) < 6 or ((c := memo_get(v)) is not None and not c[1]):
                    if len(clean) < _CLEAN_MAX:
                        clean.add(v)
                    continue
                elif c is None and len(v) <= 96 and quick(v):
                    continue
                else:
                    nv = self._scan(v, (path, i), None)
                if nv is not v:
                    self.edits[(path, i)] = nv
                    self.sets.append((items, i, nv))
            elif verdict is not None or (t is int and (v >= _BIG or v <= -_BIG)):
                nv = self._leaf(v, verdict, (path, i), inherited=True)
                if nv is not v:
                    self.edits[(path, i)] = nv
                    self.sets.append((items, i, nv))

    def _str(self, s: str, path: Path, siblings: dict[str, Any] | None) -> str:
        if len(s) > 1 and s[0] in "{[" and s[-1] in "}]":
            inner = self._embedded(s, path)
            if inner is not None:
                return inner
        url = "%3A" in s or "://" in s
        if not url and self._clean(s):
            return s  # short, or text the scanner has already found clean
        return self._scan(s, path, siblings, url)

    def _scan(self, s: str, path: Path, siblings: dict[str, Any] | None, url: bool = False) -> str:
        """The URL rules (`url`) and the value rules on a string that is not JSON."""
        hits: list[Redaction] = []
        new = self._apply(self._urls(s, "", hits) if url else s, "", hits)
        if not hits:
            return s  # `new` may be an equal string from the scanner's memo
        if _version_value(s, path, siblings):
            return s  # `"version": "2.4.1.0"` is not an address
        loc = self.loc(path)
        self.out.extend(_redaction(h.rule, loc, h.action) for h in hits)
        return new

    def _embedded(self, s: str, path: Path) -> str | None:
        """A string that is a JSON object or array (`"payload": "{\\"api_keys\\": [...]}"`)
        sanitized as a JSON body of its own, edited in place; None when it is not JSON."""
        try:
            text = s.encode("utf-8")
        except UnicodeEncodeError:
            return None
        new = self.owner.json(text, self.loc(path), self.out)
        if new is None:
            return None
        return s if new is text else new.decode("utf-8")

    def _leaf(
        self,
        v: Any,
        verdict: Verdict,
        path: Path,
        *,
        inherited: bool = False,
        siblings: dict[str, Any] | None = None,
    ) -> Any:
        t = type(v)
        if verdict is None:
            if t is str:
                return self._str(v, path, siblings)
            if t is int and (v >= _BIG or v <= -_BIG) and _card_ok(str(abs(v))):
                self.out.append(_redaction("credit-card", self.loc(path), "mask"))
                return marker("credit-card")
            return v
        action, what = verdict
        if action == "mask":
            if v is None or v == "" or (t is str and (is_marker(v) or is_foreign_marker(v))):
                return v  # (another tool's `[FILTERED]` or `***`: masked already)
            self.out.append(_redaction(what, self.loc(path), "mask"))
            return marker(what)
        # pseudonym: names and ids repeat, so the result is cached (None: kept as it is)
        if t is str or (t is int and not inherited and what in ("customer_id", "phone")):
            cache = self._pseudonyms.get(what)
            if cache is None:
                cache = self._pseudonyms[what] = {}
            found = cache.get(v, _UNKNOWN)
            if found is _UNKNOWN:
                found = self._pseudonym(what, v)
                if len(cache) >= _PSEUDONYMS_MAX:
                    cache.clear()
                cache[v] = found
            if found is not None:
                self.out.append(_redaction(what, self.loc(path), "pseudonym"))
                return found
        return v

    def _pseudonym(self, what: str, v: str | int) -> str | int | None:
        """The pseudonym of a string or integer leaf of kind `what`, or None when it is
        kept (empty, a marker, this key's own pseudonym, or a pseudonym without digits
        for an integer)."""
        pseudo = self.owner.pseudo
        if isinstance(v, str):
            if not v or is_marker(v) or is_foreign_marker(v):
                return None
            # `pseudonym` gives a value of this key's own (`is_own`) back as it is, and
            # only such a value: its output of a tagged kind is always its own
            fake = pseudo.pseudonym(what, v)
            return None if what in _TAGGED and fake == v else fake
        fake = pseudo.pseudonym(what, str(v))
        digits = "".join(c for c in fake if c.isdigit())
        if not digits:
            return None
        return int(digits) if v >= 0 else -int(digits)


_IDENT = re.compile(r"[A-Za-z_][\w.-]{0,63}")


def _pair_list(items: list[Any]) -> bool:
    """Is `items` a list of `[name, value]` pairs, each name an identifier?"""
    for v in items:
        if type(v) is not list or len(v) != 2 or type(name := v[0]) is not str:
            return False
        if _IDENT.fullmatch(name) is None:
            return False
    return True


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


class Splicer:
    """Puts a walker's replacements into the original JSON text, touching nothing else.

    It follows the text with the stdlib's C scanner, descending only into the objects and
    arrays that hold a replacement (every one with `full`, when keys repeat: a member
    whose key comes again later in its object is an orphan, sanitized from its own text
    by `BodySanitizer.orphan`), and skipping every other value in one call.
    """

    def __init__(self, text: str, walker: JsonWalker, full: bool) -> None:
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
            end: int = SCAN(self.text, i)[1]
            self.splices.append((i, end, _encode(self.edits[path], self.text[i:end])))
            return end
        if self.text[i] in "{[" and (self.full or path in self.hot):
            return -1
        end = SCAN(self.text, i)[1]
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
                self.splices.append((i, j, _encode(new_key, s[i:j])))
            i = ws(s, ws(s, j).end() + 1).end()  # past the colon
            if self.full:
                end: int = SCAN(s, i)[1]
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
