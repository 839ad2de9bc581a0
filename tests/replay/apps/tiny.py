"""A tiny app for test-generation tests: a bug that is fixed when TINY_FIXED=1."""

from __future__ import annotations

import os
import time

from flask import Flask
from flask import jsonify


def create_app() -> Flask:
    app = Flask(__name__)
    fixed = os.environ.get("TINY_FIXED") == "1"

    @app.get("/users/<int:uid>")
    def user(uid: int):  # type: ignore[no-untyped-def]
        names = {1: "Ann", 2: None}
        name = names.get(uid)
        if name is None and not fixed:
            return jsonify({"greeting": "Hello " + name})  # type: ignore[operator]
        return jsonify(
            {"id": uid, "greeting": f"Hello {name or 'there'}", "served_at": time.time()}
        )

    return app
