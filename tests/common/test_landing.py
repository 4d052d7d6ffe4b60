"""``/``: the landing page, in both languages, with links that answer, and the demo logins
only in development (or where SHOW_DEMO_LOGINS says so) and only while they exist."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from parks.demo.world import DEMO_PASSWORD, demo_password_hash

pytestmark = pytest.mark.django_db

LINKS = ("/admin/", "/api/docs/", "/api/v1/", "/healthz")


def page(client: Client | None = None, language: str = "en") -> str:
    response = (client or Client()).get("/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def demo_users(*names: str) -> None:
    for name in names:
        get_user_model().objects.create(username=name, password=demo_password_hash(), is_staff=True)


def test_english() -> None:
    html = page(language="en")
    assert "share their inventory" in html
    assert "What to try first" in html
    for kind in ("Enterprise traders and warehouse keepers", "Partner systems", "Regulators"):
        assert kind in html
    assert '<a href="/reports/">Park reports</a>' in html
    assert 'lang="en"' in html


def test_simplified_chinese() -> None:
    html = page(language="zh-hans")
    assert "共享库存" in html
    assert "先试试这些" in html
    assert '<a href="/reports/">' in html  # the dashboard (its words translated on main)
    assert "share their inventory" not in html
    assert 'lang="zh-hans"' in html


def test_every_link_answers() -> None:
    html = page()
    hrefs = set(re.findall(r'href="([^"]+)"', html))
    assert set(LINKS) <= hrefs
    client = Client()
    for href in hrefs:
        assert client.get(href).status_code in (200, 302, 401, 403), href


def test_the_language_switch_posts_to_set_language() -> None:
    html = page()
    assert re.search(r'<form action="/i18n/setlang/" method="post"', html)
    assert 'name="csrfmiddlewaretoken"' in html
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "先试试这些" in page(client, language="en")  # the chosen language wins


@override_settings(DEBUG=True)
def test_demo_logins_in_development_when_they_exist() -> None:
    demo_users("zh01.trader", "nbpedz.regulator", "admin")
    html = page()
    assert 'id="demo-logins"' in html
    assert DEMO_PASSWORD in html
    for name in ("zh01.trader", "nbpedz.regulator", "admin"):
        assert f"<code>{name}</code>" in html
    assert "<code>zh01.keeper</code>" not in html  # not created here
    assert "demo_walkthrough" in html


@override_settings(DEBUG=True)
def test_no_demo_logins_without_the_demo() -> None:
    html = page()
    assert 'id="demo-logins"' not in html
    assert DEMO_PASSWORD not in html


@override_settings(DEBUG=True)
def test_a_login_whose_password_changed_is_not_offered() -> None:
    demo_users("zh01.trader", "admin")
    user = get_user_model().objects.get(username="admin")
    user.set_password("a-real-secret-now")
    user.save()
    html = page()
    assert "<code>zh01.trader</code>" in html
    assert "<code>admin</code>" not in html


@override_settings(DEBUG=False)
def test_never_in_production() -> None:
    demo_users("zh01.trader", "admin")
    html = page()
    assert 'id="demo-logins"' not in html
    assert DEMO_PASSWORD not in html


@override_settings(DEBUG=False, SHOW_DEMO_LOGINS=True)
def test_a_public_demo_server_may_show_them() -> None:
    demo_users("zh01.trader")
    assert "<code>zh01.trader</code>" in page()


@override_settings(DEBUG=True, SHOW_DEMO_LOGINS=False)
def test_the_setting_hides_them_in_development_too() -> None:
    demo_users("zh01.trader")
    assert DEMO_PASSWORD not in page()


def test_the_admins_view_site_link_leads_here() -> None:
    get_user_model().objects.create_superuser("root", password="x-long-enough-1")
    client = Client()
    assert client.login(username="root", password="x-long-enough-1")
    html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'<a href="/">View site</a>', html)


@override_settings(DEBUG=True, SHOW_DEMO_LOGINS=None)
def test_unset_the_setting_follows_debug() -> None:
    demo_users("zh01.trader")
    assert "<code>zh01.trader</code>" in page()
