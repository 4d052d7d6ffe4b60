from rest_framework import serializers

from audit.models import AuditEntry
from common.serializers import FlatReadSerializer

AUDIT_FIELDS = (
    "id",
    "at",
    "user",
    "username",
    "enterprise",
    "park",
    "role",
    "via",
    "request_id",
    "action",
    "object_type",
    "object_id",
    "changes",
    "note",
)


class AuditEntrySerializer(FlatReadSerializer):
    """One audit row: who (user, username, enterprise, role, via), when (at), what
    (action, object_type, object_id, changes) and the request (request_id)."""

    changes = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField(), min_length=2, max_length=2),
        read_only=True,
        help_text="{field: [before, after]}; decimals as strings.",
    )

    class Meta:
        model = AuditEntry
        fields = AUDIT_FIELDS
        read_only_fields = AUDIT_FIELDS
