"""Quantity input shared by every write serializer.

Clients send ``quantity`` (a decimal) and ``unit`` (g, kg, t; L and m3 for materials with a
known density). ParkShare stores kilograms; a unit the material does not accept is a 400
on ``unit`` that lists the accepted ones.
"""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from inventory.models import Material
from inventory.units import MAX_QUANTITY_KG, UnitNotAccepted, to_kg


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


def unit_input(*, required: bool = False) -> serializers.CharField:
    return serializers.CharField(
        max_length=4, required=required, write_only=True, help_text="g, kg, t, L or m3"
    )


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
