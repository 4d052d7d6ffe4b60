from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        # Declares the app's outbox topics; subscribes the expiry of orders (common.events).
        from orders import handlers, topics  # noqa: F401
