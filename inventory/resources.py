"""Import of stock lots from CSV or XLSX (django-import-export), with a preview.

Columns: material_cas, warehouse_code, zone_code, quantity, unit (g, kg, t; L and m3 for
materials with a density), batch_no, purity_pct, grade, produced_on, expires_on.

Every row is a receipt through ``inventory.services.stock_receive``, so the ledger, the
zone's licence, capacity and segregation checks and the ``stock.changed`` event are the
same as for any other receipt. The owner is always the importing user's enterprise, and a
zone is looked up only among the zones that enterprise may store in (its own warehouses
and the shared ones of its park). Import only ever creates lots: there is no id column and
no existing lot is loaded, changed or deleted. The preview runs every receipt in a
transaction that is rolled back; the confirmed import is all rows or none.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from access.scope import Scope
from common.exceptions import DomainError
from inventory.models import Material, StockLot, StorageZone
from inventory.selectors import zone_list
from inventory.services import stock_receive
from inventory.units import MAX_QUANTITY_KG, UnitNotAccepted, to_kg

REQUIRED_COLUMNS = ("material_cas", "warehouse_code", "zone_code", "quantity", "unit")
# The column a service's DomainError is about (its ``field``), for the preview.
SERVICE_FIELD_COLUMNS = {"zone": "zone_code", "quantity": "quantity", "expires_on": "expires_on"}


class TextWidget(widgets.CharWidget):
    """A trimmed text cell; spreadsheets often carry numbers or stray spaces."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(super().clean(value, row, **kwargs) or "").strip()


