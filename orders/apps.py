from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        # Subscribes the expiry of orders to the outbox (reservation.expired).
        from orders import handlers  # noqa: F401
