"""What Django entries share: the project (settings and urls, as ``startproject`` would
write them, read from the environment), and how a release migrates, seeds and serves it.

A Django project is its settings module; the glue configures Django's settings in the
factory (``settings.configure``, once per process: the generated tests and gen-test build
the app more than once in one interpreter) and serves the admin at ``/admin/``. Its database
is PostgreSQL, from the URL in ``REALAPPS_DATABASE_URL``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from realapps._app import Postgres

USER = "admin"
PASSWORD = "realapps-test-password"


def glue(admin_setup: str, apps: str = "") -> str:
    """The project: settings, urls and the WSGI app; `admin_setup` registers the project's
    ModelAdmins or adds to `urlpatterns` (lines of Python, run once Django is set up);
    `apps`: more contrib apps, as `, "sitemaps"`."""
    return f"""import os
from urllib.parse import urlsplit

from django.conf import settings

urlpatterns = []  # ROOT_URLCONF is this module; the admin's urls are added once set up
CONTEXT = ["django.template.context_processors.request",
           "django.contrib.auth.context_processors.auth",
           "django.contrib.messages.context_processors.messages"]


def create_app():
    if not settings.configured:
        db = urlsplit(os.environ["REALAPPS_DATABASE_URL"])
        settings.configure(
            SECRET_KEY="realapps-not-a-secret", ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"],
            USE_TZ=True, TIME_ZONE="Etc/GMT-10",
            DATABASES={{"default": {{
                "ENGINE": "django.db.backends.postgresql", "NAME": db.path[1:],
                "USER": db.username, "PASSWORD": db.password or "",
                "HOST": db.hostname, "PORT": db.port}}}},
            INSTALLED_APPS=["django.contrib." + a for a in
                            ("admin", "auth", "contenttypes", "sessions", "messages"{apps})],
            MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                        "django.middleware.csrf.CsrfViewMiddleware",
                        "django.contrib.auth.middleware.AuthenticationMiddleware",
                        "django.contrib.messages.middleware.MessageMiddleware"],
            TEMPLATES=[{{"BACKEND": "django.template.backends.django.DjangoTemplates",
                        "APP_DIRS": True, "OPTIONS": {{"context_processors": CONTEXT}}}}],
        )
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    if not urlpatterns:
        from django.contrib import admin
        from django.urls import path

{admin_setup}
        urlpatterns.append(path("admin/", admin.site.urls))
    return app
"""


def _script(python: Path, code: str) -> list[str]:
    """Run `code` in the release's venv after the glue's factory has set Django up."""
    return [str(python), "-c", "import realapps_glue\nrealapps_glue.create_app()\n" + code]


def migrate(python: Path) -> list[str]:
    """``manage.py migrate``: the schema and the rows Django's own migrations create."""
    return _script(
        python,
        "from django.core.management import call_command\ncall_command('migrate', verbosity=0)",
    )


def seeder(rows: str) -> Callable[[Path], list[str]]:
    """A ``Postgres.seed``: the superuser the capture logs in as (username ``admin``, the
    test password), then `rows` (Python, with ``User`` and ``datetime`` at hand)."""
    code = (
        "import datetime\n"
        "from django.contrib.auth.models import User\n"
        f"User.objects.create_superuser({USER!r}, 'admin@example.org', {PASSWORD!r})\n" + rows
    )

    def seed(python: Path) -> list[str]:
        return _script(python, code)

    return seed


def serve(python: Path, port: int) -> list[str]:
    """The glue's WSGI app under the standard library's server (what the capture proxies)."""
    code = (
        "import sys\nfrom wsgiref.simple_server import make_server\nimport realapps_glue\n"
        "make_server('127.0.0.1', int(sys.argv[1]), realapps_glue.create_app()).serve_forever()"
    )
    return [str(python), "-c", code, str(port)]


def postgres(rows: str) -> Postgres:
    return Postgres(migrate=migrate, seed=seeder(rows), serve=serve)


def not_sqlite(_path: Path) -> None:
    """`RealApp.seed` of a PostgreSQL entry: never called (`Postgres.seed` writes the rows)."""
    raise AssertionError("a PostgreSQL entry is seeded through its Postgres.seed")


def not_served(_python: Path, _db: Path, _port: int) -> list[str]:
    """`RealApp.serve` of a PostgreSQL entry: never called (`Postgres.serve` serves it)."""
    raise AssertionError("a PostgreSQL entry is served through its Postgres.serve")
