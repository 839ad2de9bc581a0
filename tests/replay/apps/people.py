"""An app that answers with real personal data and credentials, as production does: names,
usernames, emails, phones, addresses, customer ids, `api_token` and `refresh_token` in JSON,
a session in `Set-Cookie`, an email in a header. `capture` records it through amber's
ingest pipeline (decode, sanitize), as `amber capture` stores it.

Every planted value is in `RAW`: no run, report, noise file, log or audit entry may hold one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from amber._ingest import Pipeline
from amber._model import Exchange
from amber._model import Request
from amber._model import Response
from amber._model import new_id

PEOPLE = [
    {
        "name": "Earl Reynolds",
        "username": "earl.reynolds",
        "email": "earl.reynolds@corpmail.net",
        "phone": "+1 415 867 5309",
        "address": "742 Evergreen Terrace, Springfield",
        "customer_id": "cus_N8a2KpQ4rT6vX9yZ",
    },
    {
        "name": "Dolores Abernathy",
        "username": "dabernathy",
        "email": "dolores.abernathy@corpmail.net",
        "phone": "+1 212 736 4410",
        "address": "19 Sweetwater Road, Westworld",
        "customer_id": "cus_Q1w2E3r4T5y6U7i8",
    },
]
API_TOKENS = ["atk_5Rz9Qw1Lx8Vb2Nm7Kc3Jd6Hs0Pf4Ty", "atk_7Yu2Io9Pl3Kj8Hg1Fd6Sa4Zx0Cv5Bn"]
REFRESH_TOKENS = ["rtk_Zk29dLq8Xw7Vb6Nc5Mh4Jg3Fd2Sa1Pe", "rtk_Mn3Bv8Cx2Zl7Kj1Hg6Fd5Sa9Qw4Er0"]
SESSIONS = ["s3ss10nSecr3tValue0042abcd", "s3ss10nSecr3tValue0077wxyz"]
CHANGED_NAME = "Mallory Quinn"
CHANGED_EMAIL = "mallory.quinn@corpmail.net"
"""What person 1's name and email become on a `broken` build."""

RAW = [
    *(str(v) for p in PEOPLE for v in p.values()),
    *API_TOKENS,
    *REFRESH_TOKENS,
    *SESSIONS,
    CHANGED_NAME,
    CHANGED_EMAIL,
    "corpmail.net",
]
"""Every raw value the app plants (and the changed email of a broken build)."""


def make_app(*, broken: bool = False, drift: bool = False) -> Starlette:
    """`broken`: person 1's name and email changed (a real regression). `drift`: a timestamp that
    differs on every answer (noise the baselines show too)."""

    async def person(request: StarletteRequest) -> StarletteResponse:
        i = int(request.path_params["pid"])
        who = dict(PEOPLE[i])
        if broken and i == 1:
            who["name"], who["email"] = CHANGED_NAME, CHANGED_EMAIL
        body: dict[str, object] = {
            "user": {**who, "api_token": API_TOKENS[i]},
            "refresh_token": REFRESH_TOKENS[i],
            "items": [{"name": "Blue mug", "qty": 2}],
        }
        if drift:
            body["served_at"] = time.time()
        return JSONResponse(
            body,
            headers={
                "set-cookie": f"session={SESSIONS[i]}; Path=/; HttpOnly",
                "x-user-email": str(who["email"]),
            },
        )

    return Starlette(routes=[Route("/people/{pid}", person)])


def capture(url: str, paths: Sequence[str], pipeline: Pipeline) -> list[Exchange]:
    """Call the app and store what was seen the way capture does (`Pipeline.process`)."""
    out = []
    with httpx.Client(base_url=url) as client:
        for path in paths:
            t = time.time()
            r = client.get(path)
            req = r.request
            ex = Exchange(
                id=new_id(t),
                request=Request(
                    "GET",
                    "http",
                    "127.0.0.1",
                    80,
                    req.url.path,
                    headers=tuple((k.decode(), v.decode()) for k, v in req.headers.raw),
                    timestamp_start=t,
                ),
                response=Response(
                    r.status_code,
                    r.reason_phrase,
                    headers=tuple((k.decode(), v.decode()) for k, v in r.headers.raw),
                    body=r.content,
                    timestamp_start=t,
                    timestamp_end=time.time(),
                ),
            )
            out.append(pipeline.process(ex, encoded=False))
    return out
