"""Admin of the material catalogue, warehouses and zones, stock lots, the stock ledger and
reservations.

Stock changes only through inventory.services: adding a lot is a receipt
(``stock_receive``), a lot's page offers an adjustment (``stock_adjust``), quantities are
never edited in a form, and the ledger is read-only. Lots can also be imported from CSV
or XLSX with a preview (see inventory.resources); every imported row is a receipt.
Materials, warehouses, zones (also those edited inline on a warehouse's page) and a lot's
details are saved by their services too; a refusal is an error on the field it names.
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from access.admin import READ_STAFF, TenantScopedAdmin, TenantScopedInline
from access.roles import ADMIN_ROLES, STOCK_ROLES
from access.rules import may_change
from access.scope import Scope, request_scope
from common.admin import is_staff_user
from common.exceptions import DomainError
from inventory.hazards import HazardClass
from inventory.models import (
    DRUG_PRECURSOR_CHOICES,
    Material,
    Permit,
    Reservation,
    StockLot,
    StockMovement,
    StorageZone,
    Warehouse,
)
from inventory.resources import StockLotResource
from inventory.selectors import (
    lot_list,
    material_list,
    movement_list,
    permit_list,
    reservation_list,
    warehouse_list,
    warehouses_writable,
    zone_list,
)
from inventory.services import (
    LOT_DETAIL_FIELDS,
    MATERIAL_FIELDS,
    PERMIT_FIELDS,
    WAREHOUSE_FIELDS,
    ZONE_FIELDS,
    lot_update_details,
    material_create,
    material_update,
    permit_create,
    permit_delete,
    permit_update,
    stock_adjust,
    stock_receive,
    warehouse_create,
    warehouse_delete,
    warehouse_update,
    zone_create,
    zone_delete,
    zone_update,
)
from inventory.units import MAX_QUANTITY_KG, Unit, UnitNotAccepted, to_kg
from parks.models import Park


class HazardClassesField(forms.TypedMultipleChoiceField):
    """A list of dangerous-goods class codes, picked from the class table."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(choices=HazardClass.choices, **kwargs)


def check_expiry(form: forms.BaseForm, cleaned: dict[str, Any]) -> None:
    produced_on, expires_on = cleaned.get("produced_on"), cleaned.get("expires_on")
    if produced_on and expires_on and expires_on < produced_on:
        form.add_error("expires_on", _("Expiry is before production."))


def quantity_kg_or_error(
    form: forms.BaseForm, *, material: Material, quantity: Decimal, unit: str, signed: bool = False
) -> Decimal | None:
    """``quantity`` ``unit`` of ``material`` in kilograms, or None with the error on the form."""
    try:
        kg = to_kg(quantity, unit, density_kg_per_l=material.density_kg_per_l)
    except UnitNotAccepted as exc:
        form.add_error(
            "unit",
            _("%(material)s is accepted in: %(units)s.")
            % {"material": material.name_zh or material.name_en, "units": ", ".join(exc.accepted)},
        )
        return None
    if kg == 0 or (kg < 0 and not signed):
        form.add_error("quantity", _("Must be at least 1 g once converted to kilograms."))
        return None
    if abs(kg) > MAX_QUANTITY_KG:
        form.add_error("quantity", _("Must not exceed %s kg.") % MAX_QUANTITY_KG)
        return None
    return kg


# --- material catalogue ---------------------------------------------------------------------


class MaterialForm(forms.ModelForm):
    subsidiary_classes = HazardClassesField(label=_("subsidiary classes"))
    # Not posted: not a drug precursor (as for the two unticked boxes beside it).
    drug_precursor_category = forms.TypedChoiceField(
        label=_("drug-precursor category (易制毒)"),
        choices=DRUG_PRECURSOR_CHOICES,
        coerce=int,
        required=False,
        empty_value=0,  # type: ignore[arg-type]  # the stubs allow str only; Django any value
        help_text=Material._meta.get_field("drug_precursor_category").help_text,
    )

    class Meta:
        model = Material
        fields = MATERIAL_FIELDS


