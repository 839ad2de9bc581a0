"""Positional parameters of remote procedure calls: which of them hold a password.

A JSON-RPC call (`{"method": "personal_unlockAccount", "params": [address, password,
300]}`) or an XML-RPC one (`<methodName>wp.getUsersBlogs</methodName><params>...`) passes
its arguments by position: no name says which one is a password, only the method's
signature. Two rules give it:

* **a method whose name says it logs in or unlocks** (a token among `login`, `logon`,
  `signin`, `authenticate`, `password`, `passphrase`, `credential(s)`, `unlock`, or `auth`
  as its last word: `auth.login`, `User.authenticate`, `personal_unlockAccount`,
  `checkPassword`): every string parameter after the first (the first is the account: a
  user name, an address, a database) is a secret. A name that only asks about logging in
  (`getLoginUrl`, `auth.loginStatus`, `listCredentials`, `isPasswordSet`) is not one;
* **signatures of well-known APIs**: WordPress' XML-RPC (`wp.*`, `blogger.*`,
  `metaWeblog.*`, `mt.*`: `username, password` at fixed places), go-ethereum's `personal_*`
  namespace (a passphrase), Odoo's `execute_kw` (`db, uid, password, ...`).

Only string parameters are masked (`300`, a duration, is kept); a named parameter object
(`"params": {"password": ...}`) is left to the key rules.
"""

from __future__ import annotations

from ._keys import split_tokens

__all__ = ["secret_positions"]

_LOGIN_WORDS = frozenset(
    {
        "login", "logon", "signin", "authenticate", "authentication", "password",
        "passwd", "passphrase", "credential", "credentials", "unlock", "reauthenticate",
    }
)  # fmt: skip
_LOGIN_PAIRS = frozenset({("sign", "in"), ("log", "in"), ("log", "on")})
# Words that make a method ask about logging in rather than log in.
_ABOUT = frozenset(
    {
        "get", "list", "is", "has", "count", "describe", "find", "search", "fetch", "show",
        "url", "uri", "status", "state", "history", "policy", "policies", "methods",
        "method", "options", "config", "settings", "info", "providers", "provider",
        "types", "type", "page", "form", "logs", "attempts", "enabled", "required",
        "requirements", "strength", "expiry", "expiration", "hint", "redirect", "callback",
    }
)  # fmt: skip
# Known signatures: method -> the positions of its secrets.
_SIGNATURES: dict[str, frozenset[int]] = {
    "wp.getUsersBlogs": frozenset({1}),
    "blogger.getUsersBlogs": frozenset({2}),
    "blogger.getUserInfo": frozenset({2}),
    "personal_newAccount": frozenset({0}),
    "personal_importRawKey": frozenset({0, 1}),
    "personal_unlockAccount": frozenset({1}),
    "personal_sendTransaction": frozenset({1}),
    "personal_signTransaction": frozenset({1}),
    "personal_signAndSendTransaction": frozenset({1}),
    "personal_sign": frozenset({2}),
    "execute_kw": frozenset({2}),
    "mt.supportedMethods": frozenset(),
    "mt.supportedTextFilters": frozenset(),
    "mt.getTrackbackPings": frozenset(),
}
# The password's place in the rest of a namespace's methods (`wp.getPosts(blog_id,
# username, password, filter)`, `blogger.deletePost(appkey, postid, username, password,
# publish)`).
_NAMESPACES: dict[str, frozenset[int]] = {
    "wp": frozenset({2}),
    "metaWeblog": frozenset({2}),
    "mt": frozenset({2}),
    "blogger": frozenset({3}),
}
_AFTER_FIRST = frozenset(range(1, 64))
_NONE: frozenset[int] = frozenset()
_cache: dict[str, frozenset[int]] = {}


def secret_positions(method: str) -> frozenset[int]:
    """The positions (from 0) of the parameters of `method` that hold a secret (a
    password or a passphrase); empty for an ordinary method.

    ```python
    >>> sorted(secret_positions("wp.getUsersBlogs"))
    [1]
    >>> secret_positions("eth_getBalance")
    frozenset()
    ```
    """
    found = _cache.get(method)
    if found is None:
        found = _positions(method)
        if len(_cache) < 10_000:
            _cache[method] = found
    return found


def _positions(method: str) -> frozenset[int]:
    if len(method) > 128:
        return _NONE
    known = _SIGNATURES.get(method)
    if known is not None:
        return known
    space, dot, _ = method.partition(".")
    if dot and space in _NAMESPACES:
        return _NAMESPACES[space]
    tokens = split_tokens(method)
    if not tokens or any(t in _ABOUT for t in tokens):
        return _NONE
    pairs = zip(tokens, tokens[1:], strict=False)
    if (
        any(t in _LOGIN_WORDS for t in tokens)
        or tokens[-1] == "auth"
        or any(p in _LOGIN_PAIRS for p in pairs)
    ):
        return _AFTER_FIRST
    return _NONE
