"""Set the control flags of catalogue materials from inventory.data.controls, by CAS."""

from typing import Any

from django.db import migrations

from inventory.data.controls import CONTROLS, control_fields


def flag(apps: Any, schema_editor: Any) -> None:
    Material = apps.get_model("inventory", "Material")
    for material in Material.objects.filter(cas__in=list(CONTROLS)):
        for name, value in control_fields(material.cas).items():
            setattr(material, name, value)
        material.save(update_fields=list(control_fields(material.cas)))


def unflag(apps: Any, schema_editor: Any) -> None:
    Material = apps.get_model("inventory", "Material")
    Material.objects.filter(cas__in=list(CONTROLS)).update(
        highly_toxic=False, explosive_precursor=False, drug_precursor_category=0, control_source=""
    )


class Migration(migrations.Migration):
    dependencies = [("inventory", "0004_controls_and_permits")]

    operations = [migrations.RunPython(flag, unflag)]
