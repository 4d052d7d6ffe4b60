from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = _("Matching")

    def ready(self) -> None:
        # Subscribes the rematch triggers to the outbox (listing.*, need.*, stock.*).
        from matching import handlers  # noqa: F401
