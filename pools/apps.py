from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoolsConfig(AppConfig):
    name = "pools"
    verbose_name = _("Joint stockpiles")
    default_auto_field = "django.db.models.BigAutoField"
