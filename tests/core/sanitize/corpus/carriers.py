"""Carriers: the places real traffic puts a value, each building a whole `Exchange`.

A carrier takes a field name and a value (already in its placement encoding) and returns an
exchange whose only unusual content is that value: everything around it is ordinary traffic
that no rule should touch (a control run checks that, see `measure.controls`).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
from collections.abc import Callable
from urllib.parse import quote
from urllib.parse import urlencode

from amber._model import Exchange
from amber._model import Request
from amber._model import Response

__all__ = ["ENCODINGS", "KEYED", "SHAPED", "SPECIFIC", "Carrier", "exchange"]

Carrier = Callable[[str, str], Exchange]

_JSON = (("Content-Type", "application/json"),)


def exchange(
    *,
    path: str = "/api/v2/items",
    query: str = "page=2",
    method: str = "POST",
    req_headers: tuple[tuple[str, str], ...] = (),
    req_body: bytes = b"",
    req_type: str | None = None,
    status: int = 200,
    resp_headers: tuple[tuple[str, str], ...] = (),
    resp_body: bytes = b'{\n  "ok": true,\n  "message": "saved",\n  "updated": 1.50e2\n}\n',
    resp_type: str = "application/json",
) -> Exchange:
    """An ordinary exchange with the given parts (no secret of its own)."""
    rh = (("Accept", "application/json"), ("User-Agent", "corpus-client/1.0"), *req_headers)
    if req_type is not None:
        rh = (*rh, ("Content-Type", req_type))
    req = Request(
        method=method,
        scheme="https",
        host="api.shop.test",
        port=443,
        path=path,
        query=query,
        headers=rh,
        body=req_body,
    )
    resp = Response(
        status=status,
        reason="OK",
        headers=(("Content-Type", resp_type), ("Cache-Control", "no-store"), *resp_headers),
        body=resp_body,
    )
    return Exchange(id="corpus", request=req, response=resp)


def _header_name(key: str) -> str:
    name = re.sub(r"[^A-Za-z0-9-]+", "-", key).strip("-") or "Value"
    return name if name.lower().startswith("x-") or name == "Authorization" else "X-" + name


def _header(key: str, value: str) -> Exchange:
    return exchange(method="GET", req_headers=((_header_name(key), value.replace("\n", " ")),))


def _query(key: str, value: str) -> Exchange:
    return exchange(method="GET", query="page=2&" + urlencode({key: value}))


def _json(key: str, value: str) -> Exchange:
    doc = {"data": {"type": "account", "attributes": {key: value, "plan": "pro"}}, "meta": {}}
    return exchange(resp_body=json.dumps(doc, indent=2).encode())


def _env_name(key: str) -> str:
    """`key` as an environment variable is named: `oldPw` -> `OLD_PW`, `api key` -> `API_KEY`."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return re.sub(r"[^A-Za-z0-9]+", "_", snake).upper()


def _json_pair(key: str, value: str) -> Exchange:
    doc = {
        "env": [
            {"name": "REGION", "value": "eu-west-1"},
            {"name": _env_name(key), "value": value},
        ]
    }
    return exchange(req_body=json.dumps(doc).encode(), req_type="application/json")


def _json_in_json(key: str, value: str) -> Exchange:
    doc = {"event": "settings.updated", "payload": json.dumps({key: value, "v": 3})}
    return exchange(req_body=json.dumps(doc).encode(), req_type="application/json")


def _aws_tags(key: str, value: str) -> Exchange:
    doc = {
        "ResourceArn": "arn:aws:ecs:eu-west-1:000000000000:service/web",
        "Tags": [{"Key": "team", "Value": "payments"}, {"Key": key, "Value": value}],
    }
    return exchange(req_body=json.dumps(doc).encode(), req_type="application/x-amz-json-1.1")


def _graphql(key: str, value: str) -> Exchange:
    doc = {
        "operationName": "UpdateAccount",
        "query": "mutation UpdateAccount($input: AccountInput!) { updateAccount(input: "
        "$input) { id } }",
        "variables": {"input": {key: value, "locale": "en-GB"}},
    }
    return exchange(
        path="/graphql", query="", req_body=json.dumps(doc).encode(), req_type="application/json"
    )


