"""Generic pieces of the REST views: foreign ids bounded at the edge. The scoped base
classes every view builds on (tenancy, write permissions, scoped foreign keys) are in
``access.api``."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

from common.filters import MAX_ID, MAX_IDS


class IdListField(serializers.ManyRelatedField):
    """A list of foreign ids, at most ``MAX_IDS``: each id is a query, so the count is
    bounded before any of them is looked up."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, list) and len(data) > MAX_IDS:
            raise serializers.ValidationError(
                _("At most %(max)s ids.") % {"max": MAX_IDS}, code="max_length"
            )
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.INT)
class IdField(serializers.PrimaryKeyRelatedField):
    """A foreign id in a request body: a whole number within the database's keys. ``1e400``
    (infinity once parsed), 2**64, ``true`` or 1.5 is refused on the field before it
    reaches the database."""

    def to_internal_value(self, data: Any) -> Any:
        whole_float = isinstance(data, float) and data.is_integer() and abs(data) <= MAX_ID
        digits = isinstance(data, str) and data.strip().isdigit()
        if whole_float or digits:
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> IdListField:
        list_kwargs: dict[str, Any] = {"child_relation": cls(*args, **kwargs)}
        for key in kwargs:
            if key in MANY_RELATION_KWARGS:
                list_kwargs[key] = kwargs[key]
        return IdListField(**list_kwargs)
