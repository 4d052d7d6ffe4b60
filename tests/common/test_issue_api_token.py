"""``manage.py issue_api_token``: a working Bearer token, printed alone on the last line."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework.test import APIClient

from tests import factories as f

pytestmark = pytest.mark.django_db


def issue(*args: str) -> list[str]:
    out = StringIO()
    call_command("issue_api_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_token_on_the_last_line_authenticates_its_user() -> None:
    membership = f.MembershipFactory.create(role="viewer")
    lines = issue("--user", membership.user.username, "--days", "30")
    token = lines[-1]
    assert " " not in token
    stored = AuthToken.objects.get(user=membership.user)
    assert stored.expiry is not None
    assert abs(stored.expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/enterprises/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [membership.enterprise_id]


def test_default_expiry_is_the_configured_ttl() -> None:
    user = f.UserFactory.create()
    issue("--user", user.username)
    stored = AuthToken.objects.get(user=user)
    assert stored.expiry is not None
    expected = timezone.now() + knox_settings.TOKEN_TTL
    assert abs(stored.expiry - expected) < timedelta(minutes=1)


def test_each_call_issues_another_token() -> None:
    user = f.UserFactory.create()
    first, second = issue("--user", user.username)[-1], issue("--user", user.username)[-1]
    assert first != second
    assert AuthToken.objects.filter(user=user).count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "No user named 'nobody'"),
        (["--user", "{user}", "--days", "0"], "--days"),
        (["--user", "{user}", "--days", "-3"], "--days"),
        (["--user", "{user}", "--days", "100000"], "--days"),
    ],
)
def test_bad_arguments_are_command_errors(args: list[str], message: str) -> None:
    user = f.UserFactory.create()
    args = [a.format(user=user.username) for a in args]
    with pytest.raises(CommandError, match=message):
        issue(*args)
    assert not AuthToken.objects.exists()


def test_inactive_user_gets_no_token() -> None:
    user = f.UserFactory.create(is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        issue("--user", user.username)
    assert not AuthToken.objects.exists()


def test_user_is_required() -> None:
    with pytest.raises(CommandError):
        issue("--days", "5")