def _form(key: str, value: str) -> Exchange:
    body = urlencode({"next": "/home", key: value, "remember": "1"})
    return exchange(req_body=body.encode(), req_type="application/x-www-form-urlencoded")


def _multipart(key: str, value: str) -> Exchange:
    b = "----corpusBoundary7MA4YWxk"
    body = (
        f'--{b}\r\nContent-Disposition: form-data; name="title"\r\n\r\nQuarterly\r\n'
        f'--{b}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        f"--{b}--\r\n"
    )
    return exchange(req_body=body.encode(), req_type=f"multipart/form-data; boundary={b}")


def _xml(key: str, value: str) -> Exchange:
    # an XML name keeps `-` and `.` (`<XSRF-TOKEN>`, `<connect.sid>`), has `_` for a space
    # and starts with a letter or `_`
    tag = re.sub(r"[^A-Za-z0-9_.-]", "", key.replace(" ", "_")).lstrip("0123456789.-") or "Value"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<soap:Body><UpdateAccount><Region>eu-west-1</Region><{tag}>{html.escape(value)}"
        f"</{tag}></UpdateAccount></soap:Body></soap:Envelope>"
    )
    return exchange(req_body=body.encode(), req_type="text/xml; charset=utf-8")


def _html(key: str, value: str) -> Exchange:
    body = (
        "<!doctype html><html><head><title>Sign in</title></head><body>"
        f'<form method="post"><input type="hidden" name="{html.escape(key)}" '
        f'value="{html.escape(value)}"><button>Go</button></form></body></html>'
    )
    return exchange(method="GET", resp_body=body.encode(), resp_type="text/html; charset=utf-8")


def _html_table(key: str, value: str) -> Exchange:
    """A debug or error page's settings table: the name in one cell, the value (quoted,
    escaped) in a `<pre>` in the next."""
    body = (
        '<!doctype html><html><body><h1>Server Error (500)</h1><table class="req">'
        '<tr><td>DEBUG</td><td class="code"><pre>True</pre></td></tr>'
        f'<tr><td>{html.escape(key)}</td><td class="code"><pre>'
        f"{html.escape(repr(value))}</pre></td></tr></table></body></html>"
    )
    return exchange(
        method="GET", status=500, resp_body=body.encode(), resp_type="text/html; charset=utf-8"
    )


def _csv(key: str, value: str) -> Exchange:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", key, "status"])
    w.writerow(["1", value, "active"])
    return exchange(method="GET", resp_body=buf.getvalue().encode(), resp_type="text/csv")


def _env(key: str, value: str) -> Exchange:
    name = _env_name(key)
    quoted = value.replace("\n", "\\n")
    body = f'APP_ENV=production\nLOG_LEVEL=info\nexport {name}="{quoted}"\n'
    return exchange(method="GET", resp_body=body.encode(), resp_type="text/plain")


def _yaml(key: str, value: str) -> Exchange:
    if "\n" in value:
        block = "\n".join("    " + line for line in value.rstrip("\n").split("\n"))
        item = f"  {key}: |\n{block}\n"
    else:
        item = f"  {key}: {json.dumps(value)}\n"
    body = f"service:\n  name: billing\n  replicas: 3\n{item}"
    return exchange(method="GET", resp_body=body.encode(), resp_type="application/yaml")


def _ini(key: str, value: str) -> Exchange:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)
    one_line = value.replace("\n", "\\n")
    body = f"[server]\nport = 8080\n\n[app]\n{name} = {one_line}\nworkers = 4\n"
    return exchange(method="GET", resp_body=body.encode(), resp_type="text/plain; charset=utf-8")


def _sse_split(key: str, value: str) -> Exchange:
    """A JSON event split over several `data:` lines (the spec joins them with newlines)."""
    doc = json.dumps({"kind": "token", key: value}, indent=1).split("\n")
    body = "event: update\n" + "".join(f"data: {line}\n" for line in doc) + "\n"
    return exchange(method="GET", resp_body=body.encode(), resp_type="text/event-stream")


