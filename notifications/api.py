"""The notifications' API: a user's own inbox and choices, the catalogue of event types,
and an enterprise's webhook endpoints with their delivery log."""

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from access.api import ScopedModelViewSet, ScopedReadOnlyViewSet
from access.roles import ADMIN_ROLES
from access.scope import Scope
from common.exceptions import NotPermitted
from common.filters import FilterSet
from common.serializers import NoInputSerializer
from notifications.catalogue import event_types
from notifications.models import (
    Channel,
    DeliveryState,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.selectors import (
    may_manage_webhooks,
    notification_list,
    unread_count,
    webhook_delivery_list,
    webhook_endpoint_list,
)
from notifications.serializers import (
    EventTypeSerializer,
    MarkedSerializer,
    NotificationSerializer,
    PreferenceSerializer,
    PreferencesUpdateSerializer,
    RotateSecretSerializer,
    SecretSerializer,
    UnreadCountSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
    event_type_row,
)
from notifications.services.fanout import channel_choices
from notifications.services.inbox import (
    notification_mark_read,
    notifications_mark_all_read,
    preferences_set,
)
from notifications.services.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_redeliver,
    webhook_secret_rotate,
    webhook_test_send,
)


class OwnInboxPermission(permissions.BasePermission):
    """Anyone logged in reads and marks their own notifications and sets their own
    choices, a regulator or a viewer too: these writes touch only the caller's own rows."""

    message = _("Log in to read your notifications.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated)


class NotificationFilter(FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", label="Only unread (true) or read (false)."
    )
    type = django_filters.CharFilter(field_name="type", max_length=80)

    class Meta:
        model = Notification
        fields = ["unread", "type"]


class NotificationViewSet(ScopedReadOnlyViewSet):
    """The caller's own notifications, newest first (``?unread=true``); mark one or all
    read; the unread count (cheap enough to poll); the caller's choices per event type and
    channel; the catalogue of event types."""

    queryset_model = Notification
    serializer_class = NotificationSerializer
    permission_classes = [OwnInboxPermission]
    write_roles = frozenset()  # no enterprise role is needed: the caller's own rows only
    filterset_class = NotificationFilter

    def scoped_queryset(self, scope: Scope) -> QuerySet[Notification]:
        return notification_list(scope=scope)

    @extend_schema(request=NoInputSerializer, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"], url_path="read")
    def read(self, request: Request, pk: str | None = None) -> Response:
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        notification = notification_mark_read(actor=self.scope, notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=NoInputSerializer, responses={200: MarkedSerializer})
    @action(
        detail=False,
        methods=["post"],
        url_path="read-all",
        pagination_class=None,
        filter_backends=[],
    )
    def read_all(self, request: Request) -> Response:
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        return Response({"marked": notifications_mark_all_read(actor=self.scope)})

    @extend_schema(responses={200: UnreadCountSerializer})
    @action(
        detail=False,
        methods=["get"],
        url_path="unread-count",
        pagination_class=None,
        filter_backends=[],
    )
    def unread_count(self, request: Request) -> Response:
        return Response({"unread": unread_count(scope=self.scope)})

    @extend_schema(responses={200: EventTypeSerializer(many=True)})
    @action(
        detail=False,
        methods=["get"],
        url_path="event-types",
        pagination_class=None,
        filter_backends=[],
    )
    def event_types(self, request: Request) -> Response:
        """The event types one may hear of, with their defaults and the schema of their
        data (the webhooks' payloads: docs/notifications.md)."""
        return Response([event_type_row(kind) for kind in event_types()])

    @extend_schema(
        request=PreferencesUpdateSerializer, responses={200: PreferenceSerializer(many=True)}
    )
    @action(
        detail=False,
        methods=["get", "patch"],
        url_path="preferences",
        pagination_class=None,
        filter_backends=[],
    )
    def preferences(self, request: Request) -> Response:
        """The caller's choice per event type and channel (``default``: the catalogue's).
        PATCH ``{"choices": [{"type", "channel", "enabled"}, ...]}`` sets some of them."""
        if request.method == "PATCH":
            serializer = PreferencesUpdateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            preferences_set(actor=self.scope, choices=serializer.validated_data["choices"])
        kinds = event_types()
        user_id = self.scope.user.pk
        rows = []
        chosen = {kind.topic: channel_choices(kind, [user_id])[user_id] for kind in kinds}
        for kind in kinds:
            for channel, default in ((Channel.IN_APP, kind.in_app), (Channel.EMAIL, kind.email)):
                rows.append(
                    {
                        "type": kind.topic,
                        "channel": channel,
                        "enabled": chosen[kind.topic][channel],
                        "default": default,
                    }
                )
        return Response(PreferenceSerializer(rows, many=True).data)


class WebhookEndpointFilter(FilterSet):
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = WebhookEndpoint
        fields = ["enabled"]


class WebhookAdminPermission(permissions.BasePermission):
    message = _("Only an enterprise's admins manage its webhook endpoints.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return may_manage_webhooks(view.scope)


@extend_schema_view(
    create=extend_schema(
        request=WebhookEndpointSerializer, responses={201: WebhookEndpointCreatedSerializer}
    ),
)
class WebhookEndpointViewSet(ScopedModelViewSet):
    """An enterprise's webhook endpoints: where its events are sent, signed per the
    Standard Webhooks specification (docs/notifications.md). The signing secret is shown
    once, when the endpoint is created or its secret rotated."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset_model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    permission_classes = [*ScopedModelViewSet.permission_classes, WebhookAdminPermission]
    write_roles = ADMIN_ROLES
    filterset_class = WebhookEndpointFilter

    def scoped_queryset(self, scope: Scope) -> QuerySet[WebhookEndpoint]:
        return webhook_endpoint_list(scope=scope)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        enterprise = self.scope.enterprise
        if enterprise is None:
            raise NotPermitted(
                gettext("Webhook endpoints are an enterprise's, added by its admin.")
            )
        serializer = WebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = webhook_endpoint_create(
            actor=self.scope, enterprise=enterprise, **serializer.validated_data
        )
        data = dict(WebhookEndpointSerializer(endpoint).data)
        data["secret"] = secret
        return Response(data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        serializer = WebhookEndpointSerializer(endpoint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_update(
            actor=self.scope, endpoint=endpoint, **serializer.validated_data
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        webhook_endpoint_delete(actor=self.scope, endpoint=instance)

    @extend_schema(request=RotateSecretSerializer, responses={200: SecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new secret; the current ones keep signing for ``overlap_hours`` (both
        signatures are sent meanwhile)."""
        endpoint = self.get_object()
        serializer = RotateSecretSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        secret = webhook_secret_rotate(
            actor=self.scope, endpoint=endpoint, **serializer.validated_data
        )
        return Response({"secret": secret})

    @extend_schema(request=NoInputSerializer, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request: Request, pk: str | None = None) -> Response:
        """Send a ``webhook.test`` event to this endpoint now; its delivery is returned
        (follow it in the delivery log)."""
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        delivery = webhook_test_send(actor=self.scope, endpoint=self.get_object())
        fresh = webhook_delivery_list(scope=self.scope).get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(fresh).data, status=status.HTTP_202_ACCEPTED)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return WebhookEndpointSerializer


class WebhookDeliveryFilter(FilterSet):
    endpoint = django_filters.NumberFilter(field_name="endpoint_id")
    status = django_filters.ChoiceFilter(choices=DeliveryState.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status"]


class WebhookDeliveryViewSet(ScopedReadOnlyViewSet):
    """The delivery log of an enterprise's endpoints, newest first: every attempt with its
    status, time and the beginning of the answer; ``redeliver`` sends one again."""

    queryset_model = WebhookDelivery
    serializer_class = WebhookDeliverySerializer
    permission_classes = [*ScopedReadOnlyViewSet.permission_classes, WebhookAdminPermission]
    write_roles = ADMIN_ROLES
    filterset_class = WebhookDeliveryFilter

    def scoped_queryset(self, scope: Scope) -> QuerySet[WebhookDelivery]:
        return webhook_delivery_list(scope=scope)

    @extend_schema(request=NoInputSerializer, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="redeliver")
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        delivery = webhook_redeliver(actor=self.scope, delivery=self.get_object())
        fresh = webhook_delivery_list(scope=self.scope).get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(fresh).data, status=status.HTTP_202_ACCEPTED)


ROUTES: list[tuple[str, Any, str]] = [
    ("notifications", NotificationViewSet, "notification"),
    ("webhook-endpoints", WebhookEndpointViewSet, "webhook-endpoint"),
    ("webhook-deliveries", WebhookDeliveryViewSet, "webhook-delivery"),
]
