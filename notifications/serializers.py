"""The notifications' API shapes (translation only)."""

from typing import Any

from rest_framework import serializers

from common.serializers import RejectUnknownFieldsMixin
from notifications.catalogue import event_type
from notifications.envelope import event_id
from notifications.models import (
    Channel,
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


class NotificationSerializer(serializers.ModelSerializer):
    """An in-app notification: the event's type, id and data, and its title in the
    caller's language."""

    title = serializers.SerializerMethodField()
    event_id = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "type", "event_id", "title", "data", "occurred_at", "read_at"]
        read_only_fields = fields

    def get_title(self, obj: Notification) -> str:
        kind = event_type(obj.type)
        return kind.title_for(obj.data) if kind else obj.type

    def get_event_id(self, obj: Notification) -> str:
        return event_id(obj.event_id)


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class PreferenceSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    type = serializers.CharField(max_length=80)
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()
    default = serializers.BooleanField(read_only=True)


class PreferencesUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    choices = serializers.ListField(child=PreferenceSerializer(), max_length=200)


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    version = serializers.IntegerField()
    group = serializers.CharField()
    description = serializers.CharField()
    title = serializers.CharField()
    in_app = serializers.BooleanField(help_text="Default of the in-app channel.")
    email = serializers.BooleanField(help_text="Default of the e-mail channel.")
    data_schema = serializers.DictField(help_text="JSON Schema of the event's data.")


class WebhookEndpointSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=80), max_length=100, required=False
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "created_at",
            "failing_since",
            "disabled_at",
            "disabled_reason",
        ]
        read_only_fields = ["id", "created_at", "failing_since", "disabled_at", "disabled_reason"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_...): shown this once."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class RotateSecretSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    overlap_hours = serializers.IntegerField(min_value=0, max_value=168, default=24)


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret: shown this once.")


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "status_code", "duration_ms", "response_excerpt", "error"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.CharField(read_only=True)
    type = serializers.CharField(source="event.topic", read_only=True)
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "webhook_id",
            "type",
            "status",
            "attempts",
            "due_at",
            "created_at",
            "delivered_at",
            "last_status_code",
            "last_error",
            "attempt_log",
        ]
        read_only_fields = fields


def event_type_row(kind: Any) -> dict[str, Any]:
    from notifications.schemas import data_schema

    declared = kind.declared
    return {
        "type": kind.topic,
        "version": declared.version,
        "group": str(kind.group),
        "description": declared.description,
        "title": str(kind.title),
        "in_app": kind.in_app,
        "email": kind.email,
        "data_schema": data_schema(declared.payload),
    }
