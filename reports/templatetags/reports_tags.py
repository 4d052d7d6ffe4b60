from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from reports.sections import Column

register = template.Library()


@register.filter
def cell(value: Any, column: Column) -> str:
    """One value of a report's table, as the page shows it: a decimal rounded half up to
    the column's places, grouped as the language groups digits."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        places = column.shown_places
        if places is not None:
            value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)
    if isinstance(value, int):
        return number_format(value, use_l10n=True, force_grouping=True)
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    return str(value)
