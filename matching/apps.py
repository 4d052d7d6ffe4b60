from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = _("Matching")

    def ready(self) -> None:
        # Declares the app's outbox topics; subscribes the rematch triggers (common.events).
        from matching import handlers, topics  # noqa: F401
