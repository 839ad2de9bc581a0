"""Django #32992 (fixed in 3.2.7): on PostgreSQL, with a fixed-offset ``TIME_ZONE`` such
as ``Etc/GMT-10`` (UTC+10), Django 3.2 to 3.2.6 passed the zone's name to the database
with its sign flipped (``AT TIME ZONE 'Etc/GMT+10'``, UTC-10), so ``Trunc``/``Extract``
ran 20 hours off. The admin's ``date_hierarchy`` truncates with them: a user who joined
2020-12-31 20:00 UTC (2021-01-01 06:00 local) is listed under "December 2020" instead of
"January 2021". A wrong 200 that only rows joined within ten hours after a local month
boundary show. Django's own admin over ``contrib.auth``'s users, session login (CSRF)."""

from __future__ import annotations

from realapps._app import RealApp
from realapps._app import Request
from realapps.apps import _django

ROWS = """def at(*parts):
    return datetime.datetime(*parts, tzinfo=datetime.timezone.utc)
User.objects.filter(username='admin').update(date_joined=at(2021, 3, 5, 3))
for name, joined in (('kim', at(2020, 12, 31, 20)), ('lee', at(2021, 6, 1, 12))):
    User.objects.create_user(name, name + '@example.org', 'x', date_joined=joined)
"""

# The project's own admin for its users: Django's UserAdmin with a date hierarchy.
ADMIN = """        from django.contrib.auth.admin import UserAdmin
        from django.contrib.auth.models import User

        admin.site.unregister(User)
        admin.site.register(User, type("Users", (UserAdmin,), {"date_hierarchy": "date_joined"}))"""

APP = RealApp(
    name="django-admin-date-hierarchy-tz",
    summary="admin date hierarchy lists users under the wrong month on PostgreSQL",
    bug="https://code.djangoproject.com/ticket/32992",
    framework="Django 3.2 (contrib.admin, wsgiref)",
    db_layer="Django ORM (PostgreSQL, psycopg2)",
    failure="wrong 200: the changelist's date hierarchy shows December 2020, not January 2021",
    package="Django",
    buggy="3.2.6",
    fixed="3.2.7",
    # Django's PostgreSQL driver, which amber's test runtime also loads fixtures through
    # (no SQLAlchemy: amber.fixtures._dbapi)
    pins=("psycopg2-binary",),
    seed=_django.not_sqlite,
    db_name="app",
    serve=_django.not_served,
    request=Request("GET", "/admin/auth/user/"),
    auth="session cookie (Django admin login form, CSRF token)",
    login=Request(
        "POST",
        "/admin/login/",
        {"Content-Type": "application/x-www-form-urlencoded"},
        (
            f"username={_django.USER}&password={_django.PASSWORD}"
            "&csrfmiddlewaretoken={cookie:csrftoken}&next=/admin/"
        ).encode(),
    ),
    glue=_django.glue(ADMIN),
    config=f"""fixtures:
  keep: [auth_user.username]
  rules:
    - route: GET /admin/auth/user/
      seeds: [auth_user.id = 1, auth_user.id = 2, auth_user.id = 3]
testing:
  identity:
    user: {_django.USER}
    password: {_django.PASSWORD}
    hash: {{scheme: django}}
    login:
      path: /admin/login/
      form:
        username: "{{user}}"
        password: "{{password}}"
        csrfmiddlewaretoken: "{{cookie:csrftoken}}"
  expect:
    - route: GET /admin/auth/user/
      status: 200
      contains: ["January 2021"]
      not_contains: ["December 2020"]
""",
    postgres=_django.postgres(ROWS),
)
