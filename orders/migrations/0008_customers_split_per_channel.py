"""Customers split per channel: the channel of a customer's first order keeps the record,
every other channel gets a copy (same e-mail, name, region and locale) and its orders move
to it. Customers without orders keep no channel (entered by hand)."""

from django.db import migrations
from django.db.models import Min


def customers_split_per_channel(apps, schema_editor):
    Customer = apps.get_model("orders", "Customer")
    Order = apps.get_model("orders", "Order")
    firsts = (Order.objects.values("customer_id", "channel_id").annotate(first=Min("id"))
              .order_by("customer_id", "first"))
    kept: set[int] = set()
    for row in firsts.iterator():
        customer_id, channel_id = row["customer_id"], row["channel_id"]
        if customer_id not in kept:
            kept.add(customer_id)
            Customer.objects.filter(pk=customer_id).update(channel_id=channel_id)
            continue
        original = Customer.objects.get(pk=customer_id)
        copy = Customer.objects.create(channel_id=channel_id, email=original.email, name=original.name,
                                       region_id=original.region_id, locale=original.locale)
        Customer.objects.filter(pk=copy.pk).update(created_at=original.created_at)
        Order.objects.filter(customer_id=customer_id, channel_id=channel_id).update(customer_id=copy.pk)


class Migration(migrations.Migration):
    dependencies = [("orders", "0007_customer_per_channel")]

    operations = [migrations.RunPython(customers_split_per_channel, migrations.RunPython.noop)]
