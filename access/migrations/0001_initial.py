"""Membership and ParkRole move here from ``parks`` in the migration state only: their
tables (``parks_membership``, ``parks_parkrole``), columns, constraints and indexes stay as
they are. ``parks.0002`` removes them from the ``parks`` state after this one."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _content_types_follow(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Existing content types (and with them permissions and admin log entries) of the
    two models now belong to ``access``. A fresh database has none yet: nothing to do."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("membership", "parkrole"):
        if not content_type.objects.filter(app_label="access", model=model).exists():
            content_type.objects.filter(app_label="parks", model=model).update(
                app_label="access"
            )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("parks", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Membership",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "role",
                            models.CharField(
                                choices=[
                                    ("enterprise_admin", "enterprise admin"),
                                    ("trader", "trader"),
                                    ("warehouse_keeper", "warehouse keeper"),
                                    ("viewer", "viewer"),
                                ],
                                max_length=32,
                                verbose_name="role",
                            ),
                        ),
                        (
                            "enterprise",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="members",
                                to="parks.enterprise",
                                verbose_name="enterprise",
                            ),
                        ),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="membership",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "membership",
                        "verbose_name_plural": "memberships",
                        "db_table": "parks_membership",
                    },
                ),
                migrations.CreateModel(
                    name="ParkRole",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "role",
                            models.CharField(
                                choices=[
                                    ("park_operator", "park operator"),
                                    ("regulator", "regulator"),
                                ],
                                max_length=32,
                                verbose_name="role",
                            ),
                        ),
                        (
                            "park",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="roles",
                                to="parks.park",
                                verbose_name="park",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="park_roles",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "park role",
                        "verbose_name_plural": "park roles",
                        "db_table": "parks_parkrole",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("user", "park", "role"), name="park_role_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_types_follow, migrations.RunPython.noop, elidable=True),
    ]
