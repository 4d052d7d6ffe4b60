"""Membership and ParkRole now live in ``access`` (``access.0001``); the state forgets
them here, the database keeps their tables untouched."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("parks", "0001_initial"),
        ("access", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Membership"),
                migrations.DeleteModel(name="ParkRole"),
            ],
            database_operations=[],
        ),
    ]
