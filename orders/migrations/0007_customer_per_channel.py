"""Customers are kept per channel: each channel's orders point at that channel's own record.

A customer whose orders came from several channels is split: the channel of its first
order keeps the record, every other channel gets a copy (same e-mail, name, region and
locale) and its orders move to it. Customers without orders keep no channel (entered by
hand).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """The channel field; the data split and the new constraint follow in 0008 and 0009, each
    in a transaction of its own (PostgreSQL cannot build an index in the transaction that
    moved rows under the order sync triggers)."""

    dependencies = [
        ("inventory", "0003_region_holiday_subdivision"),
        ("orders", "0006_customer_locales_repaired"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="channel",
            field=models.ForeignKey(
                blank=True, db_index=False, help_text="The channel that wrote this customer; blank: entered by hand.",
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="customers",
                to="inventory.channel"),
        ),
        migrations.RemoveConstraint(model_name="customer", name="customer_email_unique_ci"),
    ]
