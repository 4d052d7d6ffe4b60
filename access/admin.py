"""The tenant-scoped admin that every ModelAdmin of ParkShare builds on.

The admin serves enterprise staff, park operators and regulators as well as superusers.
What a user sees and may do is decided by the :class:`~access.scope.Scope` and the role
(``access.rules``, the questions the API asks too), never by Django's model permissions,
so a demo login needs only ``is_staff``:

* every changelist, change page, autocomplete and related-only list filter starts from
  :meth:`TenantScopedAdmin.scoped_queryset`, so a row outside the scope is answered like a
  deleted one ("doesn't exist");
* every foreign-key and many-to-many choice is looked up through the scope as well (the
  target admin's queryset unless the admin names a narrower one); a foreign key to a model
  without a scoped admin offers nothing to anyone but a superuser;
* writes that a service owns call the service; a :class:`~common.exceptions.DomainError`
  it raises, or a django ``ValidationError`` of the model's validators that the service
  runs (``common.validation``), becomes an error on the form, never a 500.
"""

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from access.rules import has_standing, may_write
from access.scope import Scope, request_scope
from common.admin import REFUSAL_ATTR, ServiceRefused, form_with_refusal, is_staff_user
from common.exceptions import DomainError
from common.validation import as_refusal

ScopedChoices = Callable[[Scope], QuerySet[Any]]

# Who may read an admin's rows (writes are decided by roles, see TenantScopedAdmin).
READ_SCOPE = "scope"  # anyone with a standing (a membership or a park role), within scope
READ_STAFF = "staff"  # every staff user: reference data such as parks and materials
READ_SUPERUSER = "superuser"


class ScopedChoicesMixin:
    """Foreign-key and many-to-many choices looked up through the user's scope."""

    admin_site: admin.AdminSite
    #: Field name -> the queryset its choices come from, narrower than the target admin's
    #: (e.g. the zones an enterprise may store in, the warehouses it may change).
    scoped_choices: ClassVar[dict[str, ScopedChoices]] = {}

    def choices_for(self, db_field: Any, request: HttpRequest) -> QuerySet[Any] | None:
        scope = request_scope(request)
        narrower = self.scoped_choices.get(db_field.name)
        if narrower is not None:
            return narrower(scope)
        target = db_field.remote_field.model
        target_admin = self.admin_site._registry.get(target)
        if isinstance(target_admin, TenantScopedAdmin):
            return target_admin.get_queryset(request)
        if scope.is_superuser:
            return None  # Django's default: every row
        return target._default_manager.none()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            queryset = self.choices_for(db_field, request)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            queryset = self.choices_for(db_field, request)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class TenantScopedAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    """A ModelAdmin whose rows, choices and permissions come from the user's Scope.

    Subclasses implement :meth:`scoped_queryset` (usually a selector) and say who writes:
    ``write_roles`` (enterprise roles; the rows they may change are those
    :meth:`may_write_object` accepts), ``operator_writes`` for park operators. Superusers
    pass every role check; what an admin never offers (``allow_add``/``allow_change``/
    ``allow_delete``) and per-row rules (a withdrawn listing is read-only) still apply.
    """

    readable_by: ClassVar[str] = READ_SCOPE
    write_roles: ClassVar[frozenset[str]] = frozenset()
    operator_writes: ClassVar[bool] = False
    allow_add: ClassVar[bool] = True
    allow_change: ClassVar[bool] = True
    allow_delete: ClassVar[bool] = True
    #: Field named by a service's DomainError -> the form field to show it on.
    service_error_fields: ClassVar[dict[str, str]] = {}

    # --- rows ---------------------------------------------------------------------------

    def scoped_queryset(self, scope: Scope) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = self.scoped_queryset(request_scope(request))
        if isinstance(self.list_select_related, list | tuple) and self.list_select_related:
            # The changelist skips list_select_related once a selector has select_related.
            qs = qs.select_related(*self.list_select_related)
        ordering = self.get_ordering(request)
        if ordering:
            qs = qs.order_by(*ordering)
        return qs

    # --- permissions --------------------------------------------------------------------

    def may_read(self, scope: Scope) -> bool:
        if scope.is_superuser:
            return True
        if self.readable_by == READ_STAFF:
            return True
        if self.readable_by == READ_SUPERUSER:
            return False
        return has_standing(scope)

    def may_write(self, scope: Scope) -> bool:
        """Whether the user may write rows of this admin at all (no object in view)."""
        return may_write(scope, roles=self.write_roles, park_operator=self.operator_writes)

    def may_write_object(self, scope: Scope, obj: Any) -> bool:
        """Whether the user may change or delete this row (it is already in scope)."""
        return scope.is_superuser

    def may_add(self, scope: Scope) -> bool:
        return self.may_write(scope)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff_user(request) and self.may_read(request_scope(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.allow_add and is_staff_user(request) and self.may_add(request_scope(request))

    def _may_write(self, request: HttpRequest, obj: Any) -> bool:
        if not is_staff_user(request):
            return False
        scope = request_scope(request)
        if not self.may_write(scope):
            return False
        return obj is None or self.may_write_object(scope, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_change and self._may_write(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_delete and self._may_write(request, obj)

    # --- writes through services ----------------------------------------------------------

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal: DomainError | None = getattr(request, REFUSAL_ATTR, None)
        if refusal is None:
            return form
        field = self.service_error_fields.get(refusal.field, refusal.field)
        return form_with_refusal(form, field, refusal.message)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The write was rolled back with the view's transaction. Render the form again
            # with the service's reason on the field it names.
            setattr(request, REFUSAL_ATTR, refused.error)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def call_service(self, service: Callable[..., Any], /, **kwargs: Any) -> Any:
        """Call a write service from ``save_model``; a DomainError (or a ValidationError of
        the model's validators) becomes a form error."""
        try:
            return service(**kwargs)
        except DomainError as exc:
            raise ServiceRefused(exc) from exc
        except ValidationError as exc:
            raise ServiceRefused(as_refusal(exc)) from exc

    def run_for_each(
        self,
        request: HttpRequest,
        objects: Iterable[Any],
        action: Callable[[Any], Any],
        *,
        done_message: str,
    ) -> None:
        """Run an admin action object by object; report refusals as messages, not 500s."""
        done = 0
        for obj in objects:
            try:
                action(obj)
            except (DomainError, ValidationError) as exc:
                refusal = as_refusal(exc) if isinstance(exc, ValidationError) else exc
                self.message_user(request, f"{obj}: {refusal.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)


class TenantScopedInline(ScopedChoicesMixin, admin.TabularInline):
    """An inline whose permissions follow the parent row: writable when the parent is."""

    def _parent_admin(self) -> TenantScopedAdmin:
        parent = self.admin_site._registry[self.parent_model]
        assert isinstance(parent, TenantScopedAdmin)
        return parent

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent_admin().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        parent = self._parent_admin()
        if obj is None:
            return parent.has_add_permission(request)
        return parent.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        parent = self._parent_admin()
        if obj is None:
            return parent.has_add_permission(request) or parent.has_change_permission(request)
        return parent.has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)
