"""Customer locales that no language tag names are repaired to their region's locale.

Partners could store any text as a customer's locale; notices and labels fall back to
English for one they do not know, but the value itself is wrong data: this sets each such
customer to the region's default locale, and writes every readable one in its normal form
("de-DE" becomes "de_DE").
"""

from babel import Locale, UnknownLocaleError
from django.db import migrations


def _normal(value):
    if not value or not isinstance(value, str):
        return None
    try:
        return str(Locale.parse(value.strip().replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def locales_repair(apps, schema_editor):
    Customer = apps.get_model("orders", "Customer")
    for customer in Customer.objects.select_related("region").only("locale", "region__locale").iterator():
        normal = _normal(customer.locale) or _normal(customer.region.locale) or "en_US"
        if normal != customer.locale:
            Customer.objects.filter(pk=customer.pk).update(locale=normal)


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_order_credit_application_cancellation_history")]

    operations = [migrations.RunPython(locales_repair, migrations.RunPython.noop)]