def _ndjson(key: str, value: str) -> Exchange:
    body = json.dumps({"seq": 1, "kind": "start"}) + "\n" + json.dumps({"seq": 2, key: value})
    return exchange(
        method="GET", resp_body=(body + "\n").encode(), resp_type="application/x-ndjson"
    )


def _sse(key: str, value: str) -> Exchange:
    body = f"event: update\nid: 7\ndata: {json.dumps({key: value})}\n\n"
    return exchange(method="GET", resp_body=body.encode(), resp_type="text/event-stream")


KEYED: dict[str, Carrier] = {
    "header": _header, "query": _query, "json": _json, "json-pair": _json_pair,
    "json-in-json": _json_in_json, "aws-tags": _aws_tags, "graphql": _graphql, "form": _form,
    "multipart": _multipart, "xml": _xml, "html": _html, "html-table": _html_table,
    "csv": _csv, "env": _env, "yaml": _yaml, "ini": _ini, "ndjson": _ndjson,
    "sse": _sse, "sse-split": _sse_split,
}  # fmt: skip
"""Carriers that place a value under its field name (every class goes through these)."""


def _text(_key: str, value: str) -> Exchange:
    body = f"Imported record 118 from the legacy system:\n\t{value}\nchecked by ops\n"
    return exchange(req_body=body.encode(), req_type="text/plain; charset=utf-8")


def _json_note(_key: str, value: str) -> Exchange:
    doc = {"ticket": 4471, "comment": f"customer pasted this, value follows: {value}"}
    return exchange(req_body=json.dumps(doc).encode(), req_type="application/json")


def _html_text(_key: str, value: str) -> Exchange:
    body = f"<html><body><p>Your details:</p><pre>{html.escape(value)}</pre></body></html>"
    return exchange(method="GET", resp_body=body.encode(), resp_type="text/html")


def _glued(prefix: str) -> Carrier:
    def carrier(_key: str, value: str) -> Exchange:
        body = f"trace: request ok\nref{prefix}{value} end\n"
        return exchange(req_body=body.encode(), req_type="text/plain")

    return carrier


def _json_after_newline(_key: str, value: str) -> Exchange:
    doc = {"log": f"2024-03-14 deploy started\n{value}\ndeploy done"}
    return exchange(req_body=json.dumps(doc).encode(), req_type="application/json")


SHAPED: dict[str, Carrier] = {
    "text": _text, "json-note": _json_note, "html-text": _html_text,
    "after-underscore": _glued("_"), "after-comma": _glued(","), "after-%20": _glued("%20"),
    "json-after-newline": _json_after_newline,
}  # fmt: skip
"""Carriers with no telling key: only a detector that knows the value's shape can help
(`after-*`: the value glued to what precedes it, as in logs and encoded query text)."""


def _cookie(key: str, value: str) -> Exchange:
    return exchange(method="GET", req_headers=(("Cookie", f"theme=dark; {key}={value}; lang=en"),))


def _set_cookie(key: str, value: str) -> Exchange:
    line = f"{key}={value}; Path=/; Expires=Wed, 09 Jun 2027 10:18:14 GMT; HttpOnly; Secure"
    return exchange(resp_headers=(("Set-Cookie", line),))


def _set_cookie_folded(key: str, value: str) -> Exchange:
    line = f"theme=dark; Path=/, {key}={value}; Path=/; SameSite=Lax"
    return exchange(resp_headers=(("Set-Cookie", line),))


def _json_cookies(key: str, value: str) -> Exchange:
    """A request log's record: the Cookie header's text under a field that holds cookies."""
    doc = {"request": {"method": "GET", "cookies": f"theme=dark; {key}={value}; lang=en"}}
    return exchange(req_body=json.dumps(doc).encode(), req_type="application/json")


def _cookie_jar(key: str, value: str) -> Exchange:
    doc = {"user": "u_1042", "cookies": {"theme": "dark", key: value}}
    return exchange(resp_body=json.dumps(doc).encode())


