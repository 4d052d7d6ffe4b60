from django.urls import path, register_converter

from reports import views


class IdConverter:
    """A database id in a path: at most 18 digits, so 2**64 is not found (404) rather than
    overflowing the database's integer (a 500)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class MonthConverter:
    regex = "[0-9]{4}-[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(IdConverter, "report_id")
register_converter(MonthConverter, "yyyy_mm")

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("compare/", views.comparison, name="comparison"),
    path("parks/<report_id:park_id>/", views.park_page, name="park"),
    path("parks/<report_id:park_id>/monthly/<yyyy_mm:month>/", views.monthly, name="monthly"),
    path("parks/<report_id:park_id>/<slug:page>/", views.park_page, name="park-page"),
]
