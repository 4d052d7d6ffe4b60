"""Query-string filters of ``/api/v1/audit/``."""

import django_filters

from audit.models import AuditEntry
from common.filters import BoundedCSVField, FilterSet, IdInFilter


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """Comma-separated texts, at most ``MAX_IDS_PER_FILTER`` of them."""

    base_field_class = BoundedCSVField


class AuditEntryFilter(FilterSet):
    action = CharInFilter(
        max_length=64, help_text="Actions, comma-separated (listing.update,listing.publish)."
    )
    object_type = django_filters.CharFilter(
        max_length=100, help_text="app_label.model, e.g. marketplace.listing."
    )
    object_id = django_filters.CharFilter(
        max_length=64, help_text="The object's id (with object_type)."
    )
    user = IdInFilter(field_name="user_id", help_text="User ids, comma-separated.")
    request_id = django_filters.CharFilter(
        max_length=128, help_text="The X-Request-ID of the call."
    )
    at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text="at_after / at_before (ISO 8601 date-times, inclusive)."
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []
