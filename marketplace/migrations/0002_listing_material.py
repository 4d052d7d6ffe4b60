import django.db.models.deletion
from django.db import migrations, models


def copy_material_from_lot(apps, schema_editor):
    Listing = apps.get_model("marketplace", "Listing")
    StockLot = apps.get_model("inventory", "StockLot")
    Listing.objects.update(
        material_id=models.Subquery(
            StockLot.objects.filter(pk=models.OuterRef("lot_id")).values("material_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0001_initial"),
        ("marketplace", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="listing",
            name="material",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="listings",
                to="inventory.material",
                verbose_name="material",
            ),
        ),
        migrations.RunPython(copy_material_from_lot, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="listing",
            name="material",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="listings",
                to="inventory.material",
                verbose_name="material",
            ),
        ),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(fields=["material", "status"], name="marketplace_materia_0ecd7c_idx"),
        ),
    ]
