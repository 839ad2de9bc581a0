"""Django #34088 (fixed in 4.1.4): the sitemap index computes each section's latest
``lastmod`` with ``max()`` over the section's items, and Django 4.1 to 4.1.3 did not pass
``default=``: a section whose queryset is empty crashes the index (``ValueError: max() arg
is an empty sequence``, 500). The project's members sitemap lists active accounts that are
not staff: with only the staff account and an inactive member (a site before its first
sign-up) the index answers 500; one active member and it answers 200. PostgreSQL, public
URL (no login)."""

from __future__ import annotations

from realapps._app import RealApp
from realapps._app import Request
from realapps.apps import _django

ROWS = """User.objects.create_user('kim', 'kim@example.org', 'x', is_active=False)
"""

# The project's sitemap: its members' public pages, with when each joined.
SITEMAP = """        from django.contrib.auth.models import User
        from django.contrib.sitemaps import Sitemap, views

        class Members(Sitemap):
            def items(self):
                return User.objects.filter(is_active=True, is_staff=False).order_by("pk")

            def lastmod(self, user):
                return user.date_joined

            def location(self, user):
                return f"/members/{user.pk}/"

        maps = {"members": Members}
        urlpatterns.append(path("sitemap.xml", views.index, {"sitemaps": maps}))
        urlpatterns.append(path("sitemap-<section>.xml", views.sitemap, {"sitemaps": maps},
                                name="django.contrib.sitemaps.views.sitemap"))"""

APP = RealApp(
    name="django-sitemap-empty-section",
    summary="sitemap index answers 500 when a section has no items (no active member yet)",
    bug="https://code.djangoproject.com/ticket/34088",
    framework="Django 4.1 (contrib.sitemaps, wsgiref)",
    db_layer="Django ORM (PostgreSQL, psycopg2)",
    failure="5xx on the sitemap index; needs a section whose rows are all filtered out",
    package="Django",
    buggy="4.1.3",
    fixed="4.1.4",
    # Django's PostgreSQL driver, which amber's test runtime also loads fixtures through
    # (no SQLAlchemy: amber.fixtures._dbapi)
    pins=("psycopg2-binary",),
    seed=_django.not_sqlite,
    db_name="app",
    serve=_django.not_served,
    request=Request("GET", "/sitemap.xml"),
    glue=_django.glue(SITEMAP, ', "sitemaps"'),
    config="""fixtures:
  rules:
    - route: GET /sitemap.xml
      seeds: [auth_user.id = 1, auth_user.id = 2]
""",
    postgres=_django.postgres(ROWS),
)
