from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SafetyConfig(AppConfig):
    name = "safety"
    verbose_name = _("Production safety")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declares the app's outbox topics; subscribes the major-hazard recompute to
        # stock.changed (common.events).
        from safety import handlers, topics  # noqa: F401
