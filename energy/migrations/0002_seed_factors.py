"""The conversion factors of energy/data/coefficients.py, seeded once; from then on kept in
the table (by superusers, in the admin)."""

from django.db import migrations

from energy.data.coefficients import FACTORS


def seed(apps, schema_editor):
    ConversionFactor = apps.get_model("energy", "ConversionFactor")
    for carrier, convention, value, valid_from, valid_until, source in FACTORS:
        ConversionFactor.objects.get_or_create(
            carrier=carrier,
            convention=convention,
            valid_from=valid_from,
            defaults={"kgce_per_unit": value, "valid_until": valid_until, "source": source},
        )


class Migration(migrations.Migration):
    dependencies = [("energy", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
