"""Per-subscriber deliveries of outbox events.

An event's ``dispatched_at`` becomes ``fanned_out_at``: an event dispatched before is
counted as fanned out (its handlers ran), one still pending is fanned out by the sweep.
Its attempts and last error move to the deliveries."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("common", "0002_idempotencykey"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="outboxevent", name="outbox_pending"),
        migrations.RenameField(
            model_name="outboxevent", old_name="dispatched_at", new_name="fanned_out_at"
        ),
        migrations.AlterField(
            model_name="outboxevent",
            name="fanned_out_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When its deliveries (one per subscriber) were created.",
                null=True,
                verbose_name="fanned out at",
            ),
        ),
        migrations.RemoveField(model_name="outboxevent", name="attempts"),
        migrations.RemoveField(model_name="outboxevent", name="last_error"),
        migrations.AddField(
            model_name="outboxevent",
            name="version",
            field=models.PositiveSmallIntegerField(default=1, verbose_name="version"),
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(("fanned_out_at__isnull", True)),
                fields=["id"],
                name="outbox_not_fanned_out",
            ),
        ),
        migrations.CreateModel(
            name="OutboxDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("subscriber", models.CharField(max_length=80, verbose_name="subscriber")),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "pending"), ("done", "done"), ("failed", "failed")],
                        default="pending",
                        max_length=8,
                        verbose_name="status",
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                ("due_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="due at")),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                ("done_at", models.DateTimeField(blank=True, null=True, verbose_name="done at")),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="common.outboxevent",
                        verbose_name="event",
                    ),
                ),
            ],
            options={
                "verbose_name": "outbox delivery",
                "verbose_name_plural": "outbox deliveries",
                "ordering": ["id"],
                "constraints": [
                    models.UniqueConstraint(fields=("event", "subscriber"), name="outbox_delivery_once")
                ],
                "indexes": [
                    models.Index(
                        condition=models.Q(("status", "pending")),
                        fields=["due_at"],
                        name="outbox_delivery_due",
                    )
                ],
            },
        ),
    ]
