"""REST API v1. Each app lists its routes in ``<app>.api.ROUTES``; one router serves them."""

from rest_framework.routers import DefaultRouter

from audit.api import ROUTES as AUDIT_ROUTES
from energy.api import ROUTES as ENERGY_ROUTES
from inventory.api import ROUTES as INVENTORY_ROUTES
from marketplace.api import ROUTES as MARKETPLACE_ROUTES
from matching.api import ROUTES as MATCHING_ROUTES
from notifications.api import ROUTES as NOTIFICATIONS_ROUTES
from orders.api import ROUTES as ORDERS_ROUTES
from parks.api import ROUTES as PARKS_ROUTES
from pools.api import ROUTES as POOLS_ROUTES
from reports.api import ROUTES as REPORTS_ROUTES
from safety.api import ROUTES as SAFETY_ROUTES

router = DefaultRouter()
for prefix, viewset, basename in (
    *PARKS_ROUTES,
    *INVENTORY_ROUTES,
    *MARKETPLACE_ROUTES,
    *MATCHING_ROUTES,
    *ORDERS_ROUTES,
    *AUDIT_ROUTES,
    *NOTIFICATIONS_ROUTES,
    *POOLS_ROUTES,
    *SAFETY_ROUTES,
    *ENERGY_ROUTES,
    *REPORTS_ROUTES,
):
    router.register(prefix, viewset, basename=basename)

urlpatterns = router.urls
