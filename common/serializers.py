"""Serializer building blocks shared by every app."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


class RejectUnknownFieldsMixin:
    """Input that names a field the serializer does not take (unknown or read-only) is a 400
    on that field. DRF would drop it silently, and a client that sends ``uscc`` or ``owner``
    would believe it had changed it."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            refused = [key for key in data if key not in writable]
            if refused:
                raise serializers.ValidationError(
                    {str(key): ["This field may not be set here."] for key in refused}
                )
        return super().to_internal_value(data)  # type: ignore[misc]
