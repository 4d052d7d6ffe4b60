"""``manage.py issue_api_token --user NAME [--days N]``: a Bearer token for a partner system.

Only a digest of the token is stored (django-rest-knox), so it is shown this once: the
token alone is the last line of the output, for scripts (``| tail -n 1``). Revoke it by
deleting its row in the admin.
"""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import AuthToken
from knox.settings import knox_settings

MAX_DAYS = 3650


class Command(BaseCommand):
    help = "Issue an API token (Authorization: Bearer ...) for a user; prints it last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username of the token's user")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="days until the token expires (default: API_TOKEN_TTL_DAYS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["user"]
        days: int | None = options["days"]
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}.")
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive; its tokens would be refused.")
        ttl = timedelta(days=days) if days is not None else knox_settings.TOKEN_TTL
        instance, token = AuthToken.objects.create(user=user, expiry=ttl)
        expiry = instance.expiry.isoformat() if instance.expiry else "never"
        self.stdout.write(f"API token for {username} (expires {expiry}):")
        self.stdout.write(token)
