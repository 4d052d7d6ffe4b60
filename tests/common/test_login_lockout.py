"""Password logins are locked out after AXES_FAILURE_LIMIT (10) wrong passwords for one
username from one IP, for AXES_COOLOFF_TIME (15 minutes); API tokens are not affected.
The test settings turn the lockout off; these tests turn it on."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from knox.models import AuthToken

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def axes_on(settings: Any) -> None:
    settings.AXES_ENABLED = True
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


@pytest.fixture
def admin_user(world: dict[str, Any]) -> Any:
    user = world["users"]["superuser"]
    user.set_password(PASSWORD)
    user.save()
    return user


def _login(client: Client, username: str, password: str, ip: str = "198.51.100.7") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_lockout_settings() -> None:
    assert django_settings.AXES_FAILURE_LIMIT == 10
    assert timedelta(minutes=15) == django_settings.AXES_COOLOFF_TIME
    assert django_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert django_settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_the_eleventh_wrong_password_is_locked_out_and_so_is_the_right_one(
    axes_on: None, admin_user: Any
) -> None:
    client = Client()
    for attempt in range(1, 10):
        response = _login(client, admin_user.username, f"wrong-{attempt}")
        assert response.status_code == 200, attempt  # the form again, with its error
    # The tenth failure reaches the limit: from then on the pair is locked out.
    assert _login(client, admin_user.username, "wrong-10").status_code == 429
    assert _login(client, admin_user.username, "wrong-11").status_code == 429
    locked = _login(client, admin_user.username, PASSWORD)
    assert locked.status_code == 429
    assert not _logged_in(client)
    # The lock is on username + IP: the same user from another address still logs in.
    other = Client()
    response = _login(other, admin_user.username, PASSWORD, ip="203.0.113.5")
    assert response.status_code == 302
    assert _logged_in(other)


def test_failures_below_the_limit_do_not_lock(axes_on: None, admin_user: Any) -> None:
    client = Client()
    for attempt in range(9):
        assert _login(client, admin_user.username, f"wrong-{attempt}").status_code == 200
    assert _login(client, admin_user.username, PASSWORD).status_code == 302
    assert _logged_in(client)


def test_api_tokens_work_with_the_lockout_on_even_for_a_locked_out_user(
    axes_on: None, admin_user: Any
) -> None:
    client = Client()
    for attempt in range(10):
        _login(client, admin_user.username, f"wrong-{attempt}")
    assert _login(client, admin_user.username, PASSWORD).status_code == 429
    _instance, token = AuthToken.objects.create(user=admin_user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="198.51.100.7")
    assert api.get("/api/v1/materials/").status_code == 200
    assert Client().get("/api/v1/materials/", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
