"""Quantity input shared by every write serializer.

Clients send ``quantity`` (a decimal) and ``unit`` (g, kg, t; L and m3 for materials with a
known density). ParkShare stores kilograms; a unit the material does not accept is a 400
on ``unit`` that lists the accepted ones.
"""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from inventory.models import Material
from inventory.units import MAX_QUANTITY_KG, Unit, UnitNotAccepted, to_kg


def quantity_input(
    *, required: bool = True, allow_negative: bool = False
) -> serializers.DecimalField:
    """The ``quantity`` field: up to 13 integer digits and 6 decimals, bounded."""
    return serializers.DecimalField(
        max_digits=19,
        decimal_places=6,
        required=required,
        min_value=None if allow_negative else Decimal("0.000001"),
        max_value=MAX_QUANTITY_KG * 1000,
        write_only=True,
    )


def percent_input(**kwargs: Any) -> serializers.DecimalField:
    """A purity or similar percentage: 0 to 100, three decimals, optional."""
    return serializers.DecimalField(
        max_digits=6,
        decimal_places=3,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
        allow_null=True,
        **kwargs,
    )


# Longer than any unit, short enough to quote back in the message.
MAX_UNIT_INPUT_LENGTH = 32


class UnitField(serializers.CharField):
    """A unit as the client wrote it. Whether the material accepts it is decided once the
    material is known (``quantity_in_kg``), so a wrong unit of any length (``bana`` or
    ``bananas``) gets the same message listing the accepted ones; only text too long to be
    worth quoting is refused here, listing every unit."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if len(value) > MAX_UNIT_INPUT_LENGTH:
            raise serializers.ValidationError(
                f"Not a unit; use one of: {', '.join(str(unit) for unit in Unit)}."
            )
        return value


def unit_input(*, required: bool = False) -> serializers.CharField:
    return UnitField(required=required, write_only=True, help_text="g, kg, t, L or m3")


def quantity_in_kg(
    *,
    quantity: Decimal,
    unit: str | None,
    material: Material,
    quantity_field: str = "quantity",
    unit_field: str = "unit",
    allow_negative: bool = False,
) -> Decimal:
    """``quantity`` in ``unit`` (default: the material's default unit) as bounded kilograms."""
    unit = unit or material.default_unit
    try:
        kg = to_kg(quantity, unit, density_kg_per_l=material.density_kg_per_l)
    except UnitNotAccepted as exc:
        raise serializers.ValidationError(
            {
                unit_field: [
                    f"Unit '{exc.unit}' is not accepted for {material.name_en}; "
                    f"use one of: {', '.join(exc.accepted)}."
                ]
            }
        ) from exc
    limit = MAX_QUANTITY_KG
    if kg == 0 or (kg < 0 and not allow_negative):
        raise serializers.ValidationError(
            {quantity_field: ["Must be at least 1 g once converted to kilograms."]}
        )
    if abs(kg) > limit:
        raise serializers.ValidationError({quantity_field: [f"Must not exceed {limit} kg."]})
    return kg


def pop_quantity(attrs: dict[str, Any], *, material: Material, **kwargs: Any) -> Decimal:
    """Take ``quantity`` and ``unit`` out of validated ``attrs`` and return kilograms."""
    quantity_field = kwargs.get("quantity_field", "quantity")
    unit_field = kwargs.get("unit_field", "unit")
    quantity = attrs.pop(quantity_field)
    unit = attrs.pop(unit_field, None)
    return quantity_in_kg(quantity=quantity, unit=unit, material=material, **kwargs)