@admin.register(Material)
class MaterialAdmin(TenantScopedAdmin):
    """The catalogue is shared by every park: all staff read it, superusers maintain it."""

    readable_by = READ_STAFF
    form = MaterialForm
    allow_delete = False  # a material leaves the catalogue by is_active; its lots keep it
    list_display = (
        "name_zh",
        "name_en",
        "cas",
        "un_number",
        "primary_class",
        "physical_state",
        "default_unit",
        "is_active",
    )
    list_filter = (
        "primary_class",
        "physical_state",
        "family",
        "is_active",
        "highly_toxic",
        "explosive_precursor",
        "drug_precursor_category",
    )
    list_select_related = ()
    search_fields = ("name_zh", "name_en", "cas", "un_number")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Material]:
        return material_list()

    def save_model(self, request: HttpRequest, obj: Material, form: Any, change: bool) -> None:
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in MATERIAL_FIELDS}
            if changes:
                self.call_service(
                    material_update, actor=request_scope(request), material=obj, **changes
                )
            return
        material = self.call_service(
            material_create,
            actor=request_scope(request),
            **{name: getattr(obj, name) for name in MATERIAL_FIELDS},
        )
        obj.pk = material.pk
        obj._state.adding = False
        obj.refresh_from_db()


# --- warehouses and zones --------------------------------------------------------------------


def may_write_warehouse(scope: Scope, warehouse: Warehouse) -> bool:
    """Mirrors inventory.selectors.warehouses_writable for one warehouse."""
    if scope.is_superuser:
        return True
    if scope.enterprise is not None:
        return warehouse.owner_id == scope.enterprise.pk
    return warehouse.owner_id is None and warehouse.park_id in scope.operated_park_ids


def with_occupancy(qs: QuerySet[StorageZone]) -> QuerySet[StorageZone]:
    """Zones with ``occupied_kg``: stock on hand of every owner, in one query."""
    return qs.annotate(
        occupied_kg=Coalesce(
            Sum("lots__on_hand_kg"),
            Value(Decimal(0)),
            output_field=DecimalField(max_digits=16, decimal_places=3),
        )
    )


def occupancy_text(zone: StorageZone) -> str:
    occupied = getattr(zone, "occupied_kg", None)
    if occupied is None or zone.pk is None:
        return "-"
    share = occupied / zone.capacity_kg * 100 if zone.capacity_kg else Decimal(0)
    return f"{occupied:f} / {zone.capacity_kg:f} kg ({share:.0f}%)"


class StorageZoneForm(forms.ModelForm):
    """A zone's fields. The (warehouse, code) uniqueness on a zone's own page (where the
    warehouse is read-only) and what a change may not take from the stock in the zone are
    checked by zone_create / zone_update, under the warehouse's lock."""

    allowed_classes = HazardClassesField(
        label=_("allowed classes"),
        help_text=_("Dangerous-goods classes licensed here; non-dangerous goods always are."),
    )

    class Meta:
        model = StorageZone
        fields = ("warehouse", *ZONE_FIELDS)


def zone_create_from_form(
    admin_: TenantScopedAdmin, request: HttpRequest, zone: StorageZone
) -> None:
    """Create ``zone`` (built by a form, unsaved) through zone_create; ``zone`` gets its key."""
    created = admin_.call_service(
        zone_create,
        actor=request_scope(request),
        warehouse=zone.warehouse,
        **{name: getattr(zone, name) for name in ZONE_FIELDS},
    )
    zone.pk = created.pk
    zone._state.adding = False


class StorageZoneInline(TenantScopedInline):
    model = StorageZone
    form = StorageZoneForm
    extra = 0
    fields = ("code", "name", "building", "capacity_kg", "allowed_classes", "occupancy")
    readonly_fields = ("occupancy",)
    ordering = ("code",)
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[StorageZone]:
        return with_occupancy(super().get_queryset(request))

    @admin.display(description=_("occupancy"))
    def occupancy(self, obj: StorageZone) -> str:
        return occupancy_text(obj)


class WarehouseKindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("shared", _("shared warehouse")), ("private", _("enterprise warehouse"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        field = "owner" if queryset.model is Warehouse else "warehouse__owner"
        if self.value() == "shared":
            return queryset.filter(**{f"{field}__isnull": True})
        if self.value() == "private":
            return queryset.filter(**{f"{field}__isnull": False})
        return queryset


@admin.register(Warehouse)
class WarehouseAdmin(TenantScopedAdmin):
    """Enterprises keep their own warehouses; park operators the shared ones of their
    parks. Everyone with a standing sees the shared warehouses (共享仓) of their park."""

    write_roles = STOCK_ROLES
    operator_writes = True
    inlines = (StorageZoneInline,)
    list_display = ("code", "name", "park", "owner_display", "zone_count", "address")
    ordering = ("code",)  # an aggregate query drops Meta.ordering
    list_filter = (WarehouseKindFilter, ("park", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("park", "owner")
    search_fields = ("code", "name", "address", "owner__name_zh", "owner__name_en")
    scoped_choices = {
        "park": lambda scope: (
            Park.objects.all()
            if scope.is_superuser
            else Park.objects.filter(pk__in=scope.operated_park_ids)
        ),
    }

    def scoped_queryset(self, scope: Scope) -> QuerySet[Warehouse]:
        return warehouse_list(scope=scope).annotate(zone_count=Count("zones"))

    def may_write_object(self, scope: Scope, obj: Warehouse) -> bool:
        return may_write_warehouse(scope, obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        scope = request_scope(request)
        place = ("latitude", "longitude", "address")
        if scope.is_superuser:
            return ("code", "name", "park", "owner", *place)
        if obj is not None:
            return ("code", "name", "park", "owner", *place)
        if scope.enterprise is not None:
            return ("code", "name", *place)
        return ("code", "name", "park", *place)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Who stores in a warehouse follows from its park and owner: fixed once it exists.
        if obj is not None:
            return ("park", "owner")
        return ()

    def save_model(self, request: HttpRequest, obj: Warehouse, form: Any, change: bool) -> None:
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in WAREHOUSE_FIELDS}
            if changes:
                self.call_service(
                    warehouse_update, actor=request_scope(request), warehouse=obj, **changes
                )
            return
        scope = request_scope(request)
        if not scope.is_superuser:
            if scope.enterprise is not None:
                obj.owner = scope.enterprise
                obj.park = scope.enterprise.park
            else:
                obj.owner = None  # a park operator opens a shared warehouse
        warehouse = self.call_service(
            warehouse_create,
            actor=scope,
            park=obj.park,
            owner=obj.owner,
            **{name: getattr(obj, name) for name in WAREHOUSE_FIELDS},
        )
        obj.pk = warehouse.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Zones edited inline are changed and added by zone_update / zone_create."""
        if formset.model is not StorageZone:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)  # builds the instances; saves nothing
        for zone in formset.deleted_objects:
            self.call_service(zone_delete, actor=request_scope(request), zone=zone)
        for zone, changed in formset.changed_objects:
            changes = {name: getattr(zone, name) for name in changed if name in ZONE_FIELDS}
            if changes:
                self.call_service(zone_update, actor=request_scope(request), zone=zone, **changes)
        for zone in formset.new_objects:
            zone_create_from_form(self, request, zone)

    def delete_model(self, request: HttpRequest, obj: Warehouse) -> None:
        warehouse_delete(actor=request_scope(request), warehouse=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Warehouse]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda warehouse: warehouse_delete(actor=scope, warehouse=warehouse),
            done_message=gettext("%(count)d warehouse(s) deleted."),
        )

    @admin.display(description=_("owner"), ordering="owner__name_zh")
    def owner_display(self, obj: Warehouse) -> str:
        return str(obj.owner) if obj.owner_id else gettext("shared warehouse")

    @admin.display(description=_("zones"), ordering="zone_count")
    def zone_count(self, obj: Warehouse) -> int:
        return getattr(obj, "zone_count", 0)


@admin.register(StorageZone)
class StorageZoneAdmin(TenantScopedAdmin):
    write_roles = STOCK_ROLES
    operator_writes = True
    form = StorageZoneForm
    list_display = (
        "__str__",
        "name",
        "warehouse",
        "building",
        "capacity_kg",
        "occupancy",
        "classes",
    )
    list_filter = (
        WarehouseKindFilter,
        ("warehouse", admin.RelatedOnlyFieldListFilter),
        ("warehouse__park", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("warehouse",)
    ordering = ("warehouse__code", "code")  # an aggregate query drops Meta.ordering
    search_fields = ("code", "name", "warehouse__code", "warehouse__name")
    readonly_fields = ("occupancy",)
    scoped_choices = {"warehouse": lambda scope: warehouses_writable(scope=scope)}

    def scoped_queryset(self, scope: Scope) -> QuerySet[StorageZone]:
        return with_occupancy(zone_list(scope=scope))

    def may_write_object(self, scope: Scope, obj: StorageZone) -> bool:
        return may_write_warehouse(scope, obj.warehouse)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return ("warehouse", "occupancy")
        return ("occupancy",)

    def save_model(self, request: HttpRequest, obj: StorageZone, form: Any, change: bool) -> None:
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in ZONE_FIELDS}
            if changes:
                self.call_service(zone_update, actor=request_scope(request), zone=obj, **changes)
            return
        zone_create_from_form(self, request, obj)
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: StorageZone) -> None:
        zone_delete(actor=request_scope(request), zone=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[StorageZone]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda zone: zone_delete(actor=scope, zone=zone),
            done_message=gettext("%(count)d zone(s) deleted."),
        )

    @admin.display(description=_("occupancy"))
    def occupancy(self, obj: StorageZone) -> str:
        return occupancy_text(obj)

    @admin.display(description=_("allowed classes"))
    def classes(self, obj: StorageZone) -> str:
        return ", ".join(obj.allowed_classes or []) or "-"


# --- stock lots ------------------------------------------------------------------------------


class StockReceiptForm(forms.ModelForm):
    """A receipt: a quantity in a unit, kept as kilograms with the material's density."""

    quantity = forms.DecimalField(
        label=_("quantity"), max_digits=19, decimal_places=6, min_value=Decimal("0.000001")
    )
    unit = forms.ChoiceField(label=_("unit"), choices=Unit.choices, initial=Unit.KG)
    reference = forms.CharField(
        label=_("reference"),
        max_length=120,
        required=False,
        help_text=_("e.g. the delivery note number"),
    )
    note = forms.CharField(label=_("note"), max_length=255, required=False)

    class Meta:
        model = StockLot
        fields = ("owner", "material", "zone", *LOT_DETAIL_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        check_expiry(self, cleaned)
        material, quantity, unit = (cleaned.get(k) for k in ("material", "quantity", "unit"))
        if material is not None and quantity is not None and unit:
            kg = quantity_kg_or_error(self, material=material, quantity=quantity, unit=unit)
            if kg is not None:
                cleaned["quantity_kg"] = kg
        return cleaned


class StockLotDetailsForm(forms.ModelForm):
    class Meta:
        model = StockLot
        fields = LOT_DETAIL_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        check_expiry(self, cleaned)
        return cleaned


class StockAdjustForm(forms.Form):
    quantity = forms.DecimalField(
        label=_("change"),
        max_digits=19,
        decimal_places=6,
        help_text=_("Negative to take stock off (a spill, a sample), positive to add."),
    )
    unit = forms.ChoiceField(label=_("unit"), choices=Unit.choices, initial=Unit.KG)
    note = forms.CharField(
        label=_("reason"), max_length=255, help_text=_("Kept in the stock ledger.")
    )

    def __init__(self, *args: Any, material: Material, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.material = material

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        quantity, unit = cleaned.get("quantity"), cleaned.get("unit")
        if quantity is not None and unit:
            kg = quantity_kg_or_error(
                self, material=self.material, quantity=quantity, unit=unit, signed=True
            )
            if kg is not None:
                cleaned["delta_kg"] = kg
        return cleaned


ADJUST_TEMPLATE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% load i18n admin_urls %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{% translate 'Home' %}</a>
&rsaquo; <a href="{% url opts|admin_urlname:'changelist' %}">
{{ opts.verbose_name_plural|capfirst }}</a>
&rsaquo; <a href="{% url opts|admin_urlname:'change' original.pk|admin_urlquote %}">
{{ original }}</a>
&rsaquo; {{ title }}</div>{% endblock %}
{% block content %}<div id="content-main">
<p>{{ summary }}</p>
<form method="post">{% csrf_token %}
{{ form.as_div }}
<div class="submit-row"><input type="submit" class="default" value="{{ submit_label }}"></div>
</form></div>{% endblock %}
"""
)


@admin.register(StockLot)
class StockLotAdmin(ImportMixin, TenantScopedAdmin):
    """Lots of the user's enterprise (for operators and regulators: stored in their parks).

    Adding a lot is a receipt; details may be corrected later, quantities only through an
    adjustment. Lots are never deleted here: their ledger must stay complete.
    """

    write_roles = STOCK_ROLES
    allow_delete = False
    resource_classes = [StockLotResource]
    import_formats = [base_formats.CSV, base_formats.XLSX]
    list_display = (
        "id",
        "material",
        "owner",
        "zone",
        "on_hand_kg",
        "reserved_kg",
        "available",
        "batch_no",
        "grade",
        "expires_on",
    )
    list_filter = (
        ("material", admin.RelatedOnlyFieldListFilter),
        ("zone__warehouse", admin.RelatedOnlyFieldListFilter),
        ("owner", admin.RelatedOnlyFieldListFilter),
        "expires_on",
    )
    list_select_related = ("material", "owner", "zone__warehouse")
    search_fields = (
        "material__name_zh",
        "material__name_en",
        "material__cas",
        "batch_no",
        "grade",
        "zone__code",
        "zone__warehouse__code",
    )
    autocomplete_fields = ("material", "zone")
    scoped_choices = {
        "material": lambda scope: Material.objects.filter(is_active=True),
        "zone": lambda scope: zone_list(scope=scope),
    }
    detail_readonly_fields = (
        "material",
        "owner",
        "zone",
        "on_hand_kg",
        "reserved_kg",
        "available",
        "created_at",
        "updated_at",
    )

    def scoped_queryset(self, scope: Scope) -> QuerySet[StockLot]:
        return lot_list(scope=scope)

    def may_add(self, scope: Scope) -> bool:
        # A receipt needs an owner: the user's enterprise (a superuser names one).
        return scope.is_superuser or (scope.enterprise is not None and self.may_write(scope))

    def may_write_object(self, scope: Scope, obj: StockLot) -> bool:
        return may_change(scope, owner_id=obj.owner_id)

    def has_adjust_permission(self, request: HttpRequest, obj: StockLot) -> bool:
        return self._may_write(request, obj)

    def has_import_permission(self, request: HttpRequest) -> bool:
        scope = request_scope(request)
        return is_staff_user(request) and scope.enterprise is not None and scope.role in STOCK_ROLES

    # --- forms

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = StockReceiptForm if obj is None else StockLotDetailsForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            owner = ("owner",) if request_scope(request).is_superuser else ()
            return (
                *owner,
                "material",
                "zone",
                "quantity",
                "unit",
                *LOT_DETAIL_FIELDS,
                "reference",
                "note",
            )
        fields = [*self.detail_readonly_fields[:6], *LOT_DETAIL_FIELDS, "created_at", "updated_at"]
        if self.has_adjust_permission(request, obj):
            fields.append("stock_actions")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return (*self.detail_readonly_fields, "stock_actions")

    def save_model(self, request: HttpRequest, obj: StockLot, form: Any, change: bool) -> None:
        if change:
            # Only the details the form changed; the service writes just those columns.
            details = {n: form.cleaned_data[n] for n in form.changed_data if n in LOT_DETAIL_FIELDS}
            if details:
                self.call_service(
                    lot_update_details, actor=request_scope(request), lot=obj, **details
                )
            return
        scope = request_scope(request)
        owner = obj.owner if scope.is_superuser else scope.enterprise
        lot = self.call_service(
            stock_receive,
            actor=scope,
            owner=owner,
            material=obj.material,
            zone=obj.zone,
            quantity_kg=form.cleaned_data["quantity_kg"],
            batch_no=obj.batch_no,
            purity_pct=obj.purity_pct,
            grade=obj.grade,
            produced_on=obj.produced_on,
            expires_on=obj.expires_on,
            reference=form.cleaned_data.get("reference", ""),
            note=form.cleaned_data.get("note", ""),
        )
        obj.pk = lot.pk
        obj._state.adding = False
        obj.refresh_from_db()

    # --- display

    @admin.display(description=_("available (kg)"))
    def available(self, obj: StockLot) -> Decimal:
        return obj.available_kg

    @admin.display(description=_("stock"))
    def stock_actions(self, obj: StockLot) -> str:
        url = reverse("admin:inventory_stocklot_adjust", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, gettext("Adjust stock"))

    # --- adjustment

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="inventory_stocklot_adjust",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Correct a lot's on-hand quantity through ``stock_adjust`` (a count, a spill)."""
        lot = self.get_object(request, unquote(object_id))
        if lot is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_adjust_permission(request, lot):
            raise PermissionDenied
        form = StockAdjustForm(request.POST or None, material=lot.material)
        if request.method == "POST" and form.is_valid():
            try:
                stock_adjust(
                    actor=request_scope(request),
                    lot=lot,
                    delta_kg=form.cleaned_data["delta_kg"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                field = "quantity" if exc.field in ("delta", "quantity") else None
                form.add_error(field, exc.message)
            else:
                self.message_user(
                    request,
                    gettext("Stock of lot %(lot)s adjusted; the ledger has the change.")
                    % {"lot": lot.pk},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:inventory_stocklot_change", args=[lot.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Adjust stock"),
            "summary": gettext("On hand %(on_hand)s kg, reserved %(reserved)s kg.")
            % {"on_hand": lot.on_hand_kg, "reserved": lot.reserved_kg},
            "form": form,
            "opts": self.opts,
            "original": lot,
            "submit_label": gettext("Record adjustment"),
        }
        return TemplateResponse(request, ADJUST_TEMPLATE, context)

    # --- import

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"scope": request_scope(request)}

    def get_import_data_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        kwargs = super().get_import_data_kwargs(**kwargs)
        # All rows or none: a row refused at confirmation rolls the whole file back.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def process_result(self, result: Any, request: HttpRequest) -> HttpResponse:
        if result.has_errors() or result.has_validation_errors():
            problems = [
                gettext("row %(number)s: %(errors)s")
                % {
                    "number": row.number,
                    "errors": "; ".join(
                        f"{name}: {' '.join(str(m) for m in msgs)}"
                        for name, msgs in row.error_dict.items()
                    ),
                }
                for row in result.invalid_rows
            ]
            problems += [
                gettext("row %(number)s: %(errors)s")
                % {"number": number, "errors": errors[0].error}
                for number, errors in result.row_errors()
            ]
            problems += [str(error.error) for error in result.base_errors]
            self.message_user(
                request,
                gettext("Nothing was imported: %s") % " | ".join(problems),
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:inventory_stocklot_import"))
        return super().process_result(result, request)


@admin.register(StockMovement)
class StockMovementAdmin(TenantScopedAdmin):
    """The stock ledger: append-only, so read-only for everyone."""

    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = ("id", "created_at", "lot", "owner", "kind", "quantity_kg", "reference", "actor")
    list_filter = ("kind", ("lot__material", admin.RelatedOnlyFieldListFilter), "created_at")
    list_select_related = ("lot__material", "lot__owner", "actor")
    search_fields = (
        "reference",
        "note",
        "lot__batch_no",
        "lot__material__name_zh",
        "lot__material__name_en",
        "lot__material__cas",
    )

    def scoped_queryset(self, scope: Scope) -> QuerySet[StockMovement]:
        return movement_list(scope=scope)

    @admin.display(description=_("owner"), ordering="lot__owner__name_zh")
    def owner(self, obj: StockMovement) -> str:
        return str(obj.lot.owner)


@admin.register(Reservation)
class ReservationAdmin(TenantScopedAdmin):
    """Stock held for enterprises: read-only for everyone. Reservations change only through
    inventory.services (the orders that hold them), never in a form. An enterprise sees the
    reservations on its lots and those it holds; park staff those on lots in their parks."""

    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = (
        "id",
        "created_at",
        "lot",
        "lot_owner",
        "holder",
        "quantity_kg",
        "status",
        "expires_at",
        "reference",
    )
    list_filter = (
        "status",
        ("lot__material", admin.RelatedOnlyFieldListFilter),
        ("holder", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    list_select_related = ("lot__material", "lot__owner", "holder")
    search_fields = ("reference", "lot__material__name_zh", "lot__material__name_en")
    fields = (
        "lot",
        "holder",
        "quantity_kg",
        "status",
        "expires_at",
        "reference",
        "created_by",
        "created_at",
        "closed_at",
        "close_reason",
    )
    readonly_fields = fields

    def scoped_queryset(self, scope: Scope) -> QuerySet[Reservation]:
        return reservation_list(scope=scope)

    @admin.display(description=_("owner"), ordering="lot__owner__name_zh")
    def lot_owner(self, obj: Reservation) -> str:
        return str(obj.lot.owner)


# --- permits to buy controlled chemicals ---------------------------------------------------


class PermitForm(forms.ModelForm):
    class Meta:
        model = Permit
        fields = PERMIT_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        valid_from, expires_on = cleaned.get("valid_from"), cleaned.get("expires_on")
        if valid_from and expires_on and expires_on < valid_from:
            # On the field, before the model's check constraint says it on the whole form.
            self.add_error("expires_on", _("The permit expires before it becomes valid."))
        return cleaned


@admin.register(Permit)
class PermitAdmin(TenantScopedAdmin):
    """An enterprise's permits to buy controlled chemicals: its staff read them, its admin
    records them (through inventory.services.permit_*); a park's operator and regulators
    read those of its enterprises."""

    form = PermitForm
    write_roles = ADMIN_ROLES
    list_display = ("id", "enterprise", "kind", "number", "valid_from", "expires_on")
    list_filter = ("kind", ("enterprise", admin.RelatedOnlyFieldListFilter), "expires_on")
    list_select_related = ("enterprise",)
    search_fields = ("number", "note", "enterprise__name_zh", "enterprise__name_en")
    autocomplete_fields = ("materials",)

    def scoped_queryset(self, scope: Scope) -> QuerySet[Permit]:
        return permit_list(scope=scope)

    def may_add(self, scope: Scope) -> bool:
        # A permit belongs to an enterprise: the user's (a superuser names one).
        return scope.is_superuser or (scope.enterprise is not None and self.may_write(scope))

    def may_write_object(self, scope: Scope, obj: Permit) -> bool:
        return may_change(scope, owner_id=obj.enterprise_id)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            owner = ("enterprise",) if request_scope(request).is_superuser else ()
            return (*owner, *PERMIT_FIELDS)
        return ("enterprise", *PERMIT_FIELDS, "created_by", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return ("enterprise", "created_by", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Permit, form: Any, change: bool) -> None:
        fields = [name for name in PERMIT_FIELDS if name != "materials"]
        materials = list(form.cleaned_data.get("materials") or [])
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in fields}
            if "materials" in form.changed_data:
                changes["materials"] = materials
            if changes:
                self.call_service(
                    permit_update, actor=request_scope(request), permit=obj, **changes
                )
            return
        scope = request_scope(request)
        permit = self.call_service(
            permit_create,
            actor=scope,
            enterprise=scope.enterprise if scope.enterprise is not None else obj.enterprise,
            materials=materials,
            **{name: getattr(obj, name) for name in fields},
        )
        obj.pk = permit.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # permit_create / permit_update already set the materials.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: Permit) -> None:
        permit_delete(actor=request_scope(request), permit=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Permit]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda permit: permit_delete(actor=scope, permit=permit),
            done_message=gettext("%(count)d permit(s) deleted."),
        )
