from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoolsConfig(AppConfig):
    name = "pools"
    verbose_name = _("Joint stockpiles")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declares the app's outbox topics and subscribers (common.events).
        from pools import handlers, topics  # noqa: F401