class NumberCellWidget(widgets.DecimalWidget):
    """A decimal cell; anything that is not a finite number is a row error."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Decimal | None:
        try:
            number = super().clean(value, row, **kwargs)
        except (InvalidOperation, ValueError, TypeError) as exc:
            raise ValueError(_("“%s” is not a number.") % value) from exc
        if number is not None and not number.is_finite():
            raise ValueError(_("“%s” is not a number.") % value)
        return number


class DateCellWidget(widgets.DateWidget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        try:
            parsed = super().clean(value, row, **kwargs)
        except ValueError as exc:
            raise ValueError(_("“%s” is not a date (YYYY-MM-DD).") % value) from exc
        # Spreadsheet cells come as datetimes.
        return parsed.date() if isinstance(parsed, datetime) else parsed


class MaterialByCasWidget(widgets.ForeignKeyWidget):
    """An active material of the catalogue, by CAS number."""

    def __init__(self) -> None:
        super().__init__(Material, field="cas")

    def get_queryset(self, value: Any, row: Any, *args: Any, **kwargs: Any) -> Any:
        return Material.objects.filter(is_active=True)

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Material:
        cas = str(value or "").strip()
        if not cas:
            raise ValueError(_("A CAS number is required."))
        try:
            material: Material = super().clean(cas, row, **kwargs)
        except Material.DoesNotExist as exc:
            raise ValueError(_("No active material with CAS number %s.") % cas) from exc
        return material


class StockLotResource(resources.ModelResource):
    """Rows of a stock-lot file, each received into a new lot of the user's enterprise."""

    material_cas = fields.Field(
        attribute="material", column_name="material_cas", widget=MaterialByCasWidget()
    )
    # The zone is found from both codes; they are kept on the instance for the preview.
    warehouse_code = fields.Field(
        attribute="import_warehouse_code", column_name="warehouse_code", widget=TextWidget()
    )
    zone_code = fields.Field(
        attribute="import_zone_code", column_name="zone_code", widget=TextWidget()
    )
    quantity = fields.Field(
        attribute="import_quantity", column_name="quantity", widget=NumberCellWidget()
    )
    unit = fields.Field(attribute="import_unit", column_name="unit", widget=TextWidget())
    batch_no = fields.Field(attribute="batch_no", column_name="batch_no", widget=TextWidget())
    purity_pct = fields.Field(
        attribute="purity_pct", column_name="purity_pct", widget=NumberCellWidget()
    )
    grade = fields.Field(attribute="grade", column_name="grade", widget=TextWidget())
    produced_on = fields.Field(
        attribute="produced_on", column_name="produced_on", widget=DateCellWidget()
    )
    expires_on = fields.Field(
        attribute="expires_on", column_name="expires_on", widget=DateCellWidget()
    )

    class Meta:
        model = StockLot
        fields = (
            "material_cas",
            "warehouse_code",
            "zone_code",
            "quantity",
            "unit",
            "batch_no",
            "purity_pct",
            "grade",
            "produced_on",
            "expires_on",
        )
        import_id_fields: tuple[str, ...] = ()
        # Never look an existing lot up: every row is a new receipt.
        force_init_instance = True
        use_transactions = True
        clean_model_instances = True
        skip_unchanged = False
        name = "stock lots"

    def __init__(self, *, scope: Scope | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scope = scope
        self._zones: dict[tuple[str, str], StorageZone] | None = None

    # --- whole file

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        if self.scope is None or self.scope.enterprise is None:
            raise DomainError(_("Only enterprise staff can import stock lots."))
        headers = [str(h).strip() for h in (dataset.headers or [])]
        dataset.headers = headers
        missing = [c for c in REQUIRED_COLUMNS if c not in headers]
        if missing:
            raise DomainError(_("Missing columns: %s.") % ", ".join(missing))
        # The zones this enterprise may store in, once for the whole file.
        self._zones = {
            (zone.warehouse.code, zone.code): zone for zone in zone_list(scope=self.scope)
        }

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        # ModelResource resets the primary-key sequence here, which is only needed when
        # rows carry explicit ids; receipts never do, and the reset would race concurrent
        # inserts on PostgreSQL.
        return None

    # --- one row

    def import_instance(self, instance: StockLot, row: Any, **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        for field in self.get_import_fields():
            try:
                self.import_field(field, instance, row, **kwargs)
            except ValueError as exc:
                errors[field.column_name] = [str(exc)]
        for column in REQUIRED_COLUMNS:
            if column not in errors and row.get(column) in (None, ""):
                errors[column] = [_("This column is required.")]

        produced_on, expires_on = instance.produced_on, instance.expires_on
        if produced_on and expires_on and expires_on < produced_on and "expires_on" not in errors:
            errors["expires_on"] = [_("Expiry is before production.")]

        zone = None
        if not {"warehouse_code", "zone_code"} & errors.keys():
            key = (instance.import_warehouse_code, instance.import_zone_code)  # type: ignore[attr-defined]
            zone = (self._zones or {}).get(key)
            if zone is None:
                errors["zone_code"] = [
                    _("Your enterprise may not store in zone %(zone)s of warehouse %(warehouse)s.")
                    % {"zone": key[1], "warehouse": key[0]}
                ]

        quantity_kg = None
        if not {"material_cas", "quantity", "unit"} & errors.keys():
            quantity_kg = self._quantity_kg(instance, errors)

        if errors:
            raise ValidationError(errors)
        assert self.scope is not None
        assert self.scope.enterprise is not None
        instance.owner = self.scope.enterprise
        instance.zone = zone  # type: ignore[assignment]
        instance.on_hand_kg = quantity_kg  # type: ignore[assignment]
        instance.reserved_kg = Decimal(0)

    def _quantity_kg(self, instance: StockLot, errors: dict[str, list[str]]) -> Decimal | None:
        material = instance.material
        quantity: Decimal = instance.import_quantity  # type: ignore[attr-defined]
        unit: str = instance.import_unit  # type: ignore[attr-defined]
        try:
            kg = to_kg(quantity, unit, density_kg_per_l=material.density_kg_per_l)
        except UnitNotAccepted as exc:
            errors["unit"] = [
                _("Unit “%(unit)s” is not accepted for %(material)s; use one of: %(units)s.")
                % {"unit": unit, "material": material.name_en, "units": ", ".join(exc.accepted)}
            ]
            return None
        if kg <= 0:
            errors["quantity"] = [_("Must be at least 1 g once converted to kilograms.")]
            return None
        if kg > MAX_QUANTITY_KG:
            errors["quantity"] = [_("Must not exceed %s kg.") % MAX_QUANTITY_KG]
            return None
        return kg

    def validate_instance(
        self,
        instance: StockLot,
        import_validation_errors: Any = None,
        validate_unique: bool = True,
    ) -> None:
        # Field validators and the lot's constraints (purity 0..100, expiry after
        # production) are reported under the file's column names. A row that already
        # failed is only half built: report its own errors, not the model's complaints.
        if import_validation_errors:
            raise ValidationError(import_validation_errors)
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique=False)
        except ValidationError as exc:
            errors = {
                ("material_cas" if name == "material" else name): messages
                for name, messages in exc.message_dict.items()
            }
            raise ValidationError(errors) from exc

    def save_instance(self, instance: StockLot, is_create: bool, row: Any, **kwargs: Any) -> None:
        """Receive the row's stock. In a preview this runs in a transaction that the
        import rolls back, so the services' own checks show up in the preview."""
        if self._is_dry_run(kwargs) and not self._is_using_transactions(kwargs):
            return
        assert self.scope is not None
        file_name = str(kwargs.get("file_name") or "")
        try:
            lot = stock_receive(
                actor=self.scope,
                owner=instance.owner,
                material=instance.material,
                zone=instance.zone,
                quantity_kg=instance.on_hand_kg,
                batch_no=instance.batch_no,
                purity_pct=instance.purity_pct,
                grade=instance.grade,
                produced_on=instance.produced_on,
                expires_on=instance.expires_on,
                reference=f"import:{file_name}"[:120],
                note=_("Row %s of an imported file.") % kwargs.get("row_number", "?"),
            )
        except DomainError as exc:
            column = SERVICE_FIELD_COLUMNS.get(exc.field, NON_FIELD_ERRORS)
            raise ValidationError({column: [exc.message]}) from exc
        instance.pk = lot.pk
        instance.created_at = lot.created_at
        instance.updated_at = lot.updated_at
        instance._state.adding = False