def _har_cookies(key: str, value: str) -> Exchange:
    doc = {"cookies": [{"name": "theme", "value": "dark"}, {"name": key, "value": value}]}
    return exchange(resp_body=json.dumps(doc).encode())


def _signed_url(key: str, value: str) -> str:
    return (
        f"https://cdn.acme-files.net/b/report-2024.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&{quote(key)}={quote(value, safe='%')}&X-Amz-Expires=900"
    )


def _path_url(key: str, value: str) -> str:
    return f"https://app.acme.io/{key}/{quote(value, safe='')}"


def _url_carriers(url: Callable[[str, str], str]) -> dict[str, Carrier]:
    return {
        "location": lambda k, v: exchange(status=302, resp_headers=(("Location", url(k, v)),)),
        "referer": lambda k, v: exchange(method="GET", req_headers=(("Referer", url(k, v)),)),
        "link": lambda k, v: exchange(resp_headers=(("Link", f'<{url(k, v)}>; rel="next"'),)),
        "refresh": lambda k, v: exchange(resp_headers=(("Refresh", f"0; url={url(k, v)}"),)),
        "content-location": lambda k, v: exchange(resp_headers=(("Content-Location", url(k, v)),)),
        "html-href": lambda k, v: exchange(
            method="GET",
            resp_type="text/html",
            resp_body=f'<p><a href="{html.escape(url(k, v))}">Download</a></p>'.encode(),
        ),
        "json-url": lambda k, v: exchange(
            resp_body=json.dumps({"download_url": url(k, v), "expires_in": 900}).encode()
        ),
    }


def _request_signed(key: str, value: str) -> Exchange:
    return exchange(
        method="GET",
        path="/b/report-2024.pdf",
        query=f"X-Amz-Algorithm=AWS4-HMAC-SHA256&{quote(key)}={quote(value, safe='%')}",
    )


def _request_path(key: str, value: str) -> Exchange:
    return exchange(method="GET", path=f"/{key}/{quote(value, safe='')}", query="")


def _email_key(_key: str, value: str) -> Exchange:
    doc = {"subscribers": {value: {"active": True, "since": 2021}}}
    return exchange(resp_body=json.dumps(doc).encode())


def _email_field(_key: str, value: str) -> Exchange:
    return _multipart(value, "yes")


def _proxy_auth(_key: str, value: str) -> Exchange:
    return exchange(method="GET", req_headers=(("Proxy-Authorization", value),))


def _userinfo_url(_key: str, value: str) -> Exchange:
    return exchange(resp_body=json.dumps({"upstream": value, "pool": 5}).encode())


SPECIFIC: dict[str, dict[str, Carrier]] = {
    "cookie": {
        "cookie": _cookie,
        "set-cookie": _set_cookie,
        "set-cookie-folded": _set_cookie_folded,
        # written outside a Cookie header, under a field that holds cookies
        "json-cookies": _json_cookies,
        "cookie-jar": _cookie_jar,
        "har-cookies": _har_cookies,
    },
    "signed-url": {"request-url": _request_signed, **_url_carriers(_signed_url)},
    "path-token": {"request-url": _request_path, **_url_carriers(_path_url)},
    "email": {"json-key": _email_key, "multipart-name": _email_field},
    "auth-header": {"proxy-authorization": _proxy_auth},
    "url-userinfo": {"json-url": _userinfo_url},
}
"""Carriers that only make sense for one class (cookies in cookie headers, URLs...)."""


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


ENCODINGS: dict[str, Callable[[str, str], tuple[str, str]]] = {
    "raw": lambda k, v: (k, v),
    "url": lambda k, v: (k, quote(v, safe="")),
    "base64": lambda k, v: (k, _b64(v)),
    "hex": lambda k, v: (k, v.encode().hex()),
    "json-escaped": lambda k, v: ("payload", json.dumps({k: v})),
}
"""Placement encodings: how the (field, value) pair is written before a carrier places it
(`json-escaped` nests the pair as a JSON document inside a string field named `payload`)."""
